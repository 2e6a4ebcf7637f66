"""The live case service for tests: the real CLI, `streetwatch cases serve`, in a subprocess on a free
127.0.0.1 port, with tokens made in its database. A helper module (not the conftest) so test files import it
by a name no other test directory uses: two `conftest` modules on one run's path shadow each other."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from streetwatch.demo.processes import free_port

__all__ = [
    "PG_DSN", "PG_URL", "TEST_LIMITS", "LiveServer", "free_port", "make_token", "postgres_reachable",
    "start_server", "stop_server",
]  # fmt: skip

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
