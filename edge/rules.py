"""The violation rules, one small state machine per zone, fed one `Observation` at a time.

Two kinds of evidence (DESIGN.md):
- `ParkingZoneRule`: tracked vehicles standing still in a `no_parking` zone for `dwell_s`.
  A vehicle is followed by tracker id, and, when its id changes (a tracker id switch, or a new id
  after an occlusion), by its spot: a box overlapping the one it had, anchored where it stood. The
  dwell clock and the "case already filed" mark survive the switch, so one parked car is one case;
  and a second car parking beside it (boxes overlapping, anchors apart) is a second vehicle, never
  the first one's record.
- `PresenceZoneRule`: static things (stalls, garbage, fire/smoke) by the share of sampled frames
  in which they are present in the zone: no tracker ids at all.

Both: one ongoing violation = one case; a new case only after the thing was absent for
`rearm_after_s`; no second case in the same zone within `cooldown_s`; when the schedule does not
enforce the rule (or the camera is unhealthy) nothing unconfirmed accumulates.
All times are monotonic seconds, already multiplied by `rules.time_scale` (see `scaled`).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from streetwatch.edge.config import ParkingRule, PresenceRule, Rule, ZoneConfig, area_in_frame
from streetwatch.edge.events import Moment, Observation, VehicleView, ViolationEvent
from streetwatch.edge.zones import PolygonZone
from streetwatch.inference.boxes import iou_matrix
from streetwatch.inference.detections import Detections
from streetwatch.inference.thresholds import passes


def scaled(rule: Rule, time_scale: float) -> Rule:
    """The rule with every duration (`*_s` fields) multiplied by `time_scale`."""
    if time_scale == 1.0:
        return rule
    updates = {
        name: value * time_scale
        for name, value in rule.model_dump().items()
        if name.endswith("_s") and isinstance(value, (int, float))
    }
    return rule.model_copy(update=updates)


def class_ids_for(names: tuple[str, ...], wanted: list[str]) -> np.ndarray:
    """Model class ids of the wanted taxonomy names the model has (possibly none: the rule never fires)."""
    return np.array([names.index(n) for n in wanted if n in names], dtype=np.int64)


class ZoneRule:
    """Shared parts: zone membership of relevant detections, cooldown, event construction."""

    def __init__(self, camera_id: str, zone: ZoneConfig, rule: Rule, names: tuple[str, ...]) -> None:
        self.camera_id = camera_id
        self.zone_config = zone
        self.zone = PolygonZone(zone)
        self.rule = rule
        self.class_ids = class_ids_for(names, rule.classes)
        self._last_filed: float | None = None
        self.in_view = True  # False once a frame shows the polygon lies wholly outside the picture

    @property
    def can_fire(self) -> bool:
        return len(self.class_ids) > 0

    def see_frame_size(self, width: int, height: int) -> bool:
        """The camera's picture is width x height: is any of the zone inside it? (Only the live frame
        can tell, unless the config states `frame_size`: a detector's boxes lie within the picture.)"""
        self.in_view = area_in_frame(self.zone_config.polygon, width, height) > 0
        return self.in_view

    def relevant(self, detections: Detections) -> Detections:
        """Detections of this rule's classes, confident enough, anchored inside the zone."""
        if len(detections) == 0 or not self.can_fire:
            return detections[np.zeros(len(detections), dtype=bool)]
        mask = np.isin(detections.class_id, self.class_ids) & passes(detections.confidence, self.rule.min_confidence)
        subset = detections[mask]
        return subset[self.zone.contains(subset)]

    def cooling_down(self, now: float) -> bool:
        return self._last_filed is not None and now - self._last_filed < self.rule.cooldown_s

    def _event(
        self, first: Moment, confirmed: Moment, urgent: bool = False, views: tuple[VehicleView, ...] = ()
    ) -> ViolationEvent:
        self._last_filed = confirmed.t
        return ViolationEvent(
            camera_id=self.camera_id,
            zone_id=self.zone_config.id,
            violation=self.zone_config.violation,
            standard_code=self.rule.standard_code,
            urgent=urgent,
            first_seen=first,
            confirmed=confirmed,
            views=views,
        )

    def step(self, obs: Observation, enforced: bool) -> list[ViolationEvent]:
        raise NotImplementedError


