"""Sampling by need: how often each camera is sampled, and when, so the detector is never idle.

Not every rule needs a frame a second: open burning does (fire spreads in seconds), a parked car
is judged over minutes with a 30 s occlusion tolerance, vending and garbage by the share of
samples over 2 and 10 minute windows. Each rule declares `sample_interval_s` (default per
violation below, overridable globally or per zone); a camera is sampled at the fastest interval
its zones need. A camera that sets `sample_fps` keeps that fixed rate.

The defaults keep every rule's judgement on enough samples: at least 3 samples within each
occlusion/absence gap the rule tolerates (parking `max_gap_s` 30 s at 10 s; garbage 120 s at
30 s) and at least 8 samples in each presence window (vending 120 s at 15 s, garbage 600 s at
30 s), so one missed detection never decides a case.

Cameras that share an interval are spread over it (`phases`): without that, forty cameras
started together would all be due in the same second, every interval, and queue behind each other
while the detector idles in between.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from streetwatch.edge.config import CameraConfig, EdgeConfig, ZoneConfig
from streetwatch.edge.rules import scaled
from streetwatch.models.taxonomy import ViolationType

DEFAULT_SAMPLE_INTERVAL_S: dict[ViolationType, float] = {
    ViolationType.OPEN_BURNING: 1.0,
    ViolationType.ILLEGAL_PARKING: 10.0,
    ViolationType.OCCUPIED_LANE_VENDING: 15.0,
    ViolationType.EXPOSED_GARBAGE: 30.0,
}
# How long an unchanged view's detections may stand in for the detector (edge/change.py).
DEFAULT_MAX_REUSE_S: dict[ViolationType, float] = {
    ViolationType.OPEN_BURNING: 5.0,
    ViolationType.ILLEGAL_PARKING: 30.0,
    ViolationType.OCCUPIED_LANE_VENDING: 60.0,
    ViolationType.EXPOSED_GARBAGE: 120.0,
}
NO_ZONES_INTERVAL_S = 1.0  # a camera without zones (being set up): one frame a second for the snapshot
MAX_FPS = 30.0  # CameraConfig.sample_fps's bound


def _zone_seconds(config: EdgeConfig, zone: ZoneConfig, field: str, defaults: dict[ViolationType, float]) -> float:
    """A zone rule's `field` (set globally or per zone), else the violation's default; after time_scale."""
    scale = config.rules.time_scale
    value = getattr(scaled(config.zone_rule(zone), scale), field)
    return float(value) if value is not None else defaults[zone.violation] * scale


def zone_sample_interval(config: EdgeConfig, zone: ZoneConfig) -> float:
    """Seconds between the samples this zone's rule needs."""
    return _zone_seconds(config, zone, "sample_interval_s", DEFAULT_SAMPLE_INTERVAL_S)


def zone_max_reuse(config: EdgeConfig, zone: ZoneConfig) -> float:
    """Seconds an unchanged view's detections may stand in for the detector in this zone."""
    return _zone_seconds(config, zone, "max_reuse_s", DEFAULT_MAX_REUSE_S)


def camera_interval(config: EdgeConfig, camera: CameraConfig) -> float:
    """The camera's sampling interval: its fixed `sample_fps`, else the fastest its zones need."""
    if camera.sample_fps is not None:
        return 1.0 / camera.sample_fps
    if not camera.zones:
        return NO_ZONES_INTERVAL_S
    return max(1.0 / MAX_FPS, min(zone_sample_interval(config, zone) for zone in camera.zones))


def camera_max_reuse(config: EdgeConfig, camera: CameraConfig) -> float:
    """How long the camera may reuse detections of an unchanged view: the strictest of its zones."""
    if not camera.zones:
        return 0.0
    return min(zone_max_reuse(config, zone) for zone in camera.zones)


def sample_fps_of(camera: CameraConfig) -> float:
    """The rate a source samples at: the agent fills `sample_fps` in (`resolved_camera`); a camera
    config used on its own (a test, a benchmark) samples at 1 frame/s."""
    return camera.sample_fps or 1.0 / NO_ZONES_INTERVAL_S


def resolved_camera(config: EdgeConfig, camera: CameraConfig) -> CameraConfig:
    """The camera with `sample_fps` filled in, as sources, health and the tracker read it."""
    return camera.model_copy(update={"sample_fps": 1.0 / camera_interval(config, camera)})


def phases(intervals: Sequence[tuple[str, float]]) -> dict[str, float]:
    """Per camera id, the delay (0 < delay <= interval) from its first sample to its second.

    Cameras of one interval get delays spread evenly over it, so their samples interleave.
    """
    groups: dict[float, list[str]] = defaultdict(list)
    for camera_id, interval in intervals:
        groups[round(interval, 6)].append(camera_id)
    out: dict[str, float] = {}
    for interval, ids in groups.items():
        for k, camera_id in enumerate(ids):
            out[camera_id] = interval * (k + 1) / len(ids)
    return out
