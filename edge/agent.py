"""The edge agent: wiring and lifecycle. Camera workers -> pipeline (pipeline.py) -> evidence worker
(evidence_worker.py) -> outbox -> sender.

Threads: one per camera (read, sample, health), one pipeline (batched detection, tracking, rules),
one evidence worker (builds each confirmed case's evidence and stores it in the outbox), one
sender, and the local API. Cameras share the box's detector unless a camera names its own model;
cameras with the same model settings share one session, and a batch never mixes models. `run()`
returns when asked to stop (SIGTERM) or, with `stop_when_sources_end`, when every file has played;
either way it drains: frames already sampled are judged, cases already confirmed are built and
stored, and delivery is tried for up to `drain_timeout_s` (what is left stays in the outbox for
the next start).

The API and the metrics read the agent through `status()` and `latest_frame()` (status.py).
"""

from __future__ import annotations

import logging
import threading
import time

from streetwatch.backoff import Backoff
from streetwatch.edge.api import ApiServer, create_app
from streetwatch.edge.camera_rules import CameraRules
from streetwatch.edge.change import FrameSkipper, SkipSettings
from streetwatch.edge.clips import ClipRecorder
from streetwatch.edge.config import CameraConfig, EdgeConfig, is_file_source, source_kind
from streetwatch.edge.detectors import LoadedModel, ModelPool
from streetwatch.edge.evidence_worker import EvidenceWorker
from streetwatch.edge.health import HealthMonitor
from streetwatch.edge.metrics import EdgeMetrics
from streetwatch.edge.outbox import Outbox
from streetwatch.edge.pipeline import CameraRuntime, Pipeline
from streetwatch.edge.sampling import camera_interval, camera_max_reuse, phases, resolved_camera
from streetwatch.edge.sender import Sender
from streetwatch.edge.status import AgentStatus, CameraStatus, ClipStatus, FrameView, Tally
from streetwatch.edge.worker import CameraWorker
from streetwatch.inference.detector import Detector

log = logging.getLogger(__name__)


def _skipper(config: EdgeConfig, camera: CameraConfig) -> FrameSkipper | None:
    """The camera's unchanged-frame skipper, or None when every frame must be inferred."""
    max_reuse = camera_max_reuse(config, camera)
    if not config.sampling.skip_unchanged or max_reuse <= 0:
        return None
    sampling = config.sampling
    return FrameSkipper(SkipSettings(sampling.min_changed, sampling.pixel_delta, max_reuse))


