"""A read-only picture of the running agent, for the local API and the Prometheus collector.

The agent builds an `AgentStatus` on demand (each `/cameras` request, each scrape) from what its
parts already count; readers get frozen copies and never reach into the agent's threads or
objects. `AgentView` is all the API needs, so `edge/api.py` does not import the agent.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

import numpy as np
import numpy.typing as npt

from streetwatch.edge.config import ZoneConfig
from streetwatch.inference.detections import Detections

K = TypeVar("K", bound=Hashable)


class Tally(Generic[K]):
    """Event counts by key, written by one thread (or several) and read by a scrape."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[K, int] = {}

    def add(self, key: K, n: int = 1) -> None:
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + n

    def snapshot(self) -> dict[K, int]:
        with self._lock:
            return dict(self._counts)


@dataclass(frozen=True)
class ClipStatus:
    """A camera's clip packet ring (cameras[].clip.enabled)."""

    buffer_s: float  # seconds of packets held
    buffer_bytes: int
    cut: int  # clips cut and handed to the outbox
    missed: int  # cases answered without a clip (not connected, nothing buffered, other codec)


@dataclass(frozen=True)
class CameraStatus:
    """One camera as the API and the metrics show it (a copy; later frames do not change it)."""

    id: str
    source_kind: str
    connected: bool
    ended: bool
    healthy: bool
    problems: dict[str, str]  # active health problems -> detail
    fps: float
    frames: int  # sampled by the worker
    frames_judged: int  # taken by the pipeline and run through the rules
    frames_skipped: int  # of those, judged with the previous detections (unchanged view)
    frames_dropped: int  # replaced in the mailbox before the pipeline took them
    frames_decoded: int
    decode: str
    reconnects: int
    last_error: str | None
    seconds_since_frame: float | None
    cases: int  # stored in the outbox
    zones: tuple[str, ...]
    model: str  # the model file this camera runs (its own, or the box's)
    rules_that_cannot_fire: tuple[str, ...]
    health_events: dict[str, int]  # problem -> times it started
    clip: ClipStatus | None = None  # None: clips off for this camera

    @property
    def up(self) -> bool:
        return self.connected and self.healthy


@dataclass(frozen=True)
class AgentStatus:
    cameras: tuple[CameraStatus, ...]
    outbox_depth: int
    uptime_s: float
    case_outcomes: dict[tuple[str, str], int]  # (violation, outcome) -> cases; outcome: filed, sent, ...

    @property
    def cameras_up(self) -> int:
        return sum(1 for c in self.cameras if c.up)


@dataclass(frozen=True)
class FrameView:
    """The newest judged frame of a camera with what is needed to draw it."""

    camera_id: str
    frame: npt.NDArray[np.uint8]  # (H, W, 3) BGR; never written to after capture
    detections: Detections
    zones: tuple[ZoneConfig, ...]
    names: tuple[str, ...]  # class names of the model that produced `detections`


class AgentView(Protocol):
    """What the local API reads from the agent."""

    def status(self) -> AgentStatus: ...

    def latest_frame(self, camera_id: str) -> FrameView | None:
        """None until the camera's first frame was judged; KeyError for an unknown camera."""
        ...
