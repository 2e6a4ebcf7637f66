"""Alembic migrations of the case service (run on start and by `streetwatch cases migrate`)."""
