"""Draw detections on a copy of a frame (never on the caller's array)."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import numpy.typing as npt

from streetwatch.inference.detections import Detections


def class_color(class_id: int) -> tuple[int, int, int]:
    """A stable, distinct BGR colour per class id."""
    hue = (class_id * 37) % 180
    hsv = np.uint8([[[hue, 220, 255]]])
    b, g, r = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0]
    return int(b), int(g), int(r)


def draw_detections(
    frame_bgr: npt.NDArray[np.uint8], detections: Detections, names: Sequence[str], thickness: int = 2
) -> npt.NDArray[np.uint8]:
    out = frame_bgr.copy()
    scale = max(0.4, min(out.shape[:2]) / 900)
    for box, conf, cls, tid in detections:
        x1, y1, x2, y2 = (round(v) for v in box)
        color = class_color(cls)
        cv2.rectangle(out, (x1, y1), (x2, y2), color, thickness)
        label = f"{names[cls] if cls < len(names) else cls} {conf:.2f}" + (
            f" #{tid}" if tid is not None and tid >= 0 else ""
        )
        (tw, th), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        ty = max(y1, th + base)
        cv2.rectangle(out, (x1, ty - th - base), (x1 + tw, ty), color, -1)
        cv2.putText(out, label, (x1, ty - base), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 1, cv2.LINE_AA)
    return out
