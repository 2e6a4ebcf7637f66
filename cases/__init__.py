"""The case service: intake API, review page, Open311 view, export of reviewed cases."""