class EdgeAgent:
    def __init__(self, config: EdgeConfig, detector: Detector | None = None) -> None:
        """`detector`, if given, is used as the box's model (tests and benchmarks share one session)."""
        self.config = config
        storage = config.storage
        self.outbox = Outbox(
            storage.root,
            max_bytes=storage.max_bytes,
            retention_days=storage.retention_days,
            when_full=storage.when_full,
        )
        self.metrics = EdgeMetrics(self.status)
        self.case_outcomes: Tally[tuple[str, str]] = Tally()  # (violation, outcome), evidence worker and sender
        self.health_events: Tally[tuple[str, str]] = Tally()  # (camera, problem)
        self.pool = ModelPool(config)
        try:
            self.box_model = self.pool.load(config.model, detector)
        except BaseException:  # a refused model: release the outbox (and its storage-root lock)
            self.outbox.close()
            raise
        self.sender = Sender(
            self.outbox,
            base_url=config.device.case_service_url,
            token=config.device.resolve_token(),
            timeout_s=config.device.request_timeout_s,
            backoff=Backoff(config.sender.backoff_initial_s, config.sender.backoff_max_s, config.sender.jitter),
            on_result=lambda outcome, violation: self.case_outcomes.add((violation, outcome)),
        )
        self.cameras: dict[str, CameraRuntime] = {}
        self.evidence = EvidenceWorker(
            self.outbox, self.case_outcomes, storage.evidence_queue_mb * 1024**2, storage.evidence_nice
        )
        self.pipeline = Pipeline(self.cameras, self.outbox, self.metrics, self.evidence, self.health_events)
        # Each camera sampled as often as its zones need, cameras of one interval spread over it.
        enabled = [resolved_camera(config, camera) for camera in config.cameras if camera.enabled]
        spread = phases([(camera.id, camera_interval(config, camera)) for camera in enabled])
        for camera in enabled:
            health = HealthMonitor(camera.health, storage.root / "reference" / f"{camera.id}.png")
            clips = (
                ClipRecorder(camera.id, camera.clip, self.outbox.staging_dir, self.evidence.clip_ready)
                if camera.clip.enabled
                else None
            )
            worker = CameraWorker(
                camera, config.reconnect, health, self.pipeline.deliver, phase_s=spread[camera.id], clips=clips
            )
            model = self.pool.load(config.model_for(camera))
            rules = CameraRules(camera, config, model.detector.names)
            self.cameras[camera.id] = CameraRuntime(
                camera, model, rules, health, worker, skipper=_skipper(config, camera), clips=clips
            )
        self.stop_event = threading.Event()
        self.started_at = time.monotonic()
        self.api_port: int | None = None

    @property
    def models(self) -> dict[str, LoadedModel]:
        """Loaded sessions by model settings (JSON)."""
        return self.pool.models

    @property
    def detector(self) -> Detector:
        """The box's detector (cameras without a model of their own run it)."""
        return self.box_model.detector

    def names_for(self, camera_id: str) -> tuple[str, ...]:
        return self.cameras[camera_id].model.detector.names

    # -- read-only views (API, metrics) ------------------------------------------------------------
    def status(self) -> AgentStatus:
        now = time.monotonic()
        health_events = self.health_events.snapshot()
        cameras = []
        for camera_id, r in self.cameras.items():
            s = r.worker.state
            problems = dict(r.health.status.problems)
            cameras.append(
                CameraStatus(
                    id=camera_id,
                    source_kind=source_kind(r.config),
                    connected=s.connected,
                    ended=s.ended,
                    healthy=not problems,
                    problems=problems,
                    fps=s.fps,
                    frames=s.frames,
                    frames_judged=r.judged,
                    frames_skipped=0 if r.skipper is None else r.skipper.skipped,
                    frames_dropped=s.dropped,
                    frames_decoded=s.decoded,
                    decode=s.decode_mode or r.config.decode,
                    reconnects=s.reconnects,
                    last_error=s.last_error,
                    seconds_since_frame=None if s.last_frame_at is None else now - s.last_frame_at,
                    cases=r.cases,
                    zones=tuple(z.id for z in r.config.zones),
                    model=r.model.detector.info.path.name,
                    rules_that_cannot_fire=tuple(
                        zr.zone_config.id for zr in r.rules.zone_rules if not (zr.can_fire and zr.in_view)
                    ),
                    health_events={p: n for (c, p), n in health_events.items() if c == camera_id},
                    clip=None if r.clips is None else ClipStatus(*r.clips.ring.held(), r.clips.cut, r.clips.missed),
                )
            )
        return AgentStatus(
            cameras=tuple(cameras),
            outbox_depth=self.outbox.depth(),
            uptime_s=now - self.started_at,
            case_outcomes=self.case_outcomes.snapshot(),
        )

    def latest_frame(self, camera_id: str) -> FrameView | None:
        runtime = self.cameras[camera_id]
        latest = runtime.latest
        if latest is None:
            return None
        frame, detections = latest
        return FrameView(camera_id, frame, detections, tuple(runtime.config.zones), runtime.model.detector.names)

    # -- lifecycle ---------------------------------------------------------------------------------
    def files_done(self) -> bool:
        """Every non-looping file camera has played to its end and its last frames were judged."""
        files = [r for r in self.cameras.values() if is_file_source(r.config) and not r.config.loop]
        idle = self.pipeline.mailbox.empty()
        return bool(files) and all(r.worker.state.ended for r in files) and idle

    def run(self, install_signals: bool = False) -> int:
        """Run until stopped; returns the number of cases still pending after the drain."""
        if install_signals:
            self._install_signal_handlers()
        api = self._start_api()
        self.sender.start()
        self.evidence.start()
        pipeline = threading.Thread(target=self.pipeline.run, name="pipeline", daemon=True)
        pipeline.start()
        for runtime in self.cameras.values():
            runtime.worker.start()
        last_prune = time.monotonic()
        models = ", ".join(f"{m.detector.info.path.name} ({m.detector.runtime.name})" for m in self.models.values())
        log.info("edge agent running: %d camera(s), model(s) %s", len(self.cameras), models)
        while not self.stop_event.wait(0.2):
            if self.config.stop_when_sources_end and self.files_done():
                time.sleep(0.3)  # the last frame may be in the detector right now
                if self.files_done():
                    log.info("all file sources ended")
                    break
            if time.monotonic() - last_prune > 3600:
                self.outbox.prune()
                last_prune = time.monotonic()
        return self._shutdown(pipeline, api)

    def _shutdown(self, pipeline: threading.Thread, api: ApiServer | None) -> int:
        log.info("stopping: draining cameras, rules and outbox")
        for runtime in self.cameras.values():
            runtime.worker.stop.set()
        for runtime in self.cameras.values():
            runtime.worker.join(timeout=self.config.reconnect.stall_timeout_s + 2)
        self.pipeline.finish()
        pipeline.join(timeout=60)
        self.evidence.finish(timeout=120)  # every confirmed case stored before delivery is tried
        for camera_id, runtime in self.cameras.items():
            log.info(
                "camera %s: %d frames judged, %d sampled frames dropped (the detector was busy)",
                camera_id,
                runtime.judged,
                runtime.worker.state.dropped,
            )
        self.sender.stop()
        remaining = self.sender.drain(self.config.drain_timeout_s)
        self.sender.close()
        if api is not None:
            api.stop()
        self.outbox.close()
        log.info("stopped; %d case(s) left in the outbox for the next start", remaining)
        return remaining

    def stop(self) -> None:
        self.stop_event.set()

    def _install_signal_handlers(self) -> None:
        import signal

        def handler(signum: int, _frame: object) -> None:
            log.info("signal %d: stopping", signum)
            self.stop_event.set()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)

    def _start_api(self) -> ApiServer | None:
        api = self.config.api
        if not api.enabled:
            return None
        server = ApiServer(create_app(self, self.metrics.registry), api.host, api.port)
        self.api_port = server.start()
        return server
