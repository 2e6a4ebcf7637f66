"""The evidence worker's queue: urgent cases are built first, and the queue is bounded by the memory
its cases' frames hold (a burst of cases waits there instead of holding the pipeline, and a full
queue makes the submitter wait rather than drop a case). Real evidence builder, real outbox."""

from __future__ import annotations

import threading
from pathlib import Path

from edge_builders import filing_camera, make_event, street_frame

from streetwatch.edge.evidence_worker import CaseJob, EvidenceWorker
from streetwatch.edge.outbox import Outbox
from streetwatch.edge.status import Tally


def test_urgent_cases_are_built_before_the_cases_queued_ahead_of_them(
    tmp_path: Path, sample_images: list[Path]
) -> None:
    frame = street_frame(sample_images)
    outbox = Outbox(tmp_path / "state", max_bytes=500 * 1024**2, retention_days=30)
    worker = EvidenceWorker(outbox, Tally())
    cameras = [filing_camera(f"cam-{i}") for i in range(4)]
    for camera in cameras[:3]:  # three parking cases, then a fire
        worker.submit(camera, make_event(frame, urgent=False, camera_id=camera.config.id))
    fire = make_event(frame, urgent=True, camera_id=cameras[3].config.id)
    worker.submit(cameras[3], fire)
    worker.start()
    worker.finish(timeout=60)
    stored = [event_id for event_id, _, _, _ in outbox.rows()]
    assert len(stored) == 4 and stored[0] == str(fire.event_id)
    assert [c.cases for c in cameras] == [1, 1, 1, 1]
    outbox.close()


def test_a_full_queue_makes_the_submitter_wait_and_loses_nothing(tmp_path: Path, sample_images: list[Path]) -> None:
    frame = street_frame(sample_images)  # 640x360: 0.7 MB per frame, about 60 kB as a JPEG
    one_case = CaseJob.of(filing_camera("x"), make_event(frame)).nbytes
    assert 0 < one_case < frame.nbytes / 5  # both moments share the frame: its JPEG, counted once
    outbox = Outbox(tmp_path / "state", max_bytes=500 * 1024**2, retention_days=30)
    outcomes: Tally[tuple[str, str]] = Tally()
    worker = EvidenceWorker(outbox, outcomes, max_bytes=2 * one_case)
    camera = filing_camera("cam-1")
    worker.submit(camera, make_event(frame))
    worker.submit(camera, make_event(frame))
    third = threading.Thread(target=worker.submit, args=(camera, make_event(frame)))
    third.start()
    third.join(0.5)
    assert third.is_alive() and worker.pending() == 2  # waits: two cases' frames fill the queue
    worker.start()
    third.join(30)
    assert not third.is_alive()
    worker.finish(timeout=60)
    assert len(outbox.rows()) == 3 and outcomes.snapshot() == {("illegal_parking", "filed"): 3}
    outbox.close()


def test_an_empty_queue_takes_a_case_larger_than_its_bound(tmp_path: Path, sample_images: list[Path]) -> None:
    frame = street_frame(sample_images)
    outbox = Outbox(tmp_path / "state", max_bytes=500 * 1024**2, retention_days=30)
    worker = EvidenceWorker(outbox, Tally(), max_bytes=1024)  # smaller than any frame
    submitted = threading.Thread(target=worker.submit, args=(filing_camera("cam-1"), make_event(frame)))
    submitted.start()
    submitted.join(5)
    assert not submitted.is_alive()
    worker.finish(timeout=60)  # never started: the queue is worked off here
    assert len(outbox.rows()) == 1
    outbox.close()
