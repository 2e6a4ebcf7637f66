"""Decode raw YOLO outputs into boxes: vectorised numpy, class-aware NMS.

Two layouts come out of ultralytics exports:
  raw:     (B, 4 + nc, A)  xywh in input pixels + per-class scores; needs NMS
  end2end: (B, N, 6)       x1, y1, x2, y2, score, class; already NMS-free (yolov10/yolo26, nms=True)
Semantics follow ultralytics `non_max_suppression` (best class only, per-class NMS from
`boxes.py`, at most 30000 boxes into NMS, at most `max_det` out), except the threshold rule: a
score at or above it passes, as everywhere in streetwatch (`thresholds.py`; ultralytics keeps only
scores above it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from streetwatch.inference.boxes import batched_nms
from streetwatch.inference.thresholds import passes

MAX_NMS = 30000


@dataclass(frozen=True)
class RawBoxes:
    """Boxes of one image in model-input pixels, before mapping to the source frame."""

    xyxy: npt.NDArray[np.float32]  # (N, 4)
    confidence: npt.NDArray[np.float32]  # (N,)
    class_id: npt.NDArray[np.int64]  # (N,)

    @classmethod
    def empty(cls) -> RawBoxes:
        return cls(np.empty((0, 4), np.float32), np.empty((0,), np.float32), np.empty((0,), np.int64))


def decode_raw(
    pred: npt.NDArray[np.float32],
    class_conf: npt.NDArray[np.float32],
    iou: float,
    max_det: int,
    class_allowed: npt.NDArray[np.bool_] | None = None,
) -> RawBoxes:
    """Decode one image of the raw layout.

    pred:        (4 + nc, A) as the model emits it (xywh rows, then class-score rows)
    class_conf:  (nc,) confidence threshold per class (a uniform threshold is a constant array)
    class_allowed: (nc,) bool, classes to keep, or None for all
    """
    scores = pred[4:]  # (nc, A)
    best = scores.max(axis=0)  # (A,)
    candidates = np.flatnonzero(passes(best, class_conf.min()))
    if candidates.size == 0:
        return RawBoxes.empty()
    cand_scores = scores[:, candidates]  # (nc, K)
    cls = cand_scores.argmax(axis=0)  # (K,)
    conf = best[candidates]
    keep = passes(conf, class_conf[cls])
    if class_allowed is not None:
        keep &= class_allowed[cls]
    candidates, cls, conf = candidates[keep], cls[keep], conf[keep]
    if candidates.size == 0:
        return RawBoxes.empty()
    if candidates.size > MAX_NMS:
        top = np.argsort(-conf, kind="stable")[:MAX_NMS]
        candidates, cls, conf = candidates[top], cls[top], conf[top]
    cx, cy, w, h = pred[0, candidates], pred[1, candidates], pred[2, candidates], pred[3, candidates]
    xyxy = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1).astype(np.float32)
    kept = batched_nms(xyxy, conf, cls, iou)[:max_det]
    return RawBoxes(xyxy[kept], conf[kept].astype(np.float32), cls[kept].astype(np.int64))


def decode_end2end(
    pred: npt.NDArray[np.float32],
    class_conf: npt.NDArray[np.float32],
    max_det: int,
    class_allowed: npt.NDArray[np.bool_] | None = None,
) -> RawBoxes:
    """Decode one image of the NMS-free layout. pred: (N, 6) x1, y1, x2, y2, score, class."""
    cls = pred[:, 5].astype(np.int64)
    cls_clipped = np.clip(cls, 0, len(class_conf) - 1)
    keep = passes(pred[:, 4], class_conf[cls_clipped])
    if class_allowed is not None:
        keep &= class_allowed[cls_clipped]
    idx = np.flatnonzero(keep)[:max_det]
    return RawBoxes(pred[idx, :4].astype(np.float32), pred[idx, 4].astype(np.float32), cls[idx])