# A new track id continues a record only when its box overlaps the record's this much and its anchor is
# at the record's spot (`_at_spot`): an id switch keeps both; a car parked beside may overlap as much
# (IoU 0.43 seen) but stands elsewhere.
SAME_VEHICLE_MIN_IOU = 0.3


@dataclass
class _Parked:
    track_id: int
    anchor0: np.ndarray  # (2,) anchor when the vehicle came to rest
    first: Moment
    box: np.ndarray  # (4,) latest box
    last_seen: float
    filed: bool = False
    views: list[VehicleView] = field(default_factory=list)  # crops spaced over the dwell, for the plate


# Crops of a parked vehicle kept during its dwell (evenly spaced), so the plate can be read from the
# clearest view, not only from the two frames the case keeps; a crop, not a frame: a few hundred KB.
MAX_VIEWS = 3


class ParkingZoneRule(ZoneRule):
    rule: ParkingRule

    def __init__(self, camera_id: str, zone: ZoneConfig, rule: ParkingRule, names: tuple[str, ...]) -> None:
        super().__init__(camera_id, zone, rule, names)
        self.parked: list[_Parked] = []

    def step(self, obs: Observation, enforced: bool) -> list[ViolationEvent]:
        now = obs.t
        rule = self.rule
        self._forget_gone(now)
        if not enforced:
            self.parked = [p for p in self.parked if p.filed]
        vehicles = self.relevant(obs.detections)
        if vehicles.tracker_id is not None:
            vehicles = vehicles[vehicles.tracker_id >= 0]
        else:
            vehicles = vehicles[np.zeros(len(vehicles), dtype=bool)]
        anchors = vehicles.anchors(self.zone.anchor)
        events: list[ViolationEvent] = []
        tids = vehicles.tracker_id if vehicles.tracker_id is not None else np.zeros((0,), dtype=np.int64)
        for j, index in enumerate(self._associate(vehicles.xyxy, tids, anchors)):
            box, tid = vehicles.xyxy[j], int(tids[j])
            one = vehicles[j]
            if index is None:
                if not enforced:
                    continue
                self.parked.append(_Parked(tid, anchors[j].copy(), Moment.of(obs, one), box.copy(), now))
                continue
            parked = self.parked[index]
            moved = not self._at_spot(parked, box, anchors[j])
            if moved and not parked.filed:  # it was driving, not parked: the clock starts again here
                parked.anchor0, parked.first = anchors[j].copy(), Moment.of(obs, one)
                parked.views.clear()
            parked.track_id, parked.box, parked.last_seen = tid, box.copy(), now
            if not parked.filed and not moved:
                self._keep_view(parked, obs, box)
            if (
                enforced
                and not parked.filed
                and not moved
                and now - parked.first.t >= rule.dwell_s
                and not self.cooling_down(now)
            ):
                parked.filed = True
                events.append(self._event(parked.first, Moment.of(obs, one), views=tuple(parked.views)))
                parked.views = []
        return events

    def _keep_view(self, parked: _Parked, obs: Observation, box: np.ndarray) -> None:
        """A crop of the vehicle at 1/4, 2/4 and 3/4 of the dwell (with the default MAX_VIEWS)."""
        due = parked.first.t + self.rule.dwell_s * (len(parked.views) + 1) / (MAX_VIEWS + 1)
        if len(parked.views) >= MAX_VIEWS or obs.t < due:
            return
        height, width = obs.frame.shape[:2]
        x1, y1 = max(0, int(box[0])), max(0, int(box[1]))
        x2, y2 = min(width, int(np.ceil(box[2]))), min(height, int(np.ceil(box[3])))
        if x2 - x1 >= 8 and y2 - y1 >= 8:
            parked.views.append(VehicleView(obs.wall, obs.frame[y1:y2, x1:x2].copy()))

    def _forget_gone(self, now: float) -> None:
        """Forget vehicles gone long enough: unconfirmed after an occlusion gap, filed after the re-arm time."""
        rule = self.rule
        self.parked = [
            p for p in self.parked if now - p.last_seen <= (rule.rearm_after_s if p.filed else rule.max_gap_s)
        ]

    def _associate(self, xyxy: np.ndarray, tids: np.ndarray, anchors: np.ndarray) -> list[int | None]:
        """For each vehicle (boxes (N, 4), track ids (N,), anchors (N, 2)), the index of its record in
        `self.parked`, or None (a vehicle not seen before).

        Every vehicle is matched by its own tracker id before any is matched by spot, so a car
        arriving beside a parked one can never take that record while the parked car is still in
        view. A filed record stays where its car stood: its track id seen far from that spot (the
        tracker handed the id to a neighbour, or the car drove off) is a new vehicle.
        """
        out: list[int | None] = [None] * len(xyxy)
        taken: set[int] = set()
        for j in range(len(xyxy)):  # 1. by tracker id
            for i, p in enumerate(self.parked):
                if i in taken or p.track_id != int(tids[j]):
                    continue
                if not p.filed or self._at_spot(p, xyxy[j], anchors[j]):
                    out[j] = i
                    taken.add(i)
                    break
        for j in range(len(xyxy)):  # 2. id switch or re-acquired after occlusion: the same spot, a new id
            if out[j] is not None:
                continue
            free = [i for i in range(len(self.parked)) if i not in taken]
            if not free:
                break
            ious = iou_matrix(xyxy[j][None, :], np.stack([self.parked[i].box for i in free]))[0]
            for k in np.argsort(-ious):
                i = free[int(k)]
                if ious[k] < SAME_VEHICLE_MIN_IOU:
                    break
                if self._at_spot(self.parked[i], xyxy[j], anchors[j]):
                    out[j] = i
                    taken.add(i)
                    break
        return out

    def _at_spot(self, parked: _Parked, box: np.ndarray, anchor: np.ndarray) -> bool:
        """A vehicle (box (4,), anchor (2,)) stands where the record's vehicle came to rest: within
        `max_move_frac` of its height, the same tolerance that tells parked from moving."""
        height = max(float(box[3] - box[1]), 1.0)
        return float(np.linalg.norm(anchor - parked.anchor0)) <= self.rule.max_move_frac * height


