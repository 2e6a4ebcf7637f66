"""Case-service fixtures: a LIVE server (the real CLI, `streetwatch cases serve`, in a subprocess on
a free 127.0.0.1 port) per database backend. `db_url` is parametrised: SQLite always, PostgreSQL
when reachable at 127.0.0.1:5432 (database `test`), in a schema made for this run and dropped after."""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

PG_DSN = os.environ.get("STREETWATCH_TEST_PG", "host=127.0.0.1 port=5432 dbname=test user=postgres")
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TEST_LIMITS = {
    "STREETWATCH_CASES_MAX_EVIDENCE_BYTES": "1000000",
    "STREETWATCH_CASES_MAX_EVIDENCE_COUNT": "6",
    "STREETWATCH_CASES_MAX_IMAGE_PIXELS": "20000000",
    # Suites that sign in or report many times from 127.0.0.1 would hit the limits; test_cases_limits.py
    # turns them on.
    "STREETWATCH_CASES_RATE_LIMIT_OPEN311_PER_MINUTE": "0",
    "STREETWATCH_CASES_RATE_LIMIT_LOGIN_PER_MINUTE": "0",
    "STREETWATCH_CASES_MAX_CLIP_BYTES": "2000000",
    "STREETWATCH_CASES_MAX_CLIP_SECONDS": "60",
}
_counter = itertools.count(1)


def postgres_reachable() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_DSN, connect_timeout=2):
            return True
    except Exception:  # any failure (no server, no driver, auth) means: skip the PostgreSQL runs
        return False


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'cases.db'}"
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LiveServer:
    base_url: str
    db_url: str
    evidence_dir: Path
    process: subprocess.Popen
    reviewer: str = ""
    client_key: str = ""
    log: Path = field(default_factory=Path)

    def client(self, **kw: object) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=30, **kw)

    def reviewer_client(self) -> httpx.Client:
        return self.client(headers={"Authorization": f"Bearer {self.reviewer}"})

    def new_device(self, n_cameras: int = 2) -> tuple[str, str, list[str]]:
        """A fresh device token with fresh cameras: tests that filter by camera see only their own cases."""
        n = next(_counter)
        device = f"edge-{uuid.uuid4().hex[:8]}"
        cameras = [f"cam-{n}-{i}-{uuid.uuid4().hex[:6]}" for i in range(n_cameras)]
        return make_token(self.db_url, "device", device, cameras), device, cameras


def make_token(db_url: str, kind: str, subject: str, cameras: list[str] | None = None) -> str:
    from streetwatch.cases import migrate
    from streetwatch.cases.db import make_engine, make_sessionmaker, session_scope
    from streetwatch.cases.tokens import TokenKind, create_token

    engine = make_engine(db_url)
    try:
        migrate.upgrade(engine)
        with session_scope(make_sessionmaker(engine)) as session:
            return create_token(session, TokenKind(kind), subject, cameras).token
    finally:
        engine.dispose()


def start_server(
    db_url: str,
    workdir: Path,
    workers: int = 1,
    env: dict[str, str] | None = None,
    port: int | None = None,
    wrap: list[str] | None = None,
) -> LiveServer:
    """`wrap`: a command line the server command is appended to (e.g. one that mounts a small file
    system first and then execs it)."""
    port = port or free_port()
    evidence = workdir / "evidence"
    log = workdir / "server.log"
    command = [
        sys.executable, "-m", "streetwatch", "cases", "serve", "--db", db_url, "--port", str(port),
        "--evidence-dir", str(evidence), "--workers", str(workers),
    ]  # fmt: skip
    full_env = {**os.environ, **TEST_LIMITS, "STREETWATCH_CASES_SECRET_KEY": "k" + uuid.uuid4().hex + uuid.uuid4().hex}
    full_env.pop("DATABASE_URL", None)
    full_env.update(env or {})
    handle = log.open("wb")
    process = subprocess.Popen(
        [*(wrap or []), *command], stdout=handle, stderr=subprocess.STDOUT, env=full_env, cwd=workdir
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"case service exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    else:
        process.kill()
        raise RuntimeError(f"case service did not become healthy:\n{log.read_text()[-3000:]}")
    return LiveServer(base_url=base, db_url=db_url, evidence_dir=evidence, process=process, log=log)


def stop_server(server: LiveServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()


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
