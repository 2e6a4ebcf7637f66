"""A queued case holds its frames as their clean evidence JPEGs: a burst of 1080p cases fits the
evidence queue, the clean images filed are those very bytes, and the evidence thread runs at a
lower CPU priority than the pipeline. Real evidence builder, real outbox, real threads."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest
from builders import wait_until
from edge_builders import evidence_builder, filing_camera, make_config, make_event, street_frame

from streetwatch.contract import EvidenceRole
from streetwatch.edge.evidence_worker import CaseJob, EvidenceWorker
from streetwatch.edge.jpeg import decode_jpeg
from streetwatch.edge.outbox import Outbox
from streetwatch.edge.status import Tally

FULL_HD = (1920, 1080)


def test_a_packed_1080p_case_holds_a_tenth_of_its_raw_frames_and_files_them_as_they_were(
    sample_images: list[Path],
) -> None:
    frame = street_frame(sample_images, FULL_HD)
    event = make_event(frame)
    builder = evidence_builder()
    packed = builder.pack(event)
    assert packed.event.first_seen.frame.size == 0 and packed.event.confirmed.frame.size == 0  # pixels freed
    assert packed.nbytes < frame.nbytes / 10  # 6.2 MB raw
    bundle = builder.build(packed, make_config().cameras[0])
    images = {image.role: image for image in bundle.images if not image.public}
    for role in (EvidenceRole.FIRST_SEEN_CLEAN, EvidenceRole.CONFIRMATION_CLEAN):
        assert images[role].jpeg == packed.jpegs[role]  # the bytes queued are the bytes filed
    # The annotated copy is drawn on the same pixels: away from the drawing it is the clean image.
    annotated = decode_jpeg(images[EvidenceRole.CONFIRMATION].jpeg).astype(np.int16)
    clean = decode_jpeg(images[EvidenceRole.CONFIRMATION_CLEAN].jpeg).astype(np.int16)
    assert annotated.shape == frame.shape
    assert np.median(np.abs(annotated[600:, 1200:] - clean[600:, 1200:])) <= 2  # outside zone, box and stamp
    assert np.abs(clean - frame.astype(np.int16)).mean() < 4  # and those pixels are the camera's frame


def test_a_burst_of_1080p_cases_queues_without_holding_the_pipeline(tmp_path: Path, sample_images: list[Path]) -> None:
    frame = street_frame(sample_images, FULL_HD)
    outbox = Outbox(tmp_path / "state", max_bytes=500 * 1024**2, retention_days=30)
    outcomes: Tally[tuple[str, str]] = Tally()
    worker = EvidenceWorker(outbox, outcomes, max_bytes=3 * frame.nbytes)  # raw frames: 3 cases would fill it
    camera = filing_camera("cam-1")
    burst = threading.Thread(target=lambda: [worker.submit(camera, make_event(frame.copy())) for _ in range(20)])
    burst.start()
    burst.join(30)
    assert not burst.is_alive() and worker.pending() == 20  # all queued, the worker not even started
    worker.start()
    worker.finish(timeout=120)
    assert outcomes.snapshot() == {("illegal_parking", "filed"): 20} and len(outbox.rows()) == 20
    outbox.close()


def test_the_queue_counts_the_packed_size(sample_images: list[Path]) -> None:
    frame = street_frame(sample_images, FULL_HD)
    job = CaseJob.of(filing_camera("x"), make_event(frame))
    assert job.nbytes == len(job.case.jpegs[EvidenceRole.CONFIRMATION_CLEAN])  # one frame, both moments


def _niceness(native_id: int) -> int:
    return os.getpriority(os.PRIO_PROCESS, native_id)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread niceness is Linux only")
def test_the_evidence_thread_runs_at_a_lower_priority_than_the_pipeline(
    tmp_path: Path, sample_images: list[Path]
) -> None:
    outbox = Outbox(tmp_path / "state", max_bytes=500 * 1024**2, retention_days=30)
    worker = EvidenceWorker(outbox, Tally(), nice=7)
    base = _niceness(threading.get_native_id())
    worker.start()
    native_id = wait_until(lambda: worker._thread.native_id, "the evidence thread to start")
    wait_until(lambda: _niceness(native_id) == min(19, base + 7), "the evidence thread's niceness to rise by 7")
    assert _niceness(threading.get_native_id()) == base  # the caller (the pipeline) is left as it was
    worker.submit(filing_camera("cam-1"), make_event(street_frame(sample_images)))
    worker.finish(timeout=60)
    assert len(outbox.rows()) == 1
    outbox.close()


def test_street_frame_at_full_hd_is_a_real_picture(sample_images: list[Path]) -> None:
    """The fixture the tests above pack: a photo, not a flat frame that any codec squeezes to nothing."""
    frame = street_frame(sample_images, FULL_HD)
    assert frame.shape == (1080, 1920, 3) and cv2.Laplacian(frame, cv2.CV_64F).var() > 50
