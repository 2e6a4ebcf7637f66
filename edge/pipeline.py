"""The pipeline: camera workers' frames -> mailbox -> batched detection -> rules -> evidence worker.

Camera threads put their newest sampled frame into a one-slot-per-camera `Mailbox`; the pipeline
thread takes batches (oldest frames first, one model per batch), runs the detector, and judges
each frame with its camera's rules. A frame's decision ends there (`Judged`, the latency metric);
each violation it confirmed goes to the evidence worker (evidence_worker.py), which builds and
stores the case in its own thread, so no camera's frames wait behind another camera's evidence.
Nothing here starts threads or knows about the API; the agent (agent.py) wires the parts and runs
the lifecycle.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from streetwatch.edge.camera_rules import CameraRules
from streetwatch.edge.change import FrameSkipper, Thumb, change_thumbnail
from streetwatch.edge.clips import ClipRecorder
from streetwatch.edge.config import CameraConfig, is_file_source
from streetwatch.edge.detectors import LoadedModel
from streetwatch.edge.events import Observation, ViolationEvent
from streetwatch.edge.evidence_worker import EvidenceWorker
from streetwatch.edge.health import HealthMonitor
from streetwatch.edge.metrics import EdgeMetrics
from streetwatch.edge.outbox import Outbox
from streetwatch.edge.sources import SampledFrame
from streetwatch.edge.status import Tally
from streetwatch.edge.worker import CameraWorker
from streetwatch.inference.detections import Detections

log = logging.getLogger(__name__)


@dataclass
class CameraRuntime:
    """One camera's parts; `latest` and `judged` are written by the pipeline thread only, `cases` by
    the evidence worker only."""

    config: CameraConfig
    model: LoadedModel
    rules: CameraRules
    health: HealthMonitor
    worker: CameraWorker
    latest: tuple[npt.NDArray[np.uint8], Detections] | None = None  # for the snapshot endpoint
    judged: int = 0
    cases: int = 0  # stored in the outbox
    skipper: FrameSkipper | None = None  # None: every frame is inferred (sampling.skip_unchanged off)
    clips: ClipRecorder | None = None  # this camera's packet ring (cameras[].clip.enabled)


@dataclass(frozen=True)
class Judged:
    """One frame's decision, for observers (the capacity benchmark counts them, per rule)."""

    camera_id: str
    captured: float  # time.monotonic() when the frame's data arrived
    decided: float  # time.monotonic() when its rules had judged it
    inferred: bool  # False: judged with the previous detections of an unchanged view
    events: tuple[ViolationEvent, ...]  # the violations this frame confirmed


@dataclass(frozen=True)
class Pending:
    frame: SampledFrame
    healthy: bool
    thumb: Thumb | None = None  # the change measure's thumbnail, made in the camera's thread


