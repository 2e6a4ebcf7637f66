"""One thread per camera: read its source, check its health, hand the newest frame to the pipeline.

A dead camera only ever blocks its own thread: reads time out (`reconnect.stall_timeout_s`) and
reconnects back off exponentially with jitter up to `reconnect.max_s`. The pipeline takes frames
from a one-slot mailbox, so a slow detector drops stale frames instead of building a backlog.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from streetwatch.backoff import Backoff
from streetwatch.edge.clips import ClipRecorder
from streetwatch.edge.config import CameraConfig, ReconnectConfig
from streetwatch.edge.health import HealthMonitor
from streetwatch.edge.sources import FrameSource, SampledFrame, SourceError, open_source
from streetwatch.redact import mask_secrets

log = logging.getLogger(__name__)


@dataclass
class CameraState:
    """What the API shows about a camera (written by its worker, read by anyone)."""

    camera_id: str
    connected: bool = False
    ended: bool = False  # a file source that played to its end
    reconnects: int = 0
    last_error: str | None = None
    frames: int = 0
    dropped: int = 0  # sampled frames replaced before the pipeline took them
    decoded: int = 0
    fps: float = 0.0
    last_frame_at: float | None = None  # monotonic
    decode_mode: str = ""


class CameraWorker:
    def __init__(
        self,
        camera: CameraConfig,
        reconnect: ReconnectConfig,
        health: HealthMonitor,
        deliver: Callable[[str, SampledFrame, list[str], list[str]], None],
        on_reconnect: Callable[[str], None] = lambda camera_id: None,
        rng: random.Random | None = None,
        phase_s: float = 0.0,
        clips: ClipRecorder | None = None,
    ) -> None:
        self.camera, self.reconnect, self.health = camera, reconnect, health
        self.clips = clips  # the camera's packet ring (clip.enabled), fed by its source
        self.phase_s = phase_s  # spreads cameras of one sampling interval (edge/sampling.py)
        self.deliver, self.on_reconnect = deliver, on_reconnect
        self.state = CameraState(camera.id)
        self.stop = threading.Event()
        self._rng = rng or random.Random()
        self._backoff = Backoff(reconnect.initial_s, reconnect.max_s, reconnect.jitter)
        self._thread = threading.Thread(target=self._run, name=f"camera-{camera.id}", daemon=True)
        self.source: FrameSource | None = None  # the open source (its `packets` count live reading)

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    def _run(self) -> None:
        failures = 0
        while not self.stop.is_set():
            source = open_source(self.camera, self.reconnect.stall_timeout_s, self.stop, self.phase_s, self.clips)
            self.source = source
            try:
                for frame in source.frames():
                    if not self.state.connected:
                        self.state.connected, self.state.last_error = True, None
                        failures = 0
                        log.info("camera %s: receiving frames", self.camera.id)
                    self._on_frame(frame, source.decoded, getattr(source, "gop_s", None))
                    if self.stop.is_set():
                        break
                else:
                    # A file played to its end (streams raise instead).
                    if source.is_file and self.camera.loop and not self.stop.is_set():
                        continue
                    self.state.connected, self.state.ended = False, True
                    log.info("camera %s: file ended", self.camera.id)
                    return
            except SourceError as exc:
                self.state.last_error = mask_secrets(str(exc))
            except Exception as exc:  # a source bug must not end the camera for good
                log.exception("camera %s: unexpected source error", self.camera.id)
                # Whatever raised may have put the camera URL in its message: never show its password.
                self.state.last_error = mask_secrets(f"{type(exc).__name__}: {exc}")
            if self.stop.is_set():
                break
            self.state.connected = False
            failures += 1
            self.state.reconnects += 1
            self.on_reconnect(self.camera.id)
            delay = self._backoff.delay(failures, self._rng)
            log.warning("camera %s: %s; reconnecting in %.1f s", self.camera.id, self.state.last_error, delay)
            self.stop.wait(delay)

    def _on_frame(self, frame: SampledFrame, decoded: int, gop_s: float | None) -> None:
        state = self.state
        if state.last_frame_at is not None:
            dt = max(frame.t - state.last_frame_at, 1e-3)
            state.fps = 1 / dt if state.fps == 0 else 0.8 * state.fps + 0.2 / dt
        state.last_frame_at = frame.t
        state.frames += 1
        state.decoded = decoded
        if gop_s is not None:
            state.decode_mode = f"gop {gop_s:.2f} s"
        started, ended = self.health.update(frame.image, time.monotonic() if frame.t is None else frame.t)
        self.deliver(self.camera.id, frame, started, ended)
