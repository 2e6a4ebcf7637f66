"""The evidence worker: one thread that turns confirmed violations into stored cases.

A frame's decision is made when its rules have judged it; building the case's evidence (four
JPEGs and their hashes, the plate reading on parking cases, the public copies with people and
plates hidden) and storing it (fsync) takes about half a second for a 640x360 parking case and
seconds at 1080p on a busy 2-core box, and in the pipeline thread every camera's frames waited
behind it. So the pipeline hands each confirmed event over (`submit`) and goes on judging; this
thread builds the bundle, enqueues it into the outbox, asks for its clip (only once the case is
stored: the outbox attaches a clip to a stored case only), and counts the outcome.

Nothing is lost: the queue is bounded, and a full queue makes `submit` wait (the pipeline slows
down rather than dropping a case); `finish` stores everything queued before it returns; a case
whose evidence cannot be built or stored is logged and counted as `failed`, and the worker goes on
with the next one.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass
from typing import Protocol

from streetwatch.edge.clips import ClipRecorder, clip_wait_s
from streetwatch.edge.config import CameraConfig
from streetwatch.edge.detectors import LoadedModel
from streetwatch.edge.events import ViolationEvent
from streetwatch.edge.outbox import Outbox
from streetwatch.edge.status import Tally

log = logging.getLogger(__name__)

# Cases waiting to be built. Each holds its two frames (about 6 MB each at 1080p) and its dwell
# crops, so the bound is memory; a box confirms a few cases a minute, far fewer than this.
QUEUE_CASES = 8


class FilingCamera(Protocol):
    """What the worker needs of a camera (the pipeline's `CameraRuntime`)."""

    config: CameraConfig
    model: LoadedModel  # its evidence builder
    clips: ClipRecorder | None
    cases: int  # stored in the outbox; written by this worker only


@dataclass(frozen=True)
class CaseJob:
    camera: FilingCamera
    event: ViolationEvent


class EvidenceWorker:
    def __init__(self, outbox: Outbox, case_outcomes: Tally[tuple[str, str]], capacity: int = QUEUE_CASES) -> None:
        self.outbox = outbox
        self.case_outcomes = case_outcomes  # (violation, outcome): filed / dropped_disk_full / failed
        self._queue: queue.Queue[CaseJob | None] = queue.Queue(maxsize=capacity)
        self._thread = threading.Thread(target=self._run, name="evidence", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def submit(self, camera: FilingCamera, event: ViolationEvent) -> None:
        """Queue one confirmed case (pipeline thread); waits while `capacity` cases are queued."""
        job = CaseJob(camera, event)
        try:
            self._queue.put_nowait(job)
        except queue.Full:
            log.warning(
                "camera %s: %d cases wait for their evidence; the pipeline waits too", camera.config.id, self.pending()
            )
            self._queue.put(job)

    def pending(self) -> int:
        """Cases queued and not yet taken (the one being built is not counted)."""
        return self._queue.qsize()

    def finish(self, timeout: float | None = None) -> None:
        """Store every case submitted so far, then end the thread (call once nothing submits any more).
        If the thread was never started, the queue is worked off here."""
        if not self._thread.is_alive() and self._thread.ident is None:
            self._drain_here()
            return
        self._queue.put(None)
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.error("evidence worker still busy after %.0f s; %d case(s) not stored", timeout or 0, self.pending())

    def _drain_here(self) -> None:
        while True:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                return
            if job is not None:
                self._file_safely(job)

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            self._file_safely(job)

    def _file_safely(self, job: CaseJob) -> None:
        try:
            self._file(job)
        except Exception:  # one case's failure must not take the cases after it down
            self.case_outcomes.add((job.event.violation.value, "failed"))
            log.exception(
                "camera %s zone %s: %s confirmed, but case %s could not be built or stored (lost)",
                job.camera.config.id,
                job.event.zone_id,
                job.event.violation,
                job.event.event_id,
            )

    def _file(self, job: CaseJob) -> None:
        camera, event = job.camera, job.event
        bundle = camera.model.evidence.build(event, camera.config)
        clips = camera.clips
        stored = self.outbox.enqueue(bundle, clip_wait_s=None if clips is None else clip_wait_s(clips.config))
        if stored and clips is not None:  # cut by the camera's thread once the span has passed
            clips.request(str(event.event_id), event.first_seen.t, event.confirmed.t)
        outcome = "filed" if stored else "dropped_disk_full"
        self.case_outcomes.add((event.violation.value, outcome))
        camera.cases += int(stored)
        log.info(
            "camera %s zone %s: %s confirmed -> case %s %s%s",
            camera.config.id,
            event.zone_id,
            event.violation,
            event.event_id,
            outcome,
            " [urgent]" if event.urgent else "",
        )
