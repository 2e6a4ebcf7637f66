"""The outbox and sender against a real HTTP case server on 127.0.0.1, stopped and restarted mid-run."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import pytest
from case_server import CaseServer
from edge_builders import free_port, make_bundle, street_frame

from streetwatch.contract import CaseReport
from streetwatch.edge.outbox import Outbox
from streetwatch.edge.sender import Backoff, Sender

FAST = Backoff(initial_s=0.05, max_s=0.2, jitter=0.1)


@pytest.fixture
def frame(sample_images: list[Path]):
    return street_frame(sample_images)


@pytest.fixture
def server():
    srv = CaseServer(free_port())
    yield srv
    srv.stop()


def wait_until(predicate, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def outbox_at(root: Path, **kw) -> Outbox:
    return Outbox(root, max_bytes=kw.pop("max_bytes", 500 * 1024**2), retention_days=30, **kw)


def test_bundle_is_a_valid_contract_case_with_hashed_evidence(frame) -> None:
    bundle = make_bundle(frame)
    report = CaseReport.model_validate_json(bundle.report.model_dump_json(by_alias=True))
    assert [e.role.value for e in report.evidence] == [
        "first_seen",
        "first_seen_clean",
        "confirmation",
        "confirmation_clean",
    ]
    for ref, image in zip(report.evidence, bundle.images, strict=True):
        assert ref.sha256 == hashlib.sha256(image.jpeg).hexdigest()
        assert image.jpeg[:2] == b"\xff\xd8"
    annotated, clean = bundle.images[0].jpeg, bundle.images[1].jpeg
    assert annotated != clean
    assert report.detections[0].class_name == "car"


def test_server_down_then_stopped_and_restarted_mid_run_nothing_lost_nothing_doubled(
    tmp_path: Path, server: CaseServer, frame
) -> None:
    outbox = outbox_at(tmp_path)
    sender = Sender(outbox, base_url=server.url, token=server.token, backoff=FAST, timeout_s=2, seed=1)
    sender.start()
    try:
        first = [make_bundle(frame) for _ in range(4)]
        for b in first:
            assert outbox.enqueue(b)
        time.sleep(0.5)  # the server is down: attempts fail and are rescheduled
        assert outbox.depth() == 4
        assert all(attempts >= 1 and err for _, _, attempts, err in outbox.rows())
        server.start()
        wait_until(lambda: outbox.depth() == 0)
        server.stop()  # down again, mid-run
        second = [make_bundle(frame, urgent=i == 0) for i in range(4)]
        for b in second:
            assert outbox.enqueue(b)
        time.sleep(0.5)
        assert outbox.depth() == 4
        server.start()
        wait_until(lambda: outbox.depth() == 0)
    finally:
        sender.stop()
        sender.close()
    expected = {str(b.report.event_id) for b in first + second}
    assert set(server.store.cases) == expected
    assert server.store.created == 8
    assert outbox.counts() == {"sent": 8}


def test_lost_response_is_resent_and_replayed_not_doubled(tmp_path: Path, server: CaseServer, frame) -> None:
    server.start()
    server.store.drop_responses = 2
    outbox = outbox_at(tmp_path)
    sender = Sender(outbox, base_url=server.url, token=server.token, backoff=FAST, timeout_s=2)
    outbox.enqueue(make_bundle(frame))
    deadline = time.monotonic() + 10
    while outbox.depth() and time.monotonic() < deadline:
        sender.drain_once()
        time.sleep(0.05)
    sender.close()
    assert outbox.counts() == {"sent": 1}
    assert server.store.created == 1
    assert server.store.replayed == 2  # attempts 2 and 3 were replays of the case the server already had
    assert server.store.requests == 3


def test_pending_cases_survive_a_restart_of_the_agent(tmp_path: Path, server: CaseServer, frame) -> None:
    outbox = outbox_at(tmp_path)
    bundles = [make_bundle(frame) for _ in range(3)]
    for b in bundles:
        outbox.enqueue(b)
    outbox.close()  # the process dies before sending anything
    (tmp_path / "evidence" / "orphan-from-a-crash").mkdir()  # files written, row never committed

    server.start()
    reopened = outbox_at(tmp_path)
    assert not (tmp_path / "evidence" / "orphan-from-a-crash").exists()
    assert reopened.depth() == 3
    sender = Sender(reopened, base_url=server.url, token=server.token, backoff=FAST)
    assert sender.drain(timeout_s=10) == 0
    sender.close()
    assert set(server.store.cases) == {str(b.report.event_id) for b in bundles}


@pytest.mark.parametrize(
    ("token", "outcome", "state"),
    [("secret-token-1", "sent", "sent"), ("wrong-token-xx", "retry", None)],
)
def test_auth_failures_are_retried_not_dropped(
    tmp_path: Path, server: CaseServer, frame, token: str, outcome: str, state: str | None
) -> None:
    server.start()
    outbox = outbox_at(tmp_path)
    outbox.enqueue(make_bundle(frame))
    sender = Sender(outbox, base_url=server.url, token=token, backoff=FAST)
    item, _ = outbox.next_due()
    assert item is not None
    assert sender.send_one(item) == outcome
    sender.close()
    assert outbox.counts() == ({state: 1} if state else {"pending": 1})


def test_a_case_the_server_refuses_is_rejected_once_and_kept(tmp_path: Path, server: CaseServer, frame) -> None:
    server.start()
    outbox = outbox_at(tmp_path)
    bundle = make_bundle(frame)
    outbox.enqueue(bundle)
    # Corrupt one evidence file on disk: its sha256 no longer matches the case, the server answers 422.
    (tmp_path / "evidence" / str(bundle.report.event_id) / "confirmation.jpg").write_bytes(b"\xff\xd8garbage")
    sender = Sender(outbox, base_url=server.url, token=server.token, backoff=FAST)
    assert sender.drain(timeout_s=5) == 0
    sender.close()
    [(_, state, attempts, error)] = outbox.rows()
    assert (state, attempts) == ("rejected", 1)
    assert "HTTP 422" in error and "evidence" in error
    assert server.store.created == 0


def test_urgent_cases_go_first(tmp_path: Path, frame) -> None:
    outbox = outbox_at(tmp_path)
    normal = [make_bundle(frame) for _ in range(3)]
    fire = make_bundle(frame, urgent=True)
    for b in [*normal, fire]:
        outbox.enqueue(b)
    item, _ = outbox.next_due()
    assert item is not None and item.event_id == str(fire.report.event_id)
    assert json.loads(item.case_json)["urgent"] is True


@pytest.mark.parametrize(
    ("policy", "expected_states"),
    [
        ("drop_new", ["sent", "pending", "pending"]),  # delivered evidence pruned; the new case refused
        ("drop_oldest_pending", ["sent", "dropped", "pending", "pending"]),
    ],
)
def test_disk_budget_policy(tmp_path: Path, frame, policy: str, expected_states: list[str]) -> None:
    probe = make_bundle(frame)
    one_case = sum(len(i.jpeg) for i in probe.images) + 2048
    outbox = outbox_at(tmp_path, when_full=policy, max_bytes=1)
    outbox.max_bytes = outbox.usage_bytes() + int(2.5 * one_case)  # room for two cases and a bit
    a, b, c, d = (make_bundle(frame) for _ in range(4))
    assert outbox.enqueue(a) and outbox.enqueue(b)
    outbox.mark_sent(str(a.report.event_id))
    assert outbox.enqueue(c)  # fits once the delivered case's evidence is pruned
    assert not (tmp_path / "evidence" / str(a.report.event_id)).exists()
    assert outbox.enqueue(d) is (policy == "drop_oldest_pending")
    assert [state for _, state, _, _ in outbox.rows()] == expected_states
    assert outbox.dropped == 1
    # An urgent case is stored even over budget, whatever the policy.
    assert outbox.enqueue(make_bundle(frame, urgent=True))
