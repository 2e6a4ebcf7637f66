"""The evidence worker: one thread that turns confirmed violations into stored cases.

A frame's decision is made when its rules have judged it; building the case's evidence (four
JPEGs and their hashes, the plate reading on parking cases, the public copies with people and
plates hidden) and storing it (fsync) takes about half a second for a 640x360 parking case and
seconds at 1080p on a busy 2-core box, and in the pipeline thread every camera's frames waited
behind it. So the pipeline hands each confirmed event over (`submit`) and goes on judging; this
thread builds the bundle, enqueues it into the outbox and counts the outcome.

Clips are asked for when the case is submitted, not when it is stored: a case may wait in the queue
longer than the camera's packet ring holds its span. The outbox attaches a clip to a stored case
only, so a clip cut before its case is stored waits here (`clip_ready`) and goes to the outbox
right after the case; a case that was not stored deletes its clip.

Nothing is lost: the queue is bounded by the memory its cases' frames hold
(`storage.evidence_queue_mb`), and a full queue makes `submit` wait (the pipeline slows down
rather than dropping a case); `finish` stores everything queued before it returns; a case whose
evidence cannot be built or stored is logged and counted as `failed`, and the worker goes on with
the next one.

A queued case holds its frames as their clean evidence JPEGs (packed_event.py), about a twentieth
of the raw frames' memory, so a burst of cases waits in the queue rather than holding the
pipeline. The thread runs at a lower CPU priority than the pipeline (`storage.evidence_nice`, on
Linux): on a busy box the decisions of every camera come first and the evidence is built in the
CPU time they leave; the cases wait, in order, in the queue, and none is lost.

Urgent cases (open burning) are built first: after a restart every camera's parked cars reach
their dwell time together, and a fire must not wait behind forty parking cases' plates and
public copies. Bounding by memory rather than by count lets such a burst queue without holding
the pipeline, whatever the cameras' resolution.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections import deque
from dataclasses import dataclass
from typing import Protocol

from streetwatch.edge.clips import Clip, ClipRecorder, clip_wait_s
from streetwatch.edge.config import CameraConfig, StorageConfig
from streetwatch.edge.detectors import LoadedModel
from streetwatch.edge.events import ViolationEvent
from streetwatch.edge.outbox import Outbox
from streetwatch.edge.packed_event import PackedEvent
from streetwatch.edge.status import Tally

log = logging.getLogger(__name__)

DEFAULT_QUEUE_BYTES = StorageConfig.model_fields["evidence_queue_mb"].default * 1024**2
DEFAULT_NICE: int = StorageConfig.model_fields["evidence_nice"].default


class FilingCamera(Protocol):
    """What the worker needs of a camera (the pipeline's `CameraRuntime`)."""

    config: CameraConfig
    model: LoadedModel  # its evidence builder
    clips: ClipRecorder | None
    cases: int  # stored in the outbox; written by this worker only


@dataclass(frozen=True)
class CaseJob:
    camera: FilingCamera
    case: PackedEvent

    @classmethod
    def of(cls, camera: FilingCamera, event: ViolationEvent) -> CaseJob:
        """Packs the event's frames (in the submitting thread: the raw frames are freed at once)."""
        return cls(camera, camera.model.evidence.pack(event))

    @property
    def nbytes(self) -> int:
        """The memory it holds while queued."""
        return self.case.nbytes

    @property
    def event(self) -> ViolationEvent:
        """The event without its pixels (ids, times, detections)."""
        return self.case.event


class EvidenceWorker:
    def __init__(
        self,
        outbox: Outbox,
        case_outcomes: Tally[tuple[str, str]],
        max_bytes: int = DEFAULT_QUEUE_BYTES,
        nice: int = DEFAULT_NICE,
    ) -> None:
        self.outbox = outbox
        self.case_outcomes = case_outcomes  # (violation, outcome): filed / dropped_disk_full / failed
        self.max_bytes = max_bytes
        self.nice = nice  # added to the thread's niceness when it starts
        self._cond = threading.Condition()
        self._urgent: deque[CaseJob] = deque()
        self._other: deque[CaseJob] = deque()
        self._bytes = 0  # held by the queued jobs
        self._unstored: set[str] = set()  # event ids submitted with a clip asked, not yet stored
        self._early_clips: dict[str, tuple[Clip | None, str]] = {}  # cut (or missed) before their case was stored
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="evidence", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def submit(self, camera: FilingCamera, event: ViolationEvent) -> None:
        """Queue one confirmed case (pipeline thread); waits while the queued cases hold `max_bytes`
        (a case is always taken into an empty queue, however large)."""
        job = CaseJob.of(camera, event)
        size = job.nbytes
        with self._cond:
            if self._bytes and self._bytes + size > self.max_bytes:
                log.warning(
                    "camera %s: %d cases (%.0f MB) wait for their evidence; the pipeline waits too",
                    camera.config.id,
                    self._pending(),
                    self._bytes / 1024**2,
                )
                while self._bytes and self._bytes + size > self.max_bytes:
                    self._cond.wait()
            (self._urgent if event.urgent else self._other).append(job)
            self._bytes += size
            if camera.clips is not None:
                self._unstored.add(str(event.event_id))
            self._cond.notify_all()
        if camera.clips is not None:  # now, while the camera's ring still holds the span
            camera.clips.request(str(event.event_id), event.first_seen.t, event.confirmed.t)

    def clip_ready(self, event_id: str, clip: Clip | None, why: str) -> None:
        """A camera thread cut a case's clip (or could not, and says why): to the outbox, beside the
        stills, once the case is stored there."""
        with self._cond:
            if event_id in self._unstored:
                self._early_clips[event_id] = (clip, why)
                return
        self._clip_to_outbox(event_id, clip, why)

    def _clip_to_outbox(self, event_id: str, clip: Clip | None, why: str) -> None:
        if clip is None:
            self.outbox.clip_missing(event_id, why)
        else:
            self.outbox.attach_clip(event_id, clip.path, clip.ref())

    def _settle_clip(self, event_id: str, stored: bool) -> None:
        """The case is stored (or never will be): its clip, if cut already, follows it or is deleted."""
        with self._cond:
            self._unstored.discard(event_id)
            early = self._early_clips.pop(event_id, None)
        if early is None:
            return
        clip, why = early
        if stored:
            self._clip_to_outbox(event_id, clip, why)
        elif clip is not None:
            clip.path.unlink(missing_ok=True)

    def pending(self) -> int:
        """Cases queued and not yet taken (the one being built is not counted)."""
        with self._cond:
            return self._pending()

    def _pending(self) -> int:
        return len(self._urgent) + len(self._other)

    def finish(self, timeout: float | None = None) -> None:
        """Store every case submitted so far, then end the thread (call once nothing submits any more).
        If the thread was never started, the queue is worked off here."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        if not self._thread.is_alive() and self._thread.ident is None:
            self._run()
            return
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.error("evidence worker still busy after %.0f s; %d case(s) not stored", timeout or 0, self.pending())

    def _take(self) -> CaseJob | None:
        """The next job, urgent ones first; None once closing and nothing is left."""
        with self._cond:
            while not self._urgent and not self._other:
                if self._closing:
                    return None
                self._cond.wait()
            return (self._urgent or self._other).popleft()

    def _run(self) -> None:
        if threading.current_thread() is self._thread:  # not when `finish` works the queue off itself
            lower_thread_priority(self.nice)
        while (job := self._take()) is not None:
            try:
                self._file_safely(job)
            finally:
                with self._cond:  # its frames are released: a waiting submit may go on
                    self._bytes -= job.nbytes
                    self._cond.notify_all()

    def _file_safely(self, job: CaseJob) -> None:
        stored = False
        try:
            stored = self._file(job)
        except Exception:  # one case's failure must not take the cases after it down
            self.case_outcomes.add((job.event.violation.value, "failed"))
            log.exception(
                "camera %s zone %s: %s confirmed, but case %s could not be built or stored (lost)",
                job.camera.config.id,
                job.event.zone_id,
                job.event.violation,
                job.event.event_id,
            )
        finally:
            self._settle_clip(str(job.event.event_id), stored)

    def _file(self, job: CaseJob) -> bool:
        """Build and store one case; whether the outbox kept it."""
        camera, event = job.camera, job.event
        bundle = camera.model.evidence.build(job.case, camera.config)
        clips = camera.clips
        stored = self.outbox.enqueue(bundle, clip_wait_s=None if clips is None else clip_wait_s(clips.config))
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
        return stored


def lower_thread_priority(nice: int) -> None:
    """Add `nice` to the calling thread's niceness. On Linux, niceness is per thread (a thread's id
    is a `PRIO_PROCESS` id), and threads it starts later inherit it; raising it needs no privilege.
    Elsewhere it would lower the whole process, so it is left alone there."""
    if nice <= 0:
        return
    if not sys.platform.startswith("linux"):
        log.info("evidence thread: priority left as it is (per-thread niceness is Linux only)")
        return
    tid = threading.get_native_id()
    try:
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + nice))
    except OSError as exc:  # e.g. a seccomp profile that forbids it: run at the same priority
        log.warning("evidence thread: could not lower its priority (%s); it competes with the pipeline", exc)
