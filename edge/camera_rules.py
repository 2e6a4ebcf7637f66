"""All rules of one camera: vehicle tracking, schedules, allow-zones, and one state machine per zone."""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

import numpy as np

from streetwatch.edge.config import CameraConfig, EdgeConfig, ZoneConfig
from streetwatch.edge.events import Observation, ViolationEvent
from streetwatch.edge.rules import ParkingZoneRule, PresenceZoneRule, Rule, ZoneRule, class_ids_for, scaled
from streetwatch.edge.sampling import sample_fps_of
from streetwatch.edge.schedule import is_enforced
from streetwatch.edge.tracker import ByteTracker
from streetwatch.edge.vending import AllowZones, VendingZoneRule
from streetwatch.edge.workdays import WorkCalendar, warn_uncovered
from streetwatch.inference.detections import Detections

log = logging.getLogger(__name__)


class CameraRules:
    """Feed observations in capture order; returns the violations each one confirms."""

    def __init__(self, camera: CameraConfig, config: EdgeConfig, names: tuple[str, ...]) -> None:
        self.camera = camera
        self.names = names
        self.tz = ZoneInfo(config.calendar.timezone)
        calendar = config.calendar
        self.calendar = WorkCalendar(calendar.statutory, calendar.holidays, calendar.workdays)
        warn_uncovered(self.calendar)
        rules = [scaled(config.zone_rule(zone), config.rules.time_scale) for zone in camera.zones]
        self.zone_rules: list[ZoneRule] = [
            make_zone_rule(camera.id, zone, rule, names) for zone, rule in zip(camera.zones, rules, strict=True)
        ]
        parking = [rule for rule in rules if rule.kind == "parking"]
        self.vehicle_ids = class_ids_for(names, sorted({n for rule in parking for n in rule.classes}))
        # A lost track lives as long as the parking rules tolerate a gap, and never less than 3 samples.
        max_age = max([3.0 / sample_fps_of(camera), *(rule.max_gap_s for rule in parking)])
        # Never below model.conf: the installer's threshold for "a detection" is also the least a
        # detection needs to start a track (class_conf may let weaker vehicles through to stage 2).
        start_conf = max(config.rules.tracking.start_conf, config.model_for(camera).conf)
        self.tracker = ByteTracker(high_conf=start_conf, max_age_s=max_age)
        self.allow_zones = AllowZones(camera.allow_zones, self.calendar)
        self.frame_size: tuple[int, int] | None = None  # (width, height) of the latest frame

    def see_frame_size(self, width: int, height: int) -> None:
        """On the first frame and whenever the picture's size changes: zones wholly outside it cannot fire."""
        if self.frame_size == (width, height):
            return
        self.frame_size = (width, height)
        stated = self.camera.frame_size
        if stated is not None and tuple(stated) != (width, height):
            log.warning(
                "camera %s: the picture is %dx%d, the config's frame_size says %dx%d: check the zones on the snapshot",
                self.camera.id,
                width,
                height,
                *stated,
            )
        for zone_rule in self.zone_rules:
            if not zone_rule.see_frame_size(width, height):
                log.warning(
                    "camera %s zone %s: the polygon lies wholly outside the %dx%d picture, so %s can never be "
                    "filed there; redraw it on the snapshot (listed in /cameras rules_that_cannot_fire)",
                    self.camera.id,
                    zone_rule.zone_config.id,
                    width,
                    height,
                    zone_rule.zone_config.violation,
                )

    def track(self, detections: Detections, now: float) -> Detections:
        """All detections, with tracker ids on the vehicle classes (-1 elsewhere)."""
        ids = np.full((len(detections),), -1, dtype=np.int64)
        if len(self.vehicle_ids):
            mask = np.isin(detections.class_id, self.vehicle_ids)
            tracked = self.tracker.update(detections[mask], now)
            ids[np.flatnonzero(mask)] = tracked.tracker_id  # type: ignore[assignment]
        return detections.with_tracker_id(ids)

    def step(self, obs: Observation, healthy: bool = True) -> list[ViolationEvent]:
        """`obs.detections` are raw detector output; tracking happens here. Unhealthy = rules paused."""
        height, width = obs.frame.shape[:2]
        self.see_frame_size(width, height)
        tracked = Observation(obs.camera_id, obs.t, obs.wall, obs.frame, self.track(obs.detections, obs.t))
        local = obs.wall.astimezone(self.tz)
        events: list[ViolationEvent] = []
        for zone_rule in self.zone_rules:
            enforced = healthy and is_enforced(zone_rule.zone_config.schedule, local, self.calendar)
            seen = self.allow_zones.without_permitted(tracked, zone_rule.zone_config.violation, local)
            events.extend(zone_rule.step(seen, enforced))
        return events


def make_zone_rule(camera_id: str, zone: ZoneConfig, rule: Rule, names: tuple[str, ...]) -> ZoneRule:
    """The state machine for the rule's kind (here, not in rules.py: vending builds on rules.py's classes)."""
    if rule.kind == "parking":
        return ParkingZoneRule(camera_id, zone, rule, names)
    if rule.kind == "vending":
        return VendingZoneRule(camera_id, zone, rule, names)
    return PresenceZoneRule(camera_id, zone, rule, names)