@dataclass
class _Episode:
    first: Moment
    last_positive: float
    filed: bool = False


class PresenceZoneRule(ZoneRule):
    rule: PresenceRule

    def __init__(self, camera_id: str, zone: ZoneConfig, rule: PresenceRule, names: tuple[str, ...]) -> None:
        super().__init__(camera_id, zone, rule, names)
        self.samples: deque[tuple[float, bool]] = deque()
        self.episode: _Episode | None = None

    def step(self, obs: Observation, enforced: bool) -> list[ViolationEvent]:
        now, rule = obs.t, self.rule
        found = self.relevant(obs.detections)
        present = len(found) > 0
        if not enforced:
            self.samples.clear()
            if self.episode is not None and not self.episode.filed:
                self.episode = None
        else:
            self.samples.append((now, present))
            while self.samples and self.samples[0][0] < now - rule.window_s:
                self.samples.popleft()
        episode = self.episode
        if present:
            if episode is None:
                if not enforced:
                    return []
                episode = self.episode = _Episode(first=Moment.of(obs, found), last_positive=now)
            episode.last_positive = now
        elif episode is not None:
            limit = rule.rearm_after_s if episode.filed else rule.max_gap_s
            if now - episode.last_positive > limit:
                self.episode = None
            return []
        if (
            enforced
            and episode is not None
            and not episode.filed
            and now - episode.first.t >= rule.min_duration_s
            and self._judged_present()
            and not self.cooling_down(now)
        ):
            episode.filed = True
            return [self._event(episode.first, Moment.of(obs, found), urgent=rule.urgent)]
        return []

    def _judged_present(self) -> bool:
        samples = list(self.samples)
        if self.rule.last_n is not None:
            samples = samples[-self.rule.last_n :]
        hits = sum(1 for _, p in samples if p)
        return bool(samples) and hits >= self.rule.min_hits and hits / len(samples) >= self.rule.min_ratio
