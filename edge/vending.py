"""Vending rule v2 (occupied-lane vending, 占道经营) and allow-zones (permitted areas and hours).

Evidence per sample (then judged by presence over samples, as every static thing is):
- where the model has a `stall` class: a stall box anchored in the no_vending zone;
- otherwise: a stall proxy (umbrella, dining_table) in the zone with a *stationary* keeper
  (person) beside it. Keepers are tracked by this rule (class-agnostic IoU tracking on monotonic
  time); one counts once it has stood within `keeper_max_move_frac` of its height for
  `keeper_still_s`. A pedestrian carrying an umbrella through the zone is a new position at every
  sample and never counts. A proxy outside `proxy_alone` (the umbrella) counts at once only beside
  a proxy of another class (the table of goods under it); alone, only once its keeper has stood
  still for `lone_proxy_still_s`: someone waiting at a bus stop under their own umbrella is
  stationary too, and an umbrella with a still person under it is all the COCO classes show of
  either, so what tells them apart is how long they stay (a bus wait is minutes, a stall hours).
Allow-zones (外摆经营划线区, 临时摊区, 夜市 in the evening): while their schedule is in effect,
detections anchored inside them are not evidence for the violations they permit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt

from streetwatch.edge.config import AllowZoneConfig, VendingRule, ZoneConfig
from streetwatch.edge.events import Observation, ViolationEvent
from streetwatch.edge.rules import PresenceZoneRule, Rule, class_ids_for
from streetwatch.edge.schedule import window_contains
from streetwatch.edge.tracker import ByteTracker
from streetwatch.edge.workdays import WorkCalendar
from streetwatch.edge.zones import PolygonZone
from streetwatch.inference.detections import Detections
from streetwatch.models.taxonomy import ViolationType


@dataclass(frozen=True)
class _StillKeepers:
    """Keeper detections of this frame that have stood still long enough: for a backed proxy
    (`keeper_still_s`) and for a lone one (`lone_proxy_still_s`)."""

    backed: Detections
    lone: Detections


@dataclass
class _Keeper:
    anchor0: npt.NDArray[np.float32]  # (2,) where it came to rest
    still_since: float
    last_seen: float


def uses_proxies(rule: VendingRule, names: Sequence[str]) -> bool:
    """Whether stall proxies count on a model with these class names."""
    if rule.proxies == "always":
        return True
    return rule.proxies == "auto" and not any(c in names for c in rule.classes)


def evidence_classes(rule: Rule, names: Sequence[str]) -> list[str]:
    """The classes that can make a rule fire on a model with these class names (none: it never fires)."""
    direct = [c for c in rule.classes if c in names]
    if not isinstance(rule, VendingRule) or not uses_proxies(rule, names):
        return direct
    keepers_ok = not rule.keeper_classes or any(c in names for c in rule.keeper_classes)
    proxies = [c for c in rule.proxy_classes if c in names]
    # Proxy evidence needs one that counts alone, two kinds that can stand together, or a keeper
    # still long enough for a proxy on its own.
    lone_ok = rule.lone_proxy_still_s is not None and bool(rule.keeper_classes)
    together = any(c in rule.proxy_alone for c in proxies) or len(proxies) >= 2 or (lone_ok and bool(proxies))
    return direct + (proxies if keepers_ok and together else [])


def near(box: npt.NDArray[np.float32], others: npt.NDArray[np.float32], frac: float) -> npt.NDArray[np.bool_]:
    """Which of `others` (M, 4) reach within `frac` of `box`'s (4,) larger side of it: mask (M,)."""
    x1, y1, x2, y2 = box
    pad = frac * max(x2 - x1, y2 - y1)
    return (
        (others[:, 0] <= x2 + pad)
        & (others[:, 2] >= x1 - pad)
        & (others[:, 1] <= y2 + pad)
        & (others[:, 3] >= y1 - pad)
    )


