"""The real case service for edge tests: `streetwatch cases serve` in a subprocess on 127.0.0.1 (embedded
SQLite in its own data dir), with tokens made by `streetwatch cases token create` and its state read back
through its own API. Stop = terminate the process; start again = a new process on the same port and data dir."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from streetwatch.demo.processes import free_port, wait_healthy


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "streetwatch", *args]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)  # the service must use the SQLite file in its data dir
    return env


class CaseService:
    def __init__(self, root: Path, port: int | None = None) -> None:
        self.data_dir = root / "cases"
        self.log = root / "cases.log"
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.reviewer = self.token("--reviewer", "inspector")
        self.device = ""  # a device token, set by whoever creates one for the tests

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def token(self, *args: str) -> str:
        """`streetwatch cases token create ARGS`; the token is the last line it prints."""
        out = subprocess.run(
            _cli("cases", "token", "create", "--data-dir", str(self.data_dir), *args),
            capture_output=True,
            text=True,
            check=True,
            env=_env(),
            timeout=60,
        )
        return out.stdout.strip().splitlines()[-1]

    def device_token(self, device: str, cameras: list[str]) -> str:
        return self.token("--device", device, "--cameras", ",".join(cameras))

    def start(self) -> None:
        with open(self.log, "ab") as sink:
            self.process = subprocess.Popen(
                _cli("cases", "serve", "--data-dir", str(self.data_dir), "--port", str(self.port), "--dev"),
                stdout=sink,
                stderr=subprocess.STDOUT,
                env=_env(),
            )
        wait_healthy(f"{self.url}/healthz", self.process, self.log)

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    # -- the service's state, through its API ------------------------------------------------------
    def _get(self, path: str, **params: str) -> httpx.Response:
        response = httpx.get(
            f"{self.url}{path}", params=params, headers={"Authorization": f"Bearer {self.reviewer}"}, timeout=10
        )
        response.raise_for_status()
        return response

    def cases(self, camera_id: str) -> list[dict]:
        """Every case filed for one camera (all pages)."""
        items: list[dict] = []
        params = {"camera_id": camera_id, "limit": "100"}
        while True:
            page = self._get("/api/v1/cases", **params).json()
            items.extend(page["items"])
            if page["next_cursor"] is None:
                return items
            params["cursor"] = page["next_cursor"]

    def evidence_bytes(self, relative_url: str) -> bytes:
        return self._get("/" + relative_url.lstrip("/")).content

    def filings(self, outcome: str) -> float:
        """The service's own count of filings by outcome ('created' or 'replayed'), all violation types."""
        text = httpx.get(f"{self.url}/metrics", timeout=10).text
        total = 0.0
        for line in text.splitlines():
            if line.startswith("streetwatch_case_filings_total{") and f'outcome="{outcome}"' in line:
                total += float(line.rsplit(" ", 1)[1])
        return total
