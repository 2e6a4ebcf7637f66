"""The edge agent: camera streams -> detector -> tracker -> rules -> evidence -> outbox -> case service."""
