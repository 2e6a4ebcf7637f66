"""The one home for box arithmetic on xyxy arrays: IoU, NMS and one-to-one matching, in numpy only.

Every area imports these (the engine's decoder, the edge tracker and rules, evaluation, the teacher
parity checks, pseudo-labelling), so a threshold means the same thing everywhere.

Conventions:
  boxes:   (N, 4) x1, y1, x2, y2 in pixels, any float dtype (the arithmetic runs in that dtype,
           at least float32, so float32 callers keep float32 results as before)
  IoU:     intersection / union; a pair whose union is zero (two zero-area boxes) has IoU 0
  NMS:     greedy, highest score first, a box is dropped when its IoU with a kept one is `> iou`
           (torchvision.ops.nms semantics); per class by shifting each class `MAX_WH` px apart
  matching: greedy one-to-one in priority order, the policy of ultralytics'
           `BaseValidator.match_predictions`, so `streetwatch eval` and `yolo val` agree
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

# Per-class coordinate offset for class-aware NMS: boxes of different classes never overlap.
# ultralytics' non_max_suppression uses the same 7680 px (no frame or letterbox is larger).
MAX_WH = 7680

# IoU thresholds of mAP50-95 (COCO): 0.50, 0.55, ..., 0.95.
IOU_THRESHOLDS = np.linspace(0.5, 0.95, 10)

# ultralytics/torchvision `box_iou` add 1e-7 to the union; evaluation passes it to count as they do.
ULTRALYTICS_EPS = 1e-7

Boxes = npt.NDArray[np.floating]  # (N, 4) xyxy


def _dtype(*arrays: npt.NDArray[np.generic]) -> np.dtype[np.floating]:
    return np.result_type(*(np.asarray(x) for x in arrays), np.float32)


def iou_matrix(a: Boxes, b: Boxes, eps: float = 0.0) -> npt.NDArray[np.floating]:
    """(N, 4) x (M, 4) -> (N, M) IoU.

    eps: added to the union (ULTRALYTICS_EPS reproduces ultralytics' numbers); 0 gives exact IoU.
    Empty inputs give an (N, M) array of zeros; zero-area pairs give 0, never NaN.
    """
    dtype = _dtype(a, b)
    a = np.asarray(a, dtype=dtype).reshape(-1, 4)
    b = np.asarray(b, dtype=dtype).reshape(-1, 4)
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), dtype=dtype)
    return _iou(_columns(a, (slice(None), None)), _columns(b, (None, slice(None))), eps)


Columns = tuple[npt.NDArray[np.floating], ...]  # x1, y1, x2, y2 and area, each broadcastable


def _columns(xyxy: Boxes, where: tuple[slice | None, ...] = (slice(None),)) -> Columns:
    """Contiguous coordinate columns (indexed by `where` to broadcast) and the areas."""
    x1, y1, x2, y2 = (np.ascontiguousarray(xyxy[:, k])[where] for k in range(4))
    return x1, y1, x2, y2, (x2 - x1) * (y2 - y1)


def _iou(a: Columns, b: Columns, eps: float) -> npt.NDArray[np.floating]:
    """The IoU formula itself, once: on columns that broadcast ((N, 1) x (1, M), or one box x (K,) in nms)."""
    ax1, ay1, ax2, ay2, area_a = a
    bx1, by1, bx2, by2, area_b = b
    dtype = area_b.dtype
    w = np.maximum(np.minimum(ax2, bx2) - np.maximum(ax1, bx1), dtype.type(0))
    h = np.maximum(np.minimum(ay2, by2) - np.maximum(ay1, by1), dtype.type(0))
    inter = w * h
    # A positive intersection means a union >= it, so the floor only turns 0/0 (zero-area pairs) into 0.
    return inter / np.maximum(area_a + area_b - inter + dtype.type(eps), np.finfo(dtype).tiny)


def box_iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    """IoU of two single boxes (x1, y1, x2, y2)."""
    return float(iou_matrix(np.asarray([a], np.float64), np.asarray([b], np.float64))[0, 0])


def nms(xyxy: Boxes, scores: npt.NDArray[np.floating], iou: float) -> npt.NDArray[np.int64]:
    """Greedy NMS over all boxes. Returns indices of kept boxes, highest score first (as torchvision.ops.nms)."""
    cols = _columns(np.asarray(xyxy, dtype=_dtype(xyxy)).reshape(-1, 4))
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    while order.size:
        i = int(order[0])
        keep.append(i)
        rest = order[1:]
        order = rest[_iou(tuple(c[i] for c in cols), tuple(c[rest] for c in cols), 0.0) <= iou]
    return np.asarray(keep, dtype=np.int64)


def batched_nms(
    xyxy: Boxes, scores: npt.NDArray[np.floating], class_id: npt.NDArray[np.integer], iou: float
) -> npt.NDArray[np.int64]:
    """NMS within each class: (N, 4), (N,), (N,) -> kept indices, highest score first."""
    offset = (class_id.astype(np.int64) * MAX_WH).astype(xyxy.dtype)[:, None]
    return nms(xyxy + offset, scores, iou)


def same_class(
    iou: npt.NDArray[np.floating], a_cls: npt.NDArray[np.integer], b_cls: npt.NDArray[np.integer]
) -> npt.NDArray[np.floating]:
    """(N, M) IoU with pairs of different classes set to 0 (a_cls (N,), b_cls (M,))."""
    return iou * (a_cls[:, None] == b_cls[None, :])


def greedy_match(
    iou: npt.NDArray[np.floating],
    thresholds: npt.NDArray[np.floating] = IOU_THRESHOLDS,
    *,
    strict: bool = False,
) -> npt.NDArray[np.bool_]:
    """One-to-one matching, for each threshold: (M targets, N candidates) IoU -> (N, T) bool matched.

    Candidates (columns) in priority order (descending confidence) each claim their best unclaimed
    target; the claim holds when IoU >= threshold (`strict`: > threshold). Pass `same_class(...)`
    to match within classes only. Ties go to the lower target index. Thresholds are compared in the
    IoU's dtype, as a Python float would be (float32 IoU 0.3 is not > 0.3).
    """
    thresholds = np.asarray(thresholds, dtype=_dtype(iou)).reshape(-1)
    n_targets, n_candidates = iou.shape
    correct = np.zeros((n_candidates, len(thresholds)), dtype=bool)
    if n_targets == 0 or n_candidates == 0:
        return correct

    def passes(x: npt.NDArray[np.floating]) -> npt.NDArray[np.bool_]:
        return x > thresholds if strict else x >= thresholds

    claimed = np.zeros((n_targets, len(thresholds)), dtype=bool)
    columns = np.arange(len(thresholds))
    lowest = thresholds.min()
    for j in np.flatnonzero(((iou > lowest) if strict else (iou >= lowest)).any(0)):
        available = np.where(claimed, 0, iou[:, j, None])  # (M, T)
        k = available.argmax(0)  # best unclaimed target per threshold
        correct[j] = passes(available[k, columns])
        claimed[k, columns] |= correct[j]
    return correct
