"""The outbox and sender against the REAL case service (`streetwatch cases serve`, a subprocess on
127.0.0.1): down at first, stopped and restarted mid-run, a lost response, bad tokens, a refused case.
Faults the service cannot produce on demand (5xx, 429, a lost answer) come from a failure-injecting
proxy in front of it. The service's state is read back through its own API."""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from builders import wait_until
from edge_builders import make_bundle, street_frame
from fault_proxy import FaultProxy
from live_cases import CaseService

from streetwatch.backoff import Backoff
from streetwatch.contract import CaseReport
from streetwatch.edge.outbox import Outbox
from streetwatch.edge.sender import Sender

FAST = Backoff(initial_s=0.05, max_s=0.2, jitter=0.1)


@pytest.fixture
def frame(sample_images: list[Path]):
    return street_frame(sample_images)


def outbox_at(root: Path, **kw) -> Outbox:
    return Outbox(root, max_bytes=kw.pop("max_bytes", 500 * 1024**2), retention_days=30, **kw)


def stored_hashes(root: Path, event_id: str) -> dict[str, str]:
    """role -> sha256 of the evidence JPEGs the box stored for one event."""
    folder = root / "evidence" / event_id
    return {p.stem: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*.jpg"))}


def assert_filed_once(service: CaseService, camera_id: str, expected: dict[str, dict[str, str]]) -> list[dict]:
    """The service holds exactly one case per expected event id for this camera, with the box's evidence."""
    cases = service.cases(camera_id)
    event_ids = [c["event_id"] for c in cases]
    assert sorted(event_ids) == sorted(expected), "cases on the service differ from the events the box filed"
    for case in cases:
        assert {e["role"]: e["sha256"] for e in case["evidence"]} == expected[case["event_id"]]
    return cases


def drain_by_hand(sender: Sender, outbox: Outbox, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while outbox.depth() and time.monotonic() < deadline:
        sender.drain_once()
        time.sleep(0.02)


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


@pytest.mark.slow
def test_service_down_then_stopped_and_restarted_mid_run_nothing_lost_nothing_doubled(tmp_path: Path, frame) -> None:
    # Its own service: this test kills it. Restart = a new process on the same port and data dir.
    service = CaseService(tmp_path / "service")
    token = service.device_token("box-1", ["cam-1"])
    outbox = outbox_at(tmp_path / "box")
    sender = Sender(outbox, base_url=service.url, token=token, backoff=FAST, timeout_s=5, seed=1)
    expected: dict[str, dict[str, str]] = {}

    def enqueue(n: int) -> None:
        for i in range(n):
            bundle = make_bundle(frame, urgent=i == 0)
            assert outbox.enqueue(bundle)
            event_id = str(bundle.report.event_id)
            expected[event_id] = stored_hashes(tmp_path / "box", event_id)

    sender.start()
    try:
        enqueue(4)
        time.sleep(0.5)  # the service is not running yet: attempts fail and are rescheduled
        assert outbox.depth() == 4
        assert all(attempts >= 1 and "ConnectError" in err for _, _, attempts, err in outbox.rows())
        service.start()
        wait_until(lambda: outbox.depth() == 0, "the first four to be delivered")
        service.stop()  # down again, mid-run
        enqueue(4)
        time.sleep(0.5)
        assert outbox.depth() == 4
        service.start()  # a new process, same port, same database
        wait_until(lambda: outbox.depth() == 0, "the second four to be delivered")
        assert_filed_once(service, "cam-1", expected)
        assert len(expected) == 8
        assert service.filings("created") == 4  # this process filed the second four, each once
        assert service.filings("replayed") == 0
    finally:
        sender.stop()
        sender.close()
        service.stop()
    assert outbox.counts() == {"sent": 8}


def test_lost_response_is_resent_answered_200_and_not_doubled(
    tmp_path: Path, case_service: CaseService, new_camera: Callable[[], str], frame
) -> None:
    camera = new_camera()
    outbox = outbox_at(tmp_path)
    bundle = make_bundle(frame, camera_id=camera)
    outbox.enqueue(bundle)
    event_id = str(bundle.report.event_id)
    stored = stored_hashes(tmp_path, event_id)
    confirmation_bytes = (tmp_path / "evidence" / event_id / "confirmation.jpg").read_bytes()
    replayed_before = case_service.filings("replayed")
    with FaultProxy(case_service.port) as proxy:
        proxy.plan.extend(["swallow", "swallow"])  # the service files it; the box hears nothing, twice
        sender = Sender(outbox, base_url=proxy.url, token=case_service.device, backoff=FAST, timeout_s=5)
        drain_by_hand(sender, outbox)
        sender.close()
    assert outbox.counts() == {"sent": 1}
    assert proxy.case_posts == 3
    assert proxy.statuses == [201, 200, 200]  # the resends were answered with the case already filed
    assert case_service.filings("replayed") - replayed_before == 2
    [case] = assert_filed_once(case_service, camera, {event_id: stored})
    # The bytes the service keeps are the bytes the box stored (and deleted once acknowledged).
    confirmation = next(e for e in case["evidence"] if e["role"] == "confirmation")
    served = case_service.evidence_bytes(confirmation["url"])
    assert served == confirmation_bytes
    assert not (tmp_path / "evidence" / event_id).exists()


def test_pending_cases_survive_a_restart_of_the_agent(
    tmp_path: Path, case_service: CaseService, new_camera: Callable[[], str], frame
) -> None:
    camera = new_camera()
    outbox = outbox_at(tmp_path)
    bundles = [make_bundle(frame, camera_id=camera) for _ in range(3)]
    for b in bundles:
        outbox.enqueue(b)
    expected = {str(b.report.event_id): stored_hashes(tmp_path, str(b.report.event_id)) for b in bundles}
    outbox.close()  # the process dies before sending anything
    (tmp_path / "evidence" / "orphan-from-a-crash").mkdir()  # files written, row never committed

    reopened = outbox_at(tmp_path)
    assert not (tmp_path / "evidence" / "orphan-from-a-crash").exists()
    assert reopened.depth() == 3
    sender = Sender(reopened, base_url=case_service.url, token=case_service.device, backoff=FAST)
    assert sender.drain(timeout_s=15) == 0
    sender.close()
    assert_filed_once(case_service, camera, expected)


@pytest.mark.parametrize(
    ("token", "own_camera", "outcome", "error"),
    [
        ("device", True, "sent", None),
        ("wrong-token-xxxxxxxx", True, "retry", "HTTP 401"),  # e.g. a token being rotated: keep the case
        ("reviewer", True, "retry", "HTTP 403"),  # not a device token
        ("device", False, "retry", "HTTP 403"),  # a camera the token does not cover
    ],
)
def test_auth_failures_are_retried_not_dropped(
    tmp_path: Path,
    case_service: CaseService,
    new_camera: Callable[[], str],
    frame,
    token: str,
    own_camera: bool,
    outcome: str,
    error: str | None,
) -> None:
    camera = new_camera() if own_camera else "cam-not-on-the-token"
    bearer = {"device": case_service.device, "reviewer": case_service.reviewer}.get(token, token)
    outbox = outbox_at(tmp_path)
    bundle = make_bundle(frame, camera_id=camera)
    outbox.enqueue(bundle)
    sender = Sender(outbox, base_url=case_service.url, token=bearer, backoff=FAST)
    item, _ = outbox.next_due()
    assert item is not None
    assert sender.send_one(item) == outcome
    sender.close()
    [(_, state, attempts, last_error)] = outbox.rows()
    assert attempts == 1
    if error is None:
        assert state == "sent" and last_error is None
        assert len(case_service.cases(camera)) == 1
    else:
        assert state == "pending" and last_error is not None and last_error.startswith(error)
        assert case_service.cases(camera) == []


def test_a_case_the_service_refuses_is_rejected_once_and_never_resent(
    tmp_path: Path, case_service: CaseService, new_camera: Callable[[], str], frame
) -> None:
    camera = new_camera()
    outbox = outbox_at(tmp_path)
    bundle = make_bundle(frame, camera_id=camera)
    outbox.enqueue(bundle)
    # Corrupt one evidence file on disk: its sha256 no longer matches the case, the service answers 422.
    (tmp_path / "evidence" / str(bundle.report.event_id) / "confirmation.jpg").write_bytes(b"\xff\xd8garbage")
    with FaultProxy(case_service.port) as proxy:  # forwards everything; counts what reaches the service
        sender = Sender(outbox, base_url=proxy.url, token=case_service.device, backoff=FAST)
        sender.start()
        wait_until(lambda: outbox.counts() == {"rejected": 1}, "the case to be rejected")
        time.sleep(1.0)  # many backoff periods: a retried case would have been posted again by now
        sender.stop()
        sender.close()
    assert proxy.statuses == [422]
    [(_, state, attempts, error)] = outbox.rows()
    assert (state, attempts) == ("rejected", 1)
    assert error.startswith("HTTP 422") and "no uploaded part has it" in error
    assert (tmp_path / "evidence" / str(bundle.report.event_id)).is_dir()  # kept for inspection
    assert case_service.cases(camera) == []


@pytest.mark.parametrize("failures", [[503], [500, 502], [429, 503, 504], [507, 507]])
def test_server_errors_and_throttling_are_retried_with_backoff_then_filed_once(
    tmp_path: Path, case_service: CaseService, new_camera: Callable[[], str], frame, failures: list[int]
) -> None:
    camera = new_camera()
    outbox = outbox_at(tmp_path)
    bundle = make_bundle(frame, camera_id=camera)
    outbox.enqueue(bundle)
    event_id = str(bundle.report.event_id)
    stored = stored_hashes(tmp_path, event_id)
    folder = tmp_path / "evidence" / event_id
    with FaultProxy(case_service.port) as proxy:
        proxy.plan.extend(failures)  # answered by the proxy; the service sees only the last attempt
        sender = Sender(outbox, base_url=proxy.url, token=case_service.device, backoff=FAST)
        errors, due = [], []
        while outbox.depth():
            item, wait_s = outbox.next_due()
            if item is None:
                assert wait_s is not None
                time.sleep(wait_s)
                continue
            if sender.send_one(item) == "retry":
                [(_, _, _, error)] = outbox.rows()
                errors.append(error.split(":")[0])
                due.append(outbox.next_due())
                assert stored_hashes(tmp_path, event_id) == stored  # not acknowledged: every file kept
        sender.close()
    assert errors == [f"HTTP {status}" for status in failures]
    # Rescheduled within the backoff cap (or already due again), not dropped.
    assert all((item is None and 0 < wait <= FAST.max_s * 1.1) or item.event_id == event_id for item, wait in due)
    assert proxy.case_posts == len(failures) + 1 and proxy.statuses == [201]
    [(_, state, attempts, _)] = outbox.rows()
    assert (state, attempts) == ("sent", len(failures) + 1)
    assert_filed_once(case_service, camera, {event_id: stored})
    assert not folder.exists()  # acknowledged: the originals left the box


@pytest.mark.parametrize(
    ("attempts", "low", "high"),
    [(1, 1.6, 2.4), (2, 3.2, 4.8), (4, 12.8, 19.2), (9, 240.0, 360.0), (30, 240.0, 360.0)],  # cap 300 s, then ±20 %,
)
def test_backoff_doubles_with_jitter_up_to_the_cap(attempts: int, low: float, high: float) -> None:
    backoff = Backoff(initial_s=2.0, max_s=300.0, jitter=0.2)
    rng = random.Random(7)
    delays = [backoff.delay(attempts, rng) for _ in range(200)]
    assert all(low <= d <= high for d in delays)
    assert max(delays) - min(delays) > 0.1 * (high - low)  # jittered, so boxes do not retry in lockstep


def test_urgent_cases_go_first(tmp_path: Path, frame) -> None:
    outbox = outbox_at(tmp_path)
    normal = [make_bundle(frame) for _ in range(3)]
    fire = make_bundle(frame, urgent=True)
    for b in [*normal, fire]:
        outbox.enqueue(b)
    item, _ = outbox.next_due()
    assert item is not None and item.event_id == str(fire.report.event_id)
    assert json.loads(item.case_json)["urgent"] is True
    assert item.violation == fire.report.violation_type == "open_burning"  # the sender reads no JSON for it


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


def test_originals_leave_the_box_only_once_acknowledged(tmp_path: Path, frame) -> None:
    """Sent: its folder is deleted. Pending, retrying, refused: every file kept, across a restart.
    A crash after the acknowledgement was committed but before the folder went: the restart deletes it."""
    outbox = outbox_at(tmp_path)
    sent, pending, retrying, refused = (make_bundle(frame) for _ in range(4))
    for bundle in (sent, pending, retrying, refused):
        assert outbox.enqueue(bundle)
    ids = {name: str(b.report.event_id) for name, b in
           (("sent", sent), ("pending", pending), ("retrying", retrying), ("refused", refused))}  # fmt: skip
    kept = {name: stored_hashes(tmp_path, ids[name]) for name in ("pending", "retrying", "refused")}
    before = outbox.usage_bytes()
    outbox.mark_retry(ids["retrying"], 60.0, "HTTP 503: busy")
    outbox.mark_rejected(ids["refused"], "HTTP 422: bad case")
    outbox.mark_sent(ids["sent"])
    assert not (tmp_path / "evidence" / ids["sent"]).exists()
    assert outbox.usage_bytes() < before  # the budget no longer counts it
    for name, hashes in kept.items():
        assert stored_hashes(tmp_path, ids[name]) == hashes and len(hashes) == 4, name
    outbox.close()
    # The process ended between the commit and the delete: the folder is back as it was left.
    leftover = tmp_path / "evidence" / ids["sent"]
    leftover.mkdir()
    (leftover / "confirmation.jpg").write_bytes(b"\xff\xd8 left behind")
    reopened = outbox_at(tmp_path)
    assert not leftover.exists()
    assert not (tmp_path / "quarantine").exists()  # delivered evidence is deleted, not quarantined
    for name, hashes in kept.items():
        assert stored_hashes(tmp_path, ids[name]) == hashes, name
    assert {event_id: state for event_id, state, _, _ in reopened.rows()} == {
        ids["sent"]: "sent",
        ids["pending"]: "pending",
        ids["retrying"]: "pending",
        ids["refused"]: "rejected",
    }
    reopened.close()