class VendingZoneRule(PresenceZoneRule):
    rule: VendingRule

    def __init__(self, camera_id: str, zone: ZoneConfig, rule: Rule, names: tuple[str, ...]) -> None:
        super().__init__(camera_id, zone, rule, names)
        assert isinstance(rule, VendingRule)  # make_zone_rule dispatches on the type
        self.proxy_mode = uses_proxies(rule, names)
        self.proxy_ids = class_ids_for(names, rule.proxy_classes) if self.proxy_mode else class_ids_for(names, [])
        self.alone_ids = class_ids_for(names, rule.proxy_alone)
        self._can_fire = bool(evidence_classes(rule, names))
        self.keeper_ids = class_ids_for(names, rule.keeper_classes)
        self.needs_keeper = bool(rule.keeper_classes)
        # Every keeper detection the detector kept is worth tracking: high_conf 0 (the model's own
        # threshold already applied); a keeper missed for a whole presence gap starts over.
        self.keeper_tracker = ByteTracker(high_conf=0.0, max_age_s=max(rule.max_gap_s, 1e-3))
        self.keepers: dict[int, _Keeper] = {}
        self._still = _StillKeepers(Detections.empty(), Detections.empty())

    @property
    def can_fire(self) -> bool:
        return self._can_fire

    def step(self, obs: Observation, enforced: bool) -> list[ViolationEvent]:
        self._still = self._update_keepers(obs)
        return super().step(obs, enforced)

    def _update_keepers(self, obs: Observation) -> _StillKeepers:
        """Track keeper-class detections; returns those standing still long enough."""
        dets = obs.detections
        if not self.proxy_mode or not self.needs_keeper or len(self.keeper_ids) == 0:
            return _StillKeepers(Detections.empty(), Detections.empty())
        mask = np.isin(dets.class_id, self.keeper_ids) & (dets.confidence >= self.rule.min_confidence)
        tracked = self.keeper_tracker.update(dets[mask], obs.t)
        now, rule = obs.t, self.rule
        anchors = tracked.anchors("bottom_center")
        still = np.zeros(len(tracked), dtype=bool)
        long_still = np.zeros(len(tracked), dtype=bool)
        lone_s = rule.lone_proxy_still_s
        for j in range(len(tracked)):
            tid = int(tracked.tracker_id[j])  # type: ignore[index]
            if tid < 0:
                continue
            height = max(float(tracked.xyxy[j, 3] - tracked.xyxy[j, 1]), 1.0)
            keeper = self.keepers.get(tid)
            if (
                keeper is None
                or float(np.linalg.norm(anchors[j] - keeper.anchor0)) > rule.keeper_max_move_frac * height
            ):
                keeper = self.keepers[tid] = _Keeper(anchors[j].copy(), now, now)  # walking: the clock restarts
            keeper.last_seen = now
            still[j] = now - keeper.still_since >= rule.keeper_still_s
            long_still[j] = lone_s is not None and now - keeper.still_since >= max(lone_s, rule.keeper_still_s)
        self.keepers = {k: v for k, v in self.keepers.items() if now - v.last_seen <= rule.max_gap_s}
        return _StillKeepers(tracked[still], tracked[long_still])

    def relevant(self, detections: Detections) -> Detections:
        """Stall boxes in the zone; in proxy mode also proxies in the zone with a still keeper beside them
        (those keepers are part of the evidence)."""
        n = len(detections)
        if n == 0:
            return detections
        confident = detections.confidence >= self.rule.min_confidence
        inside = self.zone.contains(detections)
        evidence = np.isin(detections.class_id, self.class_ids) & confident & inside
        if self.proxy_mode and len(self.proxy_ids):
            proxies = np.isin(detections.class_id, self.proxy_ids) & confident & inside
            backed = proxies & self._together(detections, proxies)
            if self.needs_keeper:
                for subset, still in ((backed, self._still.backed), (proxies & ~backed, self._still.lone)):
                    kept, keepers = self._beside_keepers(detections, subset, still)
                    evidence |= kept | keepers
            else:
                evidence |= backed
        return detections[evidence]

    def _together(self, detections: Detections, proxies: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
        """Proxies that count: one of `proxy_alone`, or one with a proxy of another class beside it. Mask (N,)."""
        ok = proxies & np.isin(detections.class_id, self.alone_ids)
        for i in np.flatnonzero(proxies & ~ok):
            other = proxies & (detections.class_id != detections.class_id[i])
            ok[i] = bool(near(detections.xyxy[i], detections.xyxy[other], self.rule.keeper_near_frac).any())
        return ok

    def _beside_keepers(
        self, detections: Detections, proxies: npt.NDArray[np.bool_], still: Detections
    ) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
        """(proxies with one of the `still` keepers near, detections that are those keepers), masks (N,)."""
        kept = np.zeros(len(detections), dtype=bool)
        keepers = np.zeros(len(detections), dtype=bool)
        if len(still) == 0 or not proxies.any():
            return kept, keepers
        for i in np.flatnonzero(proxies):
            beside = near(detections.xyxy[i], still.xyxy, self.rule.keeper_near_frac)
            if beside.any():
                kept[i] = True
                for box in still.xyxy[beside]:  # mark the keeper's own detection in this frame
                    keepers |= np.all(np.abs(detections.xyxy - box) < 0.5, axis=1)
        return kept, keepers


class AllowZones:
    """A camera's allow-zones; `permitted(detections, violation, local)` masks what they permit now."""

    def __init__(self, zones: Sequence[AllowZoneConfig], calendar: WorkCalendar) -> None:
        self.zones = [(z, PolygonZone(z)) for z in zones]
        self.calendar = calendar

    def active(self, violation: ViolationType, local: datetime) -> list[PolygonZone]:
        return [
            polygon
            for config, polygon in self.zones
            if violation in config.permits
            and (not config.schedule or any(window_contains(w, local, self.calendar) for w in config.schedule))
        ]

    def without_permitted(self, obs: Observation, violation: ViolationType, local: datetime) -> Observation:
        """The observation minus detections anchored inside an allow-zone in effect for `violation`."""
        zones = self.active(violation, local)
        if not zones or len(obs.detections) == 0:
            return obs
        inside = np.zeros(len(obs.detections), dtype=bool)
        for zone in zones:
            inside |= zone.contains(obs.detections)
        if not inside.any():
            return obs
        return Observation(obs.camera_id, obs.t, obs.wall, obs.frame, obs.detections[~inside])
