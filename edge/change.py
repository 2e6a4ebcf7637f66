"""Skip unchanged frames: a cheap change measure against the last frame the detector saw.

A quiet street at night, an empty yard, a parked car: most sampled frames show what the last
inferred frame showed, and running the network on them buys nothing. Per camera, `FrameSkipper`
compares a small grey thumbnail of each sampled frame (the one camera health uses, 96x54,
area-averaged, so sensor and compression noise average out) with the thumbnail of the last frame
that was inferred:

    changed = share of thumbnail pixels whose grey level moved by more than `pixel_delta`

Below `min_changed` the frame is judged with the previous detections (the rules see the same
boxes at the new time: a parked car stays parked, its dwell clock runs on, present garbage stays
present). The comparison is always against the last *inferred* frame, never the previous sample,
so a slow change (smoke thickening, dusk) adds up until it crosses the threshold. And detections
are never reused for longer than `max_reuse_s`: at least one real inference every `max_reuse_s`
per camera catches what the measure cannot see (a small object far away).

A car of 150x80 px in a 1080p frame covers about 30 thumbnail pixels (0.6 %); a person about 15
(0.3 %); the default threshold is 0.2 % (about 10 pixels).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from streetwatch.edge.health import thumbnail
from streetwatch.inference.detections import Detections

Thumb = npt.NDArray[np.float32]  # (54, 96) grey levels 0..255


def change_thumbnail(frame: npt.NDArray[np.uint8]) -> Thumb:
    """The thumbnail the change measure compares; computed in the camera's own thread."""
    return thumbnail(frame)


def changed_fraction(a: Thumb, b: Thumb, pixel_delta: float) -> float:
    """Share of pixels whose grey level differs by more than `pixel_delta` (a, b: same shape)."""
    if a.shape != b.shape:
        return 1.0  # the camera changed resolution: everything changed
    return float(np.count_nonzero(np.abs(a - b) > pixel_delta)) / a.size


@dataclass(frozen=True)
class SkipSettings:
    min_changed: float  # below this share of changed thumbnail pixels the frame is "unchanged"
    pixel_delta: float  # grey levels (0..255) a pixel must move to count as changed
    max_reuse_s: float  # previous detections are never reused for longer than this


@dataclass
class _Inferred:
    thumb: Thumb
    t: float
    detections: Detections


class FrameSkipper:
    """One camera's memory of its last inferred frame; the pipeline thread alone calls it."""

    def __init__(self, settings: SkipSettings) -> None:
        self.settings = settings
        self._last: _Inferred | None = None
        self.inferred = 0
        self.skipped = 0
        self.last_change: float | None = None  # the newest measure, for the status page

    def reuse(self, thumb: Thumb | None, t: float) -> Detections | None:
        """The previous detections if this frame may skip the detector, else None (run it).

        `t` is the frame's monotonic time. A frame without a thumbnail, the first frame, one older
        than the last inferred (clock step) and one past `max_reuse_s` all go to the detector.
        """
        last = self._last
        if thumb is None or last is None or not 0 <= t - last.t < self.settings.max_reuse_s:
            return None
        change = changed_fraction(thumb, last.thumb, self.settings.pixel_delta)
        self.last_change = change
        if change >= self.settings.min_changed:
            return None
        self.skipped += 1
        return last.detections

    def record(self, thumb: Thumb | None, t: float, detections: Detections) -> None:
        """The detector ran on this frame: it becomes the reference for the next ones."""
        self.inferred += 1
        if thumb is not None:
            self._last = _Inferred(thumb, t, detections)
