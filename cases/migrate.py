"""Run the Alembic migrations programmatically. On PostgreSQL an advisory lock makes replicas that
start together migrate one after another instead of racing to create the same tables."""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import TYPE_CHECKING

from sqlalchemy import Engine, text

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)
SCRIPT_LOCATION = "streetwatch.cases:migrations"
MIGRATION_LOCK_ID = 0x5717EE7  # any constant shared by every replica


def _config() -> Config:
    # Alembic logs its plugin set-up at INFO when first used; the service's own log says what matters.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    return config


@lru_cache(maxsize=1)
def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> str | None:
    """Bring the schema to `revision`; returns the revision the database is at afterwards."""
    logging.getLogger("alembic").setLevel(logging.WARNING)  # before alembic's import logs its plugin set-up
    from alembic import command

    config = _config()
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": MIGRATION_LOCK_ID})
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    now = current_revision(engine)
    log.info("database schema at revision %s", now)
    return now


def database_status(engine: Engine) -> tuple[str, str | None]:
    """("ok" or what is wrong, the schema revision) for `/healthz`: reachable, and at the code's head."""
    revision = None
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        revision = current_revision(engine)
        if revision != head_revision():
            return f"schema at {revision}, code expects {head_revision()}", revision
    except Exception as exc:  # any database failure means unhealthy, whatever the driver raises
        return f"error: {type(exc).__name__}", revision
    return "ok", revision
