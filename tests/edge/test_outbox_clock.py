"""Retries across wall-clock steps, against the REAL case service (behind the fault proxy, which fails the
first attempts). The clock is stepped by replacing `time.time` for the whole process (the outbox, the
sender and everything they call see the step); a restart is a new Outbox and Sender on the same folder,
and after a "reboot" the monotonic clock starts elsewhere too."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from edge_builders import make_bundle, street_frame
from fault_proxy import FaultProxy
from live_cases import CaseService

from streetwatch.backoff import Backoff
from streetwatch.edge.outbox import Outbox
from streetwatch.edge.sender import Sender

HOUR = 3600.0
BACKOFF = Backoff(initial_s=2.0, max_s=2.0, jitter=0.0)  # every retry waits exactly 2 s
SLACK_S = 3.0  # a busy machine's scheduling, HTTP and SQLite time on top of the backoff


class Clock:
    """`time.time` (and, for a reboot, `time.monotonic`) shifted by settable offsets."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.wall_offset = 0.0
        self.mono_offset = 0.0
        real_time, real_monotonic = time.time, time.monotonic
        monkeypatch.setattr(time, "time", lambda: real_time() + self.wall_offset)
        monkeypatch.setattr(time, "monotonic", lambda: real_monotonic() + self.mono_offset)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


@pytest.fixture
def frame(sample_images: list[Path]):
    return street_frame(sample_images)


class Deliveries:
    """What the sender reported, with the (real) monotonic time of each report."""

    def __init__(self) -> None:
        self.log: list[tuple[float, str, str]] = []
        self._monotonic = time.perf_counter  # never shifted by the Clock

    def __call__(self, outcome: str, violation: str) -> None:
        self.log.append((self._monotonic(), outcome, violation))

    def sent(self) -> list[tuple[float, str]]:
        return [(at, violation) for at, outcome, violation in self.log if outcome == "sent"]


def outbox_at(root: Path) -> Outbox:
    return Outbox(root, max_bytes=500 * 1024**2, retention_days=30)


def sender_for(outbox: Outbox, url: str, token: str, on_result: Callable[[str, str], None] | None = None) -> Sender:
    return Sender(outbox, base_url=url, token=token, backoff=BACKOFF, timeout_s=5, on_result=on_result, seed=1)


