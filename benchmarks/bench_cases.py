"""`streetwatch bench cases`: sustained case filings per second and latency percentiles against a live
`streetwatch cases serve`, with ~200 KB of evidence per case (four 1280x720 JPEG frames, each unique).

SQLite is the baseline measured in the same run; PostgreSQL (when reachable) is reported against it.
The client runs on the same machine as the server, so the figures are a floor, not a capacity plan.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
ROLES = ("first_seen", "first_seen_clean", "confirmation", "confirmation_clean")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "cases",
        help="case service: filings/s and p99 latency on SQLite and PostgreSQL",
        description="File cases with ~200 KB evidence against a live case service for a fixed time; "
        "SQLite is the baseline, PostgreSQL (if reachable) is compared with it.",
    )
    parser.add_argument("--seconds", type=float, default=8.0, help="timed load per backend (default 8)")
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent clients (default 8)")
    parser.add_argument("--postgres", default=DEFAULT_PG, help="PostgreSQL URL; 'none' to skip")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes on PostgreSQL (default 2)")
    parser.set_defaults(func=_run)


@dataclass
class Result:
    backend: str
    filed: int
    failed: int
    seconds: float
    latencies_ms: list[float]

    @property
    def rate(self) -> float:
        return self.filed / self.seconds

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def _frames() -> list[bytes]:
    """Four distinct street-like 1280x720 frames (smooth gradients, blocks, grain) of ~50 KB each."""
    import numpy as np
    from PIL import Image

    frames = []
    for seed in range(len(ROLES)):
        rng = np.random.default_rng(seed)
        y, x = np.mgrid[0:720, 0:1280]
        base = np.stack([(x * 0.15 + seed * 30) % 255, (y * 0.3) % 255, ((x + y) * 0.1) % 255], axis=-1)
        for _ in range(25):
            x0, y0 = int(rng.integers(0, 1180)), int(rng.integers(0, 640))
            base[y0 : y0 + 80, x0 : x0 + 100] = rng.integers(0, 255, 3)
        base += rng.normal(0, 6, base.shape)
        buffer = io.BytesIO()
        Image.fromarray(np.clip(base, 0, 255).astype(np.uint8)).save(buffer, format="JPEG", quality=60)
        frames.append(buffer.getvalue())
    return frames


def _unique(frame: bytes, tag: str) -> bytes:
    """The same picture with a JPEG comment segment: a new sha256, the same decoding cost."""
    comment = tag.encode()
    return frame[:2] + b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment + frame[2:]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(db_url: str, workdir: Path, workers: int) -> tuple[subprocess.Popen, str]:
    import httpx

    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREETWATCH_CASES_") and k != "DATABASE_URL"}
    env["STREETWATCH_CASES_LOG_LEVEL"] = "WARNING"
    command = [sys.executable, "-m", "streetwatch", "cases", "serve", "--dev", "--db", db_url, "--port", str(port),
               "--evidence-dir", str(workdir / "evidence"), "--workers", str(workers)]  # fmt: skip
    log = (workdir / "server.log").open("wb")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"case service exited: {(workdir / 'server.log').read_text()[-2000:]}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return process, base
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("case service did not start within 60 s")


def _token(db_url: str, device: str, camera: str) -> str:
    from streetwatch.cases import migrate
    from streetwatch.cases.db import make_engine, make_sessionmaker, session_scope
    from streetwatch.cases.tokens import TokenKind, create_token

    engine = make_engine(db_url)
    migrate.upgrade(engine)
    with session_scope(make_sessionmaker(engine)) as session:
        token = create_token(session, TokenKind.DEVICE, device, [camera]).token
    engine.dispose()
    return token


def _load(base: str, token: str, frames: list[bytes], seconds: float, concurrency: int, backend: str) -> Result:
    import hashlib

    import httpx

    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds
    device, camera = "bench-edge", "bench-cam"

    def worker(index: int) -> None:
        with httpx.Client(base_url=base, timeout=60) as client:
            n = 0
            while time.monotonic() < stop_at:
                n += 1
                parts = [_unique(f, f"{backend}-{index}-{n}-{role}") for f, role in zip(frames, ROLES, strict=True)]
                now = datetime.now(UTC)
                case = {
                    "event_id": str(uuid.uuid4()), "device_id": device, "camera_id": camera,
                    "violation_type": "illegal_parking", "standard_code": "05-05",
                    "first_seen": (now - timedelta(minutes=5)).isoformat(), "confirmed_at": now.isoformat(),
                    "zone_id": "z1", "location": {"lat": 31.2, "lon": 121.4},
                    "detections": [{"class": "car", "confidence": 0.9, "box": [100, 100, 400, 300]}],
                    "model": {"name": "bench", "version": "1", "sha256": "b" * 64},
                    "evidence": [
                        {"role": r, "sha256": hashlib.sha256(p).hexdigest()} for r, p in zip(ROLES, parts, strict=True)
                    ],
                    "frame_size": [1280, 720],
                }  # fmt: skip
                files = [("evidence", (f"{r}.jpg", p, "image/jpeg")) for r, p in zip(ROLES, parts, strict=True)]
                started = time.perf_counter()
                response = client.post(
                    "/api/v1/cases", data={"case": json.dumps(case)}, files=files,
                    headers={"Authorization": f"Bearer {token}", "Idempotency-Key": case["event_id"]},
                )  # fmt: skip
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    if response.status_code == 201:
                        latencies.append(elapsed)
                    else:
                        failures[0] += 1

    began = time.monotonic()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Result(backend, len(latencies), failures[0], time.monotonic() - began, latencies)


def _postgres_schema(url: str) -> tuple[str, str] | None:
    """A fresh schema for the run, or None when PostgreSQL is unreachable."""
    try:
        import psycopg
        from sqlalchemy.engine import make_url

        parsed = make_url(url)
        dsn = f"host={parsed.host} port={parsed.port or 5432} dbname={parsed.database} user={parsed.username}"
        if parsed.password:
            dsn += f" password={parsed.password}"
        schema = f"bench_cases_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(dsn, connect_timeout=3, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        return dsn, schema
    except Exception as exc:  # unreachable or refused: the PostgreSQL run is skipped, not failed
        print(f"PostgreSQL not used ({type(exc).__name__}: {str(exc).strip()[:120]})")
        return None


def _bench(backend: str, db_url: str, workers: int, frames: list[bytes], args: argparse.Namespace) -> Result:
    with tempfile.TemporaryDirectory(prefix=f"bench-cases-{backend}-") as tmp:
        token = _token(db_url, "bench-edge", "bench-cam")
        process, base = _start(db_url, Path(tmp), workers)
        try:
            _load(base, token, frames, min(2.0, args.seconds / 4), args.concurrency, f"warm-{backend}")
            return _load(base, token, frames, args.seconds, args.concurrency, backend)
        finally:
            process.terminate()
            process.wait(timeout=20)


def _run(args: argparse.Namespace) -> int:
    import logging

    from streetwatch.errors import InputError

    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request would drown the table
    if args.seconds <= 0 or args.concurrency < 1:
        raise InputError("--seconds must be > 0 and --concurrency >= 1")
    frames = _frames()
    size_kb = sum(len(f) for f in frames) / 1024
    print(f"evidence per case: {len(frames)} JPEG frames 1280x720, {size_kb:.0f} KB in total; "
          f"{args.concurrency} concurrent clients, {args.seconds:.0f} s per backend")  # fmt: skip
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-cases-db-") as tmp:
        results.append(_bench("sqlite", f"sqlite:///{tmp}/cases.db", 1, frames, args))
    if args.postgres.lower() != "none":
        target = _postgres_schema(args.postgres)
        if target is not None:
            dsn, schema = target
            try:
                url = f"{args.postgres}?options=-csearch_path%3D{schema}"
                results.append(_bench(f"postgresql x{args.workers}", url, args.workers, frames, args))
            finally:
                import psycopg

                with psycopg.connect(dsn, autocommit=True) as conn:
                    conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    baseline = results[0]
    print(f"{'backend':16} {'cases/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'failed':>7} {'vs sqlite':>10}")
    for r in results:
        median = statistics.median(r.latencies_ms) if r.latencies_ms else float("nan")
        print(f"{r.backend:16} {r.rate:8.1f} {median:8.1f} {r.percentile(0.99):8.1f} {r.failed:7d} "
              f"{r.rate / baseline.rate if baseline.rate else float('nan'):9.2f}x")  # fmt: skip
    return 0 if all(r.failed == 0 for r in results) else 1
