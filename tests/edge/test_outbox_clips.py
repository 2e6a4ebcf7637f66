"""Clips in the outbox: a case waits for its clip (bounded), the clip lands beside the stills and in the
case JSON only before the first attempt, counts against the disk budget without ever pushing out an
undelivered case, and a restart sends a waiting case without it."""

from __future__ import annotations

import hashlib
import time
from datetime import timedelta
from pathlib import Path

import pytest
from edge_builders import T0_WALL, make_bundle, street_frame
from test_outbox import outbox_at
from videos import street_scene, write_video

from streetwatch.contract import CaseReport, ClipRef
from streetwatch.edge.outbox import Outbox


@pytest.fixture
def frame(sample_images: list[Path]):
    return street_frame(sample_images)


def staged_clip(outbox: Outbox, seconds: int = 3) -> tuple[Path, ClipRef]:
    """A real H.264 MP4 in the outbox's staging folder, as ClipRecorder leaves it, and its description."""
    outbox.staging_dir.mkdir(exist_ok=True)
    path = write_video(outbox.staging_dir / f"clip-{time.monotonic_ns()}.mp4", lambda i: street_scene(), seconds * 5)
    ref = ClipRef(
        sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
        codec="h264",
        width=640,
        height=360,
        starts_at=T0_WALL - timedelta(seconds=5),
        duration_s=float(seconds),
    )
    return path, ref


def test_a_case_waits_for_its_clip_which_lands_beside_the_stills(tmp_path: Path, frame) -> None:
    outbox = outbox_at(tmp_path)
    bundle = make_bundle(frame)
    event_id = str(bundle.report.event_id)
    assert outbox.enqueue(bundle, clip_wait_s=30)
    item, wait = outbox.next_due()
    assert item is None and wait is not None and 25 < wait <= 30  # held for its clip
    before = outbox.usage_bytes()
    path, ref = staged_clip(outbox)
    size = path.stat().st_size
    assert outbox.attach_clip(event_id, path, ref)
    item, _ = outbox.next_due()
    assert item is not None and item.clip == tmp_path / "evidence" / event_id / "clip.mp4"
    assert not path.exists() and hashlib.sha256(item.clip.read_bytes()).hexdigest() == ref.sha256
    assert CaseReport.model_validate_json(item.case_json).clip == ref
    assert outbox.usage_bytes() >= before + size  # the budget counts it
    outbox.close()


def test_a_clip_after_the_first_attempt_is_refused_so_every_attempt_sends_the_same_body(tmp_path: Path, frame) -> None:
    outbox = outbox_at(tmp_path)
    bundle = make_bundle(frame)
    event_id = str(bundle.report.event_id)
    assert outbox.enqueue(bundle, clip_wait_s=0.05)
    time.sleep(0.1)
    item, _ = outbox.next_due()  # the wait ran out: handed to the sender without a clip
    assert item is not None and item.clip is None
    path, ref = staged_clip(outbox)
    assert not outbox.attach_clip(event_id, path, ref)
    assert not path.exists()  # deleted, not left behind
    outbox.mark_retry(event_id, 0.0, "HTTP 503")
    again, _ = outbox.next_due()
    assert again is not None and again.case_json == item.case_json and again.clip is None
    outbox.close()


def test_no_clip_coming_sends_the_case_at_once(tmp_path: Path, frame) -> None:
    outbox = outbox_at(tmp_path)
    bundle = make_bundle(frame)
    assert outbox.enqueue(bundle, clip_wait_s=60)
    outbox.clip_missing(str(bundle.report.event_id), "the camera is not connected")
    item, _ = outbox.next_due()
    assert item is not None and item.clip is None and CaseReport.model_validate_json(item.case_json).clip is None
    outbox.close()


def test_a_clip_never_pushes_out_an_undelivered_case(tmp_path: Path, frame) -> None:
    budget = 10 * 1024**2
    outbox = outbox_at(tmp_path, max_bytes=budget, when_full="drop_oldest_pending")
    older = make_bundle(frame)
    assert outbox.enqueue(older)
    bundle = make_bundle(frame)
    assert outbox.enqueue(bundle, clip_wait_s=60)
    path, ref = staged_clip(outbox)
    path.write_bytes(path.read_bytes() + bytes(budget))  # far over what is left
    assert not outbox.attach_clip(str(bundle.report.event_id), path, ref)
    assert not path.exists()
    assert [state for _, state, _, _ in outbox.rows()] == ["pending", "pending"]  # nobody dropped
    assert outbox.next_due()[0] is not None  # and the case is due now, without its clip
    assert outbox.usage_bytes() <= budget
    outbox.close()


def test_a_restart_while_waiting_sends_the_case_without_its_clip(tmp_path: Path, frame) -> None:
    outbox = outbox_at(tmp_path)
    bundle = make_bundle(frame)
    assert outbox.enqueue(bundle, clip_wait_s=3600)
    staged_clip(outbox)  # being cut when the process died
    outbox.close()
    outbox = outbox_at(tmp_path)
    item, _ = outbox.next_due()
    assert item is not None and item.event_id == str(bundle.report.event_id) and item.clip is None
    assert not outbox.staging_dir.exists()  # half-cut clips belong to no case
    outbox.close()