class Mailbox:
    """One slot per camera: a newer frame replaces one the pipeline has not taken yet."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._slots: dict[str, Pending] = {}

    def put(self, camera_id: str, item: Pending, wait: bool, stop: threading.Event) -> bool:
        """Leave `item` for the pipeline; True when it replaced an untaken one (a dropped frame).
        `wait`: block while the slot is full (until taken, or `stop` is set) instead of replacing."""
        with self._cond:
            while wait and camera_id in self._slots and not stop.is_set():
                self._cond.wait(0.5)
            replaced = camera_id in self._slots
            self._slots[camera_id] = item
            self._cond.notify_all()
            return replaced

    def take(self, timeout: float, model_of: Callable[[str], LoadedModel]) -> list[tuple[str, Pending]]:
        """A batch: the oldest frames first (no camera starves when the detector is the bottleneck),
        all for the model the oldest one needs, at most its `max_batch`."""
        with self._cond:
            if not self._slots:
                self._cond.wait(timeout)
            ready = sorted(self._slots.items(), key=lambda kv: kv[1].frame.captured)
            if ready:
                model = model_of(ready[0][0])
                ready = [kv for kv in ready if model_of(kv[0]) is model][: model.settings.max_batch]
            for camera_id, _ in ready:
                del self._slots[camera_id]
            if ready:
                self._cond.notify_all()  # a file worker may be waiting for its slot
            return ready

    def empty(self) -> bool:
        with self._cond:
            return not self._slots

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()


class Pipeline:
    def __init__(
        self,
        cameras: Mapping[str, CameraRuntime],  # the agent's; it may add cameras before the first frame
        outbox: Outbox,
        metrics: EdgeMetrics,
        evidence: EvidenceWorker,
        health_events: Tally[tuple[str, str]],
    ) -> None:
        self.cameras = cameras
        self.outbox = outbox  # health events only: cases go through `evidence`
        self.metrics = metrics
        self.evidence = evidence  # builds and stores each confirmed case (its own thread)
        self.health_events = health_events  # (camera, problem): times the problem started
        self.mailbox = Mailbox()
        self.done = threading.Event()  # set: judge what is in the mailbox, then return
        # Called in the pipeline thread after each judged frame; must be quick and must not raise.
        self.on_judged: Callable[[Judged], None] | None = None

    def _model_of(self, camera_id: str) -> LoadedModel:
        return self.cameras[camera_id].model

    # -- camera side (each camera's own thread) ----------------------------------------------------
    def deliver(self, camera_id: str, frame: SampledFrame, started: list[str], ended: list[str]) -> None:
        runtime = self.cameras[camera_id]
        for problem in started:
            detail = runtime.health.status.problems.get(problem, "")
            log.warning("camera %s: health problem %s (%s): rules paused", camera_id, problem, detail)
            self.outbox.record_health(camera_id, problem, True, detail)
            self.health_events.add((camera_id, problem))
        for problem in ended:
            log.info("camera %s: %s cleared", camera_id, problem)
            self.outbox.record_health(camera_id, problem, False, "")
        # Files wait for the detector (every sampled frame of a recording is judged, on its media
        # clock, however busy the CPU); live cameras never wait: a newer frame replaces one the
        # detector has not taken yet.
        wait = is_file_source(runtime.config)
        thumb = change_thumbnail(frame.image) if runtime.skipper is not None else None
        pending = Pending(frame, runtime.health.status.healthy, thumb)
        if self.mailbox.put(camera_id, pending, wait=wait, stop=runtime.worker.stop):
            runtime.worker.state.dropped += 1

    # -- the pipeline thread -----------------------------------------------------------------------
    def step(self, timeout: float = 0.5) -> int:
        """Take one batch, detect, judge; returns how many frames it judged (0: none was waiting).

        Frames unchanged since their camera's last inferred one are judged with its detections
        (edge/change.py); only the others go to the detector.
        """
        batch = self.mailbox.take(timeout, self._model_of)
        if not batch:
            return 0
        to_detect: list[tuple[CameraRuntime, Pending]] = []
        for camera_id, pending in batch:
            runtime = self.cameras[camera_id]
            skipper = runtime.skipper
            reused = skipper.reuse(pending.thumb, pending.frame.t) if skipper is not None else None
            if reused is None:
                to_detect.append((runtime, pending))
            else:
                self._judge(runtime, pending, reused, inferred=False)
        if to_detect:
            started = time.perf_counter()
            detector = to_detect[0][0].model.detector
            results = detector.detect_batch([p.frame.image for _, p in to_detect])
            self.metrics.inference.observe(time.perf_counter() - started)
            for (runtime, pending), detections in zip(to_detect, results, strict=True):
                if runtime.skipper is not None:
                    runtime.skipper.record(pending.thumb, pending.frame.t, detections)
                self._judge(runtime, pending, detections, inferred=True)
        return len(batch)

    def _judge(self, runtime: CameraRuntime, pending: Pending, detections: Detections, inferred: bool) -> None:
        frame = pending.frame
        camera_id = runtime.config.id
        obs = Observation(camera_id, frame.t, frame.wall, frame.image, detections)
        events = runtime.rules.step(obs, healthy=pending.healthy)
        for event in events:  # the case is built and stored by the evidence worker; the decision is made
            self.evidence.submit(runtime, event)
        self.metrics.latency.observe(time.monotonic() - frame.captured)
        runtime.judged += 1
        runtime.latest = (frame.image, detections)
        if self.on_judged is not None:
            self.on_judged(Judged(camera_id, frame.captured, time.monotonic(), inferred, tuple(events)))

    def run(self) -> None:
        """Judge frames until `done` is set, then what was already sampled."""
        try:
            while not self.done.is_set():
                try:
                    self.step()
                except Exception:  # one bad frame must not stop every camera
                    log.exception("pipeline error")
                    time.sleep(0.5)
            while self.step(timeout=0):
                pass
        finally:
            self.done.set()

    def finish(self) -> None:
        """Ask `run` to judge what is left and return."""
        self.done.set()
        self.mailbox.wake()
