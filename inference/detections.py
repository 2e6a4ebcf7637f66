"""`Detections`: the one result type of the engine, a set of parallel arrays.

Modelled on roboflow/supervision's `Detections`: validated when built, filtered by boolean masks
or index arrays, never mutated behind the caller's back.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt


def _check_shape(name: str, array: np.ndarray, expected: tuple[int | None, ...]) -> None:
    actual = array.shape
    ok = len(actual) == len(expected) and all(e is None or e == a for e, a in zip(expected, actual, strict=True))
    if not ok:
        shown = (
            "(" + ", ".join("N" if e is None else str(e) for e in expected) + ("," if len(expected) == 1 else "") + ")"
        )
        raise ValueError(f"{name} must have shape {shown}, got {actual}")


@dataclass(frozen=True)
class Detections:
    """Detections in one frame.

    xyxy:        (N, 4) float32, boxes in source-frame pixels (x1, y1, x2, y2), x1 <= x2, y1 <= y2
    confidence:  (N,)   float32 in [0, 1]
    class_id:    (N,)   int64, index into the model's class names
    tracker_id:  (N,)   int64 or None, set by a tracker
    """

    xyxy: npt.NDArray[np.float32]
    confidence: npt.NDArray[np.float32]
    class_id: npt.NDArray[np.int64]
    tracker_id: npt.NDArray[np.int64] | None = field(default=None)

    def __post_init__(self) -> None:
        xyxy = np.asarray(self.xyxy, dtype=np.float32)
        if xyxy.size == 0:
            xyxy = xyxy.reshape(0, 4)
        confidence = np.asarray(self.confidence, dtype=np.float32).reshape(-1)
        class_id = np.asarray(self.class_id, dtype=np.int64).reshape(-1)
        _check_shape("xyxy", xyxy, (None, 4))
        n = len(xyxy)
        _check_shape("confidence", confidence, (n,))
        _check_shape("class_id", class_id, (n,))
        tracker_id = None
        if self.tracker_id is not None:
            tracker_id = np.asarray(self.tracker_id, dtype=np.int64).reshape(-1)
            _check_shape("tracker_id", tracker_id, (n,))
        if n and not np.isfinite(xyxy).all():
            raise ValueError("xyxy must be finite")
        if n and ((xyxy[:, 2] < xyxy[:, 0]).any() or (xyxy[:, 3] < xyxy[:, 1]).any()):
            raise ValueError("xyxy must satisfy x1 <= x2 and y1 <= y2")
        if n and (class_id < 0).any():
            raise ValueError("class_id must be >= 0")
        # Frozen dataclass: normalised arrays are stored once, here.
        object.__setattr__(self, "xyxy", xyxy)
        object.__setattr__(self, "confidence", confidence)
        object.__setattr__(self, "class_id", class_id)
        object.__setattr__(self, "tracker_id", tracker_id)

    @classmethod
    def empty(cls) -> Detections:
        return cls(
            xyxy=np.empty((0, 4), dtype=np.float32),
            confidence=np.empty((0,), dtype=np.float32),
            class_id=np.empty((0,), dtype=np.int64),
        )

    def __len__(self) -> int:
        return len(self.xyxy)

    def __getitem__(self, index: npt.NDArray[np.bool_] | npt.NDArray[np.integer] | slice | int) -> Detections:
        """Subset by boolean mask (length N), index array, slice or single index (keeps 2-D arrays)."""
        if isinstance(index, (int, np.integer)):
            index = np.array([index])
        if isinstance(index, np.ndarray) and index.dtype == bool and index.shape != (len(self),):
            raise ValueError(f"boolean mask must have shape ({len(self)},), got {index.shape}")
        return Detections(
            xyxy=self.xyxy[index],
            confidence=self.confidence[index],
            class_id=self.class_id[index],
            tracker_id=None if self.tracker_id is None else self.tracker_id[index],
        )

    def __iter__(self) -> Iterator[tuple[np.ndarray, float, int, int | None]]:
        for i in range(len(self)):
            tid = None if self.tracker_id is None else int(self.tracker_id[i])
            yield self.xyxy[i], float(self.confidence[i]), int(self.class_id[i]), tid

    def with_tracker_id(self, tracker_id: npt.NDArray[np.int64]) -> Detections:
        return Detections(self.xyxy, self.confidence, self.class_id, tracker_id)

    def anchors(self, anchor: str = "bottom_center") -> npt.NDArray[np.float32]:
        """(N, 2) anchor points: `bottom_center` (default: where a vehicle meets the road), `center`."""
        x1, y1, x2, y2 = self.xyxy.T
        if anchor == "bottom_center":
            return np.stack([(x1 + x2) / 2, y2], axis=1)
        if anchor == "center":
            return np.stack([(x1 + x2) / 2, (y1 + y2) / 2], axis=1)
        raise ValueError(f"anchor must be 'bottom_center' or 'center', got {anchor!r}")

    @property
    def area(self) -> npt.NDArray[np.float32]:
        return (self.xyxy[:, 2] - self.xyxy[:, 0]) * (self.xyxy[:, 3] - self.xyxy[:, 1])

    def to_records(self, names: tuple[str, ...] | list[str]) -> list[dict[str, object]]:
        """JSON-ready list: class name, confidence, box (rounded to 0.1 px)."""
        return [
            {
                "class": names[c] if c < len(names) else str(c),
                "class_id": c,
                "confidence": round(conf, 4),
                "box": [round(float(v), 1) for v in box],
                **({"tracker_id": tid} if tid is not None else {}),
            }
            for box, conf, c, tid in self
        ]
