"""Case-service fixtures: a LIVE server (`live_server.start_server`) per database backend. `db_url` is
parametrised: SQLite always, PostgreSQL when reachable at 127.0.0.1:5432 (database `test`), in a schema made
for this run and dropped after. Test files import the helpers from `live_server`, never from here."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from live_server import PG_DSN, PG_URL, LiveServer, make_token, postgres_reachable, start_server, stop_server

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@contextmanager
def _database(backend: str, folder: Path) -> Iterator[str]:
    """A new, empty database: a SQLite file in `folder`, or a PostgreSQL schema dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'cases.db'}"
        return
    if not postgres_reachable():
        pytest.skip("PostgreSQL not reachable at 127.0.0.1:5432")
    import psycopg

    schema = f"cases_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(scope="session", params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One database per backend, shared by the whole run (its cases accumulate)."""
    with _database(request.param, tmp_path_factory.mktemp("sqlite")) as url:
        yield url


@pytest.fixture(params=BACKENDS)
def own_db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database of the test's own, for tests that must know every row in it (e.g. what the evidence
    sweep may delete: an image another test filed into the shared database is rightly kept)."""
    with _database(request.param, tmp_path_factory.mktemp("own-db")) as url:
        yield url


@pytest.fixture(scope="session")
def server(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The live service; on PostgreSQL with two worker processes, as replicas would run."""
    workers = 2 if db_url.startswith("postgresql") else 1
    live = start_server(db_url, tmp_path_factory.mktemp("server"), workers=workers)
    live.reviewer = make_token(db_url, "reviewer", "alice")
    live.client_key = make_token(db_url, "client", "citizen-app")
    try:
        yield live
    finally:
        stop_server(live)


@pytest.fixture(scope="session")
def sqlite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A live service on SQLite only, for tests whose subject does not depend on the database."""
    workdir = tmp_path_factory.mktemp("sqlite-server")
    db = f"sqlite:///{workdir / 'cases.db'}"
    live = start_server(db, workdir)
    live.reviewer = make_token(db, "reviewer", "bob")
    live.client_key = make_token(db, "client", "citizen-app")
    try:
        yield live
    finally:
        stop_server(live)
