"""`cases serve --workers N`: the worker processes die with their parent, so a killed service
leaves nothing serving unsupervised and a restart can bind the port again."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import httpx
import pytest
from builders import wait_until
from live_server import start_server, stop_server

pytestmark = pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads child processes from /proc")


def children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found |= {int(p) for p in text}
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"  # a zombie has exited; only its parent's wait is missing


def workers_of(pid: int) -> set[int]:
    """uvicorn's worker processes (multiprocessing spawn children), not its resource tracker."""
    found = set()
    for child in children(pid):
        command = Path(f"/proc/{child}/cmdline").read_bytes()
        if b"multiprocessing" in command and b"resource_tracker" not in command:
            found.add(child)
    return found


def test_workers_die_with_a_killed_parent_and_the_port_is_free_again(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cases.db'}"
    first = start_server(db, tmp_path, workers=2)
    port = int(first.base_url.rsplit(":", 1)[1])
    workers: set[int] = set()  # the latest seen, killed in `finally` whatever failed

    def started() -> bool:
        nonlocal workers
        workers = workers_of(first.process.pid)
        return len(workers) >= 2

    try:
        wait_until(started, "the two workers to start", 60, poll_s=0.2)
        assert len(workers) == 2, workers
        os.kill(first.process.pid, signal.SIGKILL)  # the supervisor dies without cleaning up
        first.process.wait(timeout=10)
        gone = "the workers to exit after their parent was killed"
        wait_until(lambda: not any(alive(p) for p in workers), gone, 20, poll_s=0.2)
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"{first.base_url}/healthz", timeout=2)
        second = start_server(db, tmp_path, workers=2, port=port)  # "Address already in use" before
        try:
            assert httpx.get(f"{second.base_url}/healthz", timeout=5).status_code == 200
        finally:
            stop_server(second)
    finally:
        if first.process.poll() is None:
            stop_server(first)
        for pid in workers:  # never leave an orphan behind, whatever failed
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
