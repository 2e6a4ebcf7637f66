"""What the rules produce: a confirmed violation with its two moments (first seen, confirmed)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import numpy.typing as npt

from streetwatch.inference.detections import Detections
from streetwatch.models.taxonomy import ViolationType


@dataclass(frozen=True)
class Observation:
    """One sampled frame of one camera after detection (and tracking).

    t:          monotonic seconds (rules time everything on this; never frame counts)
    wall:       UTC time the frame was captured (stamped on evidence and cases)
    frame:      (H, W, 3) uint8 BGR, the clean frame
    detections: in source-frame pixels, tracker ids set for tracked classes (-1 otherwise)
    """

    camera_id: str
    t: float
    wall: datetime
    frame: npt.NDArray[np.uint8]
    detections: Detections


@dataclass(frozen=True)
class Moment:
    """A frame worth keeping as evidence, with the detections that matter in it.

    scene: every detection of the frame (people and other vehicles are hidden in public copies);
    None means only `detections` are known."""

    t: float
    wall: datetime
    frame: npt.NDArray[np.uint8]
    detections: Detections
    scene: Detections | None = None

    @classmethod
    def of(cls, obs: Observation, detections: Detections) -> Moment:
        return cls(t=obs.t, wall=obs.wall, frame=obs.frame, detections=detections, scene=obs.detections)


@dataclass(frozen=True)
class VehicleView:
    """The parked vehicle cut from a frame between first seen and confirmation: more chances to
    read its plate (a passer-by may hide it in the two frames the case keeps)."""

    wall: datetime
    crop: npt.NDArray[np.uint8]  # (h, w, 3) BGR: the vehicle's box in that frame


@dataclass(frozen=True)
class ViolationEvent:
    """A violation confirmed by a rule; becomes one case. `event_id` is the case's idempotency key."""

    camera_id: str
    zone_id: str
    violation: ViolationType
    standard_code: str
    urgent: bool
    first_seen: Moment
    confirmed: Moment
    event_id: uuid.UUID = field(default_factory=uuid.uuid4)
    views: tuple[VehicleView, ...] = ()  # parking: the vehicle during its dwell (at most MAX_VIEWS)
