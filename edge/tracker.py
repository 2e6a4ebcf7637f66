"""A ByteTrack-style tracker in numpy (two-stage IoU association), timed on monotonic seconds.

ByteTrack's idea: match confident detections to tracks first, then give the tracks left over a
second chance with the low-confidence detections (a partly occluded car scores low but is still
the same car). Sampling at ~1 frame/s makes motion models weak, so association is by IoU of the
last box moved by a damped velocity; lost tracks live `max_age_s` seconds, not N frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import lap
import numpy as np
import numpy.typing as npt

from streetwatch.inference.boxes import iou_matrix
from streetwatch.inference.detections import Detections
from streetwatch.inference.thresholds import passes


def _assign(cost: npt.NDArray[np.float32], limit: float) -> list[tuple[int, int]]:
    """Minimum-cost assignment with a cost limit (lap.lapjv); returns (row, col) pairs."""
    if cost.size == 0:
        return []
    _, x, _ = lap.lapjv(cost.astype(np.float64), extend_cost=True, cost_limit=limit)
    return [(i, int(j)) for i, j in enumerate(x) if j >= 0]


@dataclass
class Track:
    track_id: int
    box: npt.NDArray[np.float32]  # (4,) xyxy
    velocity: npt.NDArray[np.float32]  # (4,) px per second, damped
    class_id: int
    score: float
    first_seen: float  # monotonic s
    last_seen: float
    hits: int = 1

    def predicted(self, now: float) -> npt.NDArray[np.float32]:
        dt = min(max(now - self.last_seen, 0.0), 5.0)  # never extrapolate far: parked cars do not move
        return self.box + self.velocity * dt

    def update(self, box: npt.NDArray[np.float32], class_id: int, score: float, now: float) -> None:
        dt = now - self.last_seen
        if dt > 0:
            self.velocity = 0.5 * self.velocity + 0.5 * (box - self.box) / dt
        self.box, self.class_id, self.score, self.last_seen = box.copy(), class_id, score, now
        self.hits += 1


class ByteTracker:
    """Assigns `tracker_id` to detections; ids are stable while a track is seen within `max_age_s`.

    high_conf:  detections at or above start tracks and match first
    match_iou:  minimum IoU for the first (confident) association
    low_iou:    minimum IoU for the second association with low-confidence detections
    min_hits:   a new track gets an id once seen this many times (suppresses one-frame flickers)
    """

    def __init__(
        self,
        *,
        high_conf: float = 0.5,
        match_iou: float = 0.2,
        low_iou: float = 0.5,
        min_hits: int = 2,
        max_age_s: float = 10.0,
    ) -> None:
        self.high_conf, self.match_iou, self.low_iou = high_conf, match_iou, low_iou
        self.min_hits, self.max_age_s = min_hits, max_age_s
        self.tracks: list[Track] = []
        self._next_id = 1

    def update(self, detections: Detections, now: float) -> Detections:
        """Returns the detections with `tracker_id` set (-1 for detections not yet on a confirmed track)."""
        self.tracks = [t for t in self.tracks if now - t.last_seen <= self.max_age_s]
        n = len(detections)
        ids = np.full((n,), -1, dtype=np.int64)
        if n == 0:
            return detections.with_tracker_id(ids)
        confident = passes(detections.confidence, self.high_conf)
        high, low = np.flatnonzero(confident), np.flatnonzero(~confident)
        predicted = np.array([t.predicted(now) for t in self.tracks], dtype=np.float32).reshape(-1, 4)

        matched_tracks: set[int] = set()
        # Stage 1: confident detections against every live track.
        pairs = _assign(1.0 - iou_matrix(predicted, detections.xyxy[high]), 1.0 - self.match_iou)
        for ti, hj in pairs:
            self._apply(ti, int(high[hj]), detections, now, ids)
            matched_tracks.add(ti)
        unmatched_high = [int(high[j]) for j in range(len(high)) if j not in {hj for _, hj in pairs}]
        # Stage 2: tracks left over against low-confidence detections (occluded, blurred).
        rest = [i for i in range(len(self.tracks)) if i not in matched_tracks]
        if rest and len(low):
            pairs2 = _assign(1.0 - iou_matrix(predicted[rest], detections.xyxy[low]), 1.0 - self.low_iou)
            for ri, lj in pairs2:
                self._apply(rest[ri], int(low[lj]), detections, now, ids)
        # New tracks from confident detections nobody claimed.
        for j in unmatched_high:
            track = Track(
                track_id=self._next_id,
                box=detections.xyxy[j].copy(),
                velocity=np.zeros(4, dtype=np.float32),
                class_id=int(detections.class_id[j]),
                score=float(detections.confidence[j]),
                first_seen=now,
                last_seen=now,
            )
            self._next_id += 1
            self.tracks.append(track)
            if self.min_hits <= 1:
                ids[j] = track.track_id
        return detections.with_tracker_id(ids)

    def _apply(self, ti: int, j: int, detections: Detections, now: float, ids: npt.NDArray[np.int64]) -> None:
        track = self.tracks[ti]
        track.update(detections.xyxy[j], int(detections.class_id[j]), float(detections.confidence[j]), now)
        if track.hits >= self.min_hits:
            ids[j] = track.track_id
