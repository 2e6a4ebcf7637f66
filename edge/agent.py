"""The edge agent: camera workers -> shared detector(s) -> per-camera rules -> evidence -> outbox -> sender.

Threads: one per camera (read, sample, health), one pipeline (batched detection, tracking, rules,
evidence, outbox), one sender, and the local API. Cameras share the box's detector unless a camera
names its own model; cameras with the same model settings share one session, and a batch never
mixes models. `run()` returns when asked to stop (SIGTERM) or,
with `stop_when_sources_end`, when every file has played; either way it drains: frames already
sampled are judged, cases already confirmed are stored, and delivery is tried for up to
`drain_timeout_s` (what is left stays in the outbox for the next start).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from streetwatch.contract import ModelRef
from streetwatch.edge.backoff import Backoff
from streetwatch.edge.camera_rules import CameraRules
from streetwatch.edge.config import CameraConfig, EdgeConfig, ModelConfig, is_file_source
from streetwatch.edge.events import Observation
from streetwatch.edge.evidence import PRIVACY_FILTERS, EvidenceBuilder
from streetwatch.edge.health import HealthMonitor
from streetwatch.edge.metrics import EdgeMetrics
from streetwatch.edge.outbox import Outbox
from streetwatch.edge.sender import Sender
from streetwatch.edge.sources import SampledFrame
from streetwatch.edge.worker import CameraWorker
from streetwatch.inference.detections import Detections
from streetwatch.inference.detector import Detector

log = logging.getLogger(__name__)


def open_detector(model: ModelConfig) -> Detector:
    """A detector for these settings; thresholds for classes the model lacks are ignored."""
    common = {"conf": model.conf, "iou": model.iou, "threads": model.threads, "sha256": model.sha256}
    probe = Detector(model.path, runtime=model.runtime, **common)  # type: ignore[arg-type]
    class_conf = {name: value for name, value in model.class_conf.items() if name in probe.names}
    if class_conf == {}:
        return probe
    return Detector(model.path, runtime=model.runtime, class_conf=class_conf, **common)  # type: ignore[arg-type]


@dataclass(frozen=True)
class LoadedModel:
    """One detector session and the evidence builder that names it in every case it files."""

    key: str  # the model settings as JSON: cameras with equal settings share the session
    settings: ModelConfig
    detector: Detector
    evidence: EvidenceBuilder


@dataclass
class CameraRuntime:
    config: CameraConfig
    model: LoadedModel
    rules: CameraRules
    health: HealthMonitor
    worker: CameraWorker
    latest: tuple[npt.NDArray[np.uint8], Detections] | None = None  # for the snapshot endpoint
    cases: int = 0


@dataclass
class _Pending:
    frame: SampledFrame
    healthy: bool


@dataclass
class AgentStats:
    latencies: deque[float] = field(default_factory=lambda: deque(maxlen=100_000))  # frame-to-decision s
    batches: int = 0


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
        self.metrics = EdgeMetrics(lambda: float(self.outbox.depth()))
        self.models: dict[str, LoadedModel] = {}
        self.box_model = self._load_model(config.model, detector)
        self.sender = Sender(
            self.outbox,
            base_url=config.device.case_service_url,
            token=config.device.resolve_token(),
            timeout_s=config.device.request_timeout_s,
            backoff=Backoff(config.sender.backoff_initial_s, config.sender.backoff_max_s, config.sender.jitter),
            on_result=lambda outcome, violation: self.metrics.cases.labels(violation, outcome).inc(),
        )
        self.cameras: dict[str, CameraRuntime] = {}
        for camera in config.cameras:
            if not camera.enabled:
                continue
            health = HealthMonitor(camera.health, storage.root / "reference" / f"{camera.id}.png")
            worker = CameraWorker(
                camera,
                config.reconnect,
                health,
                self._deliver,
                on_reconnect=lambda cid: self.metrics.reconnects.labels(cid).inc(),
            )
            model = self._load_model(config.model_for(camera))
            rules = CameraRules(camera, config, model.detector.names)
            self.cameras[camera.id] = CameraRuntime(camera, model, rules, health, worker)
        self.stats = AgentStats()
        self.stop_event = threading.Event()
        self._cond = threading.Condition()
        self._pending: dict[str, _Pending] = {}
        self._pipeline_done = threading.Event()
        self.started_at = time.monotonic()
        self.api_port: int | None = None

    def _load_model(self, settings: ModelConfig, detector: Detector | None = None) -> LoadedModel:
        key = settings.model_dump_json()
        if key not in self.models:
            detector = detector or open_detector(settings)
            info = detector.info
            evidence = EvidenceBuilder(
                device_id=self.config.device.id,
                model=ModelRef(name=info.name[:100], version=str(info.version)[:50], sha256=info.sha256),
                names=detector.names,
                tz=ZoneInfo(self.config.calendar.timezone),
                jpeg_quality=self.config.storage.jpeg_quality,
                privacy=PRIVACY_FILTERS[self.config.storage.privacy_filter](),
            )
            self.models[key] = LoadedModel(key, settings, detector, evidence)
        return self.models[key]

    @property
    def detector(self) -> Detector:
        """The box's detector (cameras without a model of their own run it)."""
        return self.box_model.detector

    def names_for(self, camera_id: str) -> tuple[str, ...]:
        return self.cameras[camera_id].model.detector.names

    # -- camera side -------------------------------------------------------------------------------
    def _deliver(self, camera_id: str, frame: SampledFrame, started: list[str], ended: list[str]) -> None:
        runtime = self.cameras[camera_id]
        for problem in started:
            detail = runtime.health.status.problems.get(problem, "")
            log.warning("camera %s: health problem %s (%s): rules paused", camera_id, problem, detail)
            self.outbox.record_health(camera_id, problem, True, detail)
            self.metrics.health_events.labels(camera_id, problem).inc()
        for problem in ended:
            log.info("camera %s: %s cleared", camera_id, problem)
            self.outbox.record_health(camera_id, problem, False, "")
        healthy = runtime.health.status.healthy
        self.metrics.camera_healthy.labels(camera_id).set(1 if healthy else 0)
        # Files read faster than real time wait for the detector (every sampled frame is judged);
        # live cameras never wait: a newer frame replaces one the detector has not taken yet.
        wait_for_detector = is_file_source(runtime.config) and not runtime.config.realtime
        with self._cond:
            while wait_for_detector and camera_id in self._pending and not runtime.worker.stop.is_set():
                self._cond.wait(0.5)
            if camera_id in self._pending:
                runtime.worker.state.dropped += 1
            self._pending[camera_id] = _Pending(frame, healthy)
            self._cond.notify_all()

    # -- pipeline ----------------------------------------------------------------------------------
    def _take_batch(self, timeout: float) -> list[tuple[str, _Pending]]:
        with self._cond:
            if not self._pending:
                self._cond.wait(timeout)
            # Oldest frames first, so no camera starves when the detector is the bottleneck; a batch
            # runs one model, the one the oldest frame needs.
            ready = sorted(self._pending.items(), key=lambda kv: kv[1].frame.captured)
            if ready:
                model = self.cameras[ready[0][0]].model
                ready = [kv for kv in ready if self.cameras[kv[0]].model is model][: model.settings.max_batch]
            for camera_id, _ in ready:
                del self._pending[camera_id]
            if ready:
                self._cond.notify_all()  # a file worker may be waiting for its slot
            return ready

    def pipeline_step(self, timeout: float = 0.5) -> int:
        batch = self._take_batch(timeout)
        if not batch:
            return 0
        started = time.perf_counter()
        detector = self.cameras[batch[0][0]].model.detector
        results = detector.detect_batch([p.frame.image for _, p in batch])
        self.metrics.inference.observe(time.perf_counter() - started)
        self.stats.batches += 1
        for (camera_id, pending), detections in zip(batch, results, strict=True):
            self._judge(camera_id, pending, detections)
        return len(batch)

    def _judge(self, camera_id: str, pending: _Pending, detections: Detections) -> None:
        runtime = self.cameras[camera_id]
        frame = pending.frame
        obs = Observation(camera_id, frame.t, frame.wall, frame.image, detections)
        events = runtime.rules.step(obs, healthy=pending.healthy)
        for event in events:
            bundle = runtime.model.evidence.build(event, runtime.config)
            stored = self.outbox.enqueue(bundle)
            outcome = "filed" if stored else "dropped_disk_full"
            self.metrics.cases.labels(event.violation.value, outcome).inc()
            runtime.cases += int(stored)
            log.info(
                "camera %s zone %s: %s confirmed -> case %s %s%s",
                camera_id,
                event.zone_id,
                event.violation,
                event.event_id,
                outcome,
                " [urgent]" if event.urgent else "",
            )
        latency = time.monotonic() - frame.captured
        self.stats.latencies.append(latency)
        self.metrics.latency.observe(latency)
        self.metrics.frames.labels(camera_id).inc()
        state = runtime.worker.state
        self.metrics.fps.labels(camera_id).set(state.fps)
        self.metrics.decoded.labels(camera_id).set(state.decoded)
        self.metrics.camera_up.labels(camera_id).set(1 if state.connected else 0)
        runtime.latest = (frame.image, detections)

    def _pipeline_loop(self) -> None:
        try:
            while not self._pipeline_done.is_set():
                try:
                    self.pipeline_step()
                except Exception:  # one bad frame must not stop every camera
                    log.exception("pipeline error")
                    time.sleep(0.5)
            while self.pipeline_step(timeout=0):  # judge what was already sampled
                pass
        finally:
            self._pipeline_done.set()

    # -- lifecycle ---------------------------------------------------------------------------------
    def files_done(self) -> bool:
        """Every non-looping file camera has played to its end and its last frames were judged."""
        files = [r for r in self.cameras.values() if is_file_source(r.config) and not r.config.loop]
        with self._cond:
            idle = not self._pending
        return bool(files) and all(r.worker.state.ended for r in files) and idle

    def run(self, install_signals: bool = False) -> int:
        """Run until stopped; returns the number of cases still pending after the drain."""
        if install_signals:
            self._install_signal_handlers()
        api = self._start_api()
        self.sender.start()
        pipeline = threading.Thread(target=self._pipeline_loop, name="pipeline", daemon=True)
        pipeline.start()
        for runtime in self.cameras.values():
            runtime.worker.start()
        last_prune = time.monotonic()
        models = ", ".join(m.detector.info.path.name for m in self.models.values())
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

    def _shutdown(self, pipeline: threading.Thread, api: object | None) -> int:
        log.info("stopping: draining cameras, rules and outbox")
        for runtime in self.cameras.values():
            runtime.worker.stop.set()
        for runtime in self.cameras.values():
            runtime.worker.join(timeout=self.config.reconnect.stall_timeout_s + 2)
        self._pipeline_done.set()
        with self._cond:
            self._cond.notify_all()
        pipeline.join(timeout=60)
        self.sender.stop()
        remaining = self.sender.drain(self.config.drain_timeout_s)
        self.sender.close()
        if api is not None:
            api.should_exit = True  # type: ignore[attr-defined]
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

    def _start_api(self) -> object | None:
        if not self.config.api.enabled:
            return None
        import uvicorn

        from streetwatch.edge.api import create_app

        server = uvicorn.Server(
            uvicorn.Config(
                create_app(self),
                host=self.config.api.host,
                port=self.config.api.port,
                log_level="warning",
                lifespan="off",
            )
        )
        server.install_signal_handlers = lambda: None  # type: ignore[method-assign]  # the agent owns signals
        thread = threading.Thread(target=server.run, name="api", daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started and thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        if server.started:
            self.api_port = server.servers[0].sockets[0].getsockname()[1]
            log.info("local API on http://%s:%d", self.config.api.host, self.api_port)
        else:
            log.error("local API did not start on %s:%d", self.config.api.host, self.config.api.port)
        return server
