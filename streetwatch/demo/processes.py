"""Child processes of the demo: the case service and the edge agent, each a real `streetwatch` CLI."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

from streetwatch.errors import StreetwatchError


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def streetwatch_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "streetwatch", *args]


def run_cli(args: Sequence[str], *, what: str) -> str:
    """Run a `streetwatch` command to completion; its stdout, or a clear error with its stderr."""
    result = subprocess.run(streetwatch_command(*args), capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        detail = result.stderr.strip().splitlines()[-1:] or ["no output"]
        raise StreetwatchError(f"{what} failed (exit {result.returncode}): {detail[0]}")
    return result.stdout


def start(args: Sequence[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Start a `streetwatch` command in the background, its output going to `log`."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as sink:  # the child keeps its own handle
        return subprocess.Popen(
            streetwatch_command(*args),
            stdout=sink,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )


def wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise StreetwatchError(f"{url} exited early (code {process.returncode}); see {log}")
        try:
            if httpx.get(url, timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise StreetwatchError(f"{url} did not become healthy within {timeout_s:.0f} s; see {log}")


def stop(process: subprocess.Popen[bytes], timeout_s: float = 20.0) -> None:
    """SIGTERM, then SIGKILL if it does not drain in time."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
