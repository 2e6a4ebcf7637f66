"""Polygon zones in image coordinates: which detections' anchor points lie inside."""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from streetwatch.edge.config import AllowZoneConfig, ZoneConfig
from streetwatch.inference.detections import Detections


class PolygonZone:
    """A zone polygon; `contains(detections)` gives a boolean mask (N,) by the zone's anchor point."""

    def __init__(self, config: ZoneConfig | AllowZoneConfig) -> None:
        self.config = config
        self.id = config.id
        self.anchor = config.anchor
        self.polygon = np.asarray(config.polygon, dtype=np.float32).reshape(-1, 1, 2)  # (P, 1, 2)

    def contains_points(self, points: npt.NDArray[np.float32]) -> npt.NDArray[np.bool_]:
        """points (N, 2) -> mask (N,); points on the edge count as inside."""
        return np.array(
            [cv2.pointPolygonTest(self.polygon, (float(x), float(y)), False) >= 0 for x, y in points], dtype=bool
        )

    def contains(self, detections: Detections) -> npt.NDArray[np.bool_]:
        if len(detections) == 0:
            return np.zeros((0,), dtype=bool)
        return self.contains_points(detections.anchors(self.anchor))

    def max_xy(self) -> tuple[float, float]:
        pts = self.polygon.reshape(-1, 2)
        return float(pts[:, 0].max()), float(pts[:, 1].max())