def wait_until(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def fail_first_attempts(outbox: Outbox, proxy: FaultProxy, token: str, n: int) -> None:
    """Every pending case is tried once and answered 503: each now waits one backoff interval."""
    proxy.plan.extend([503] * n)
    sender = sender_for(outbox, proxy.url, token)
    sender.drain_once()
    sender.close()
    assert outbox.depth() == n and not proxy.plan
    assert all(attempts == 1 and error.startswith("HTTP 503") for _, _, attempts, error in outbox.rows())


@pytest.mark.slow
@pytest.mark.parametrize("step_s", [-HOUR, HOUR], ids=["stepped-back-1h", "stepped-forward-1h"])
def test_a_clock_step_while_running_delays_retries_by_one_backoff_at_most(
    tmp_path: Path,
    case_service: CaseService,
    new_camera: Callable[[], str],
    frame,
    clock: Clock,
    step_s: float,
) -> None:
    camera = new_camera()
    outbox = outbox_at(tmp_path)
    for _ in range(8):
        assert outbox.enqueue(make_bundle(frame, urgent=True, camera_id=camera))
    with FaultProxy(case_service.port) as proxy:
        tried_at = time.perf_counter()
        fail_first_attempts(outbox, proxy, case_service.device, 8)
        failed_at = time.perf_counter()
        clock.wall_offset = step_s  # NTP steps the clock while the 8 fire cases wait out their backoff
        for _ in range(3):  # newer, non-urgent cases arrive after the step
            assert outbox.enqueue(make_bundle(frame, camera_id=camera))
        deliveries = Deliveries()
        sender = sender_for(outbox, proxy.url, case_service.device, deliveries)
        sender.start()
        try:
            delivered = wait_until(lambda: outbox.depth() == 0, timeout=BACKOFF.max_s + SLACK_S + 5)
        finally:
            sender.stop()
            sender.close()
    urgent_at = [at for at, violation in deliveries.sent() if violation == "open_burning"]
    assert delivered and len(urgent_at) == 8, (
        f"after a {step_s:+.0f} s clock step, {8 - len(urgent_at)} of 8 fire cases were still held "
        f"({outbox.depth()} pending)"
    )
    assert max(urgent_at) - failed_at <= BACKOFF.max_s + SLACK_S  # one backoff interval, not the step's size
    assert min(urgent_at) - tried_at >= BACKOFF.max_s - 0.05  # and the backoff itself is kept (no hammering)
    assert len(case_service.cases(camera)) == 11
    outbox.close()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("step_s", "when"),
    [(-HOUR, "while_down"), (HOUR, "while_down"), (-HOUR, "while_running")],
    ids=["back-1h-while-down", "forward-1h-while-down", "back-1h-while-running"],
)
def test_after_a_clock_step_and_a_reboot_pending_cases_go_out_at_once_urgent_first(
    tmp_path: Path,
    case_service: CaseService,
    new_camera: Callable[[], str],
    frame,
    clock: Clock,
    step_s: float,
    when: str,
) -> None:
    camera = new_camera()
    outbox = outbox_at(tmp_path)
    for urgent in [False] * 4 + [True] * 8:  # the parked cars were stored first
        assert outbox.enqueue(make_bundle(frame, urgent=urgent, camera_id=camera))
    with FaultProxy(case_service.port) as proxy:
        fail_first_attempts(outbox, proxy, case_service.device, 12)
    if when == "while_running":
        clock.wall_offset = step_s
        assert outbox.next_due() == (None, pytest.approx(BACKOFF.max_s, abs=1.0))  # still one backoff away
    outbox.close()  # the box goes down
    if when == "while_down":
        clock.wall_offset = step_s  # e.g. it boots with a wrong clock, or NTP corrects it at boot
    clock.mono_offset = -1e6  # a reboot: the monotonic clock starts again, somewhere else

    restarted_at = time.perf_counter()
    reopened = outbox_at(tmp_path)
    deliveries = Deliveries()
    sender = sender_for(reopened, case_service.url, case_service.device, deliveries)
    sender.start()
    try:
        delivered = wait_until(lambda: reopened.depth() == 0, timeout=BACKOFF.max_s + SLACK_S + 5)
    finally:
        sender.stop()
        sender.close()
    sent = deliveries.sent()
    assert delivered and len(sent) == 12, f"{12 - len(sent)} of 12 cases still held after the restart"
    assert max(at - restarted_at for at, _ in sent) <= BACKOFF.max_s + SLACK_S
    order = [violation for _, violation in sent]
    assert order == ["open_burning"] * 8 + ["illegal_parking"] * 4  # urgent first, whatever the clock did
    assert len(case_service.cases(camera)) == 12
    reopened.close()


def test_a_clock_step_re_bases_the_stored_retry_times(tmp_path: Path, frame, clock: Clock) -> None:
    """What is on disk follows the step, so the next start needs no guessing."""
    outbox = outbox_at(tmp_path)
    bundle = make_bundle(frame, urgent=True)
    assert outbox.enqueue(bundle)
    event_id = str(bundle.report.event_id)
    outbox.mark_retry(event_id, 60.0, "HTTP 503")
    clock.wall_offset = -HOUR
    item, wait_s = outbox.next_due()
    assert item is None and wait_s == pytest.approx(60.0, abs=1.0)
    with sqlite3.connect(tmp_path / "outbox.sqlite3") as db:
        [(stored, delay)] = db.execute("SELECT next_attempt_at, retry_delay_s FROM outbox").fetchall()
    assert stored == pytest.approx(time.time() + 60.0, abs=1.0)  # on the new clock, not an hour ahead of it
    assert delay == 60.0
    outbox.close()


def test_an_outbox_from_before_retry_delays_were_stored_opens_and_sends(tmp_path: Path, frame) -> None:
    """An older version's database (no retry_delay_s column) gains the column; its pending rows are due."""
    outbox = outbox_at(tmp_path)
    bundle = make_bundle(frame)
    assert outbox.enqueue(bundle)
    outbox.mark_retry(str(bundle.report.event_id), 60.0, "HTTP 503")
    outbox.close()
    with sqlite3.connect(tmp_path / "outbox.sqlite3") as db:
        db.execute("ALTER TABLE outbox DROP COLUMN retry_delay_s")
        db.execute("UPDATE outbox SET next_attempt_at = ?", (time.time() + HOUR,))
    reopened = outbox_at(tmp_path)
    item, _ = reopened.next_due()
    assert item is not None and item.event_id == str(bundle.report.event_id)
    reopened.close()
