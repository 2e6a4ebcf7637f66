"""Forwarding accepted cases to the city's platform: a real receiver process, failures injected
(down, 500, lost response, slow response, a refusal), nothing lost and nothing kept twice."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from builders import wait_until
from case_builders import file_new
from live_server import LiveServer, free_port, make_token, start_server, stop_server

from streetwatch.cases.forwarding import sign, verify

RECEIVER = Path(__file__).with_name("forward_receiver.py")
SECRET = "s3cret-for-the-city-platform-0123456789"


def test_signature_round_trip() -> None:
    body = b'{"case": 1}'
    header = sign(SECRET.encode(), 1_800_000_000, body)
    assert verify(SECRET.encode(), header, body, now=1_800_000_010)
    assert not verify(SECRET.encode(), header, body + b" ", now=1_800_000_010)  # body changed
    assert not verify(b"another key", header, body, now=1_800_000_010)
    assert not verify(SECRET.encode(), header, body, now=1_800_000_000 + 3600)  # a replay, an hour later
    assert not verify(SECRET.encode(), "garbage", body, now=1_800_000_000)


class Receiver:
    def __init__(self, workdir: Path, port: int) -> None:
        self.port, self.plan, self.records = port, workdir / "plan.json", workdir / "records.jsonl"
        self.process: subprocess.Popen | None = None

    def start(self, plan: list[object]) -> None:
        self.plan.write_text(json.dumps(plan))
        command = [sys.executable, str(RECEIVER), str(self.port), SECRET, str(self.plan), str(self.records)]
        self.process = subprocess.Popen(command)
        wait_until(self._answers, "the receiver to answer", timeout=30, poll_s=0.1)

    def _answers(self) -> bool:
        try:
            httpx.get(f"http://127.0.0.1:{self.port}/", timeout=1)
        except httpx.HTTPError:
            return False
        return True

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def rows(self) -> list[dict]:
        return [json.loads(line) for line in self.records.read_text().splitlines()] if self.records.is_file() else []


@pytest.fixture
def forwarding(tmp_path: Path):  # type: ignore[no-untyped-def]
    port = free_port()
    receiver = Receiver(tmp_path, port)
    db = f"sqlite:///{tmp_path / 'cases.db'}"
    env = {
        "STREETWATCH_CASES_FORWARD_URL": f"http://127.0.0.1:{port}/cases",
        "STREETWATCH_CASES_FORWARD_SECRET": SECRET,
        "STREETWATCH_CASES_FORWARD_TIMEOUT_S": "1",
        "STREETWATCH_CASES_FORWARD_BACKOFF_INITIAL_S": "0.2",
        "STREETWATCH_CASES_FORWARD_BACKOFF_MAX_S": "1",
        "STREETWATCH_CASES_FORWARD_POLL_S": "0.2",
        "STREETWATCH_CASES_FORWARD_MAX_ATTEMPTS": "40",
    }
    live = start_server(db, tmp_path, env=env)
    live.reviewer = make_token(db, "reviewer", "li")
    try:
        yield live, receiver, env, tmp_path
    finally:
        stop_server(live)
        receiver.stop()


def accept(live: LiveServer, case_id: int) -> None:
    with live.reviewer_client() as reviewer:
        assert reviewer.post(f"/api/v1/cases/{case_id}/transitions", json={"to": "accepted"}).status_code == 200


def deliveries(live: LiveServer, **params: object) -> list[dict]:
    with live.reviewer_client() as reviewer:
        return reviewer.get("/api/v1/deliveries", params=params).json()


def test_nothing_lost_or_doubled_through_faults(forwarding) -> None:  # type: ignore[no-untyped-def]
    live, receiver, env, workdir = forwarding
    token, device, cameras = live.new_device()
    with live.client() as client:
        cases = [file_new(client, token, device, cameras[0], seed=960 + i) for i in range(4)]
    # The platform is down: the first case waits in the queue, retried.
    accept(live, cases[0]["id"])
    wait_until(lambda: any(d["attempts"] >= 2 for d in deliveries(live)), "a second attempt", 90, poll_s=0.2)
    assert deliveries(live)[0]["status"] == "pending" and "ConnectError" in deliveries(live)[0]["last_error"]

    # It comes up failing: a 500, a lost response, a slow one (past the sender's 1 s timeout).
    receiver.start([500, "lost", "slow:2.5"])
    for case in cases[1:3]:
        accept(live, case["id"])
    # The service restarts while deliveries may be in flight: the queue is in the database.
    stop_server(live)
    (workdir / "again").mkdir()
    restarted = start_server(live.db_url, workdir / "again", env=env)
    restarted.reviewer = live.reviewer
    live.process = restarted.process
    live.base_url = restarted.base_url
    accept(live, cases[3]["id"])

    wait_until(lambda: len(deliveries(live, status="delivered")) == 4, "all four delivered", 120, poll_s=0.2)
    rows = receiver.rows()
    kept = [r for r in rows if r["kept"]]
    assert sorted(r["case_id"] for r in kept) == sorted(c["id"] for c in cases)  # each case kept once
    assert len({r["delivery_id"] for r in kept}) == 4
    assert {500, "lost", "slow:2.5"} <= {r["step"] for r in rows}  # every injected fault happened
    assert len(rows) > len(kept)  # there were retries of the same delivery ids (lost, slow), not kept twice
    retried = {r["delivery_id"] for r in rows if not r["kept"] and r["step"] == "ok"}
    assert retried <= {r["delivery_id"] for r in kept}
    assert all(d["last_error"] is None or d["status"] == "delivered" for d in deliveries(live))


def test_refused_delivery_is_dead_lettered_and_can_be_retried(forwarding) -> None:  # type: ignore[no-untyped-def]
    live, receiver, _env, _workdir = forwarding
    receiver.start([400])
    token, device, cameras = live.new_device()
    with live.client() as client:
        case = file_new(client, token, device, cameras[0], seed=970)
    accept(live, case["id"])
    [dead] = wait_until(lambda: deliveries(live, status="dead"), "the refused delivery dead-lettered", 90, poll_s=0.2)
    assert (dead["case_id"], dead["attempts"]) == (case["id"], 1)  # a 4xx is not retried
    assert dead["last_error"].startswith("HTTP 400")
    with live.reviewer_client() as reviewer:
        retried = reviewer.post(f"/api/v1/deliveries/{dead['id']}/retry")
        assert retried.status_code == 200 and retried.json()["status"] == "pending"
        assert reviewer.post(f"/api/v1/deliveries/{dead['id']}/retry").status_code in (409, 200)
    [done] = wait_until(lambda: deliveries(live, status="delivered"), "the retried delivery delivered", 90, poll_s=0.2)
    assert done["delivery_id"] == dead["delivery_id"]  # the same delivery, so the platform can dedupe
    assert [r["kept"] for r in receiver.rows()] == [False, True]


def test_forwarding_needs_a_real_secret(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cases.db'}"
    with pytest.raises(RuntimeError, match="FORWARD_SECRET of at least 32 characters"):
        start_server(db, tmp_path, env={"STREETWATCH_CASES_FORWARD_URL": "http://127.0.0.1:9/x",
                                        "STREETWATCH_CASES_FORWARD_SECRET": "short"})  # fmt: skip
