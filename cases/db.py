"""Engine and sessions. SQLite gets WAL and a busy timeout so that one file serves concurrent
requests; PostgreSQL is used as is (several API replicas on one database)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from streetwatch.cases.settings import StorageSettings, normalise_database_url, sqlite_path

SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_FULL = 13  # "database or disk is full" (sqlite3 result code)
POSTGRES_DISK_FULL = "53100"  # SQLSTATE disk_full


def is_disk_full(exc: BaseException) -> bool:
    """A database error that says its disk is full: the write may succeed later (507, not 500)."""
    orig = getattr(exc, "orig", exc)  # SQLAlchemy wraps the driver's exception
    if getattr(orig, "sqlite_errorcode", None) == SQLITE_FULL:
        return True
    return getattr(orig, "sqlstate", None) == POSTGRES_DISK_FULL


def make_engine(url: str) -> Engine:
    url = normalise_database_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back on any error."""
    with factory() as session, session.begin():
        yield session


def open_database(settings: StorageSettings) -> Engine:
    """The engine for the configured database; a SQLite file's folder is created on first use."""
    url = settings.resolved_database_url()
    sqlite_file = sqlite_path(url)
    if sqlite_file is not None:
        sqlite_file.parent.mkdir(parents=True, exist_ok=True)
    return make_engine(url)
