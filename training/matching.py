"""Match detections to ground truth as ultralytics' validator does, in numpy.

Same policy as `BaseValidator.match_predictions` (greedy, one-to-one, detections in descending
confidence claim their best unclaimed same-class target, per IoU threshold), so `streetwatch eval`
and `yolo val` count the same true positives.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

IOU_THRESHOLDS = np.linspace(0.5, 0.95, 10)  # mAP50-95


def box_iou(a: npt.NDArray[np.floating], b: npt.NDArray[np.floating], eps: float = 1e-7) -> npt.NDArray[np.float64]:
    """(M, 4) x (N, 4) xyxy -> (M, N) IoU."""
    a64, b64 = a.astype(np.float64)[:, None], b.astype(np.float64)[None]
    inter = (np.minimum(a64[..., 2:], b64[..., 2:]) - np.maximum(a64[..., :2], b64[..., :2])).clip(0).prod(-1)
    area_a = (a64[..., 2:] - a64[..., :2]).prod(-1)
    area_b = (b64[..., 2:] - b64[..., :2]).prod(-1)
    return inter / (area_a + area_b - inter + eps)


def match_predictions(
    pred_cls: npt.NDArray[np.int64],  # (N,) in descending confidence order
    true_cls: npt.NDArray[np.int64],  # (M,)
    iou: npt.NDArray[np.float64],  # (M, N)
    thresholds: npt.NDArray[np.float64] = IOU_THRESHOLDS,
) -> npt.NDArray[np.bool_]:
    """(N, T) bool: detection j is a true positive at IoU threshold t."""
    correct = np.zeros((pred_cls.shape[0], thresholds.shape[0]), dtype=bool)
    if pred_cls.shape[0] == 0 or true_cls.shape[0] == 0:
        return correct
    iou = iou * (true_cls[:, None] == pred_cls[None, :])
    matched = np.zeros((iou.shape[0], len(thresholds)), dtype=bool)
    columns = np.arange(len(thresholds))
    for j in np.flatnonzero((iou >= thresholds.min()).any(0)):
        available = np.where(matched, 0, iou[:, j, None])  # (M, T)
        k = available.argmax(0)  # best unclaimed target per threshold
        correct[j] = available[k, columns] >= thresholds
        matched[k, columns] |= correct[j]
    return correct
