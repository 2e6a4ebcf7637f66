"""The box toolkit: IoU, NMS and one-to-one matching, as tables of cases with the edge cases spelled out."""

from __future__ import annotations

import numpy as np
import pytest

from streetwatch.inference.boxes import (
    IOU_THRESHOLDS,
    MAX_WH,
    ULTRALYTICS_EPS,
    batched_nms,
    box_iou,
    greedy_match,
    iou_matrix,
    nms,
    same_class,
)


def _b(*rows: tuple[float, float, float, float]) -> np.ndarray:
    return np.asarray(rows, dtype=np.float32).reshape(-1, 4)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ((0, 0, 10, 10), (0, 0, 10, 10), 1.0),  # identical
        ((0, 0, 10, 10), (5, 0, 15, 10), 50 / 150),  # half overlap
        ((0, 0, 10, 10), (10, 0, 20, 10), 0.0),  # touching edges
        ((0, 0, 10, 10), (20, 20, 30, 30), 0.0),  # disjoint
        ((0, 0, 10, 10), (2, 2, 8, 8), 36 / 100),  # contained
        ((0, 0, 10, 10), (0, 0, 10, 11), 100 / 110),
        ((5, 5, 5, 5), (5, 5, 5, 5), 0.0),  # two zero-area boxes: 0, not NaN
        ((0, 0, 10, 10), (5, 5, 5, 5), 0.0),  # a point inside a box
        ((0, 0, 10, 0), (0, 0, 10, 10), 0.0),  # a zero-height line
    ],
)
def test_iou_table(a: tuple, b: tuple, expected: float) -> None:
    assert iou_matrix(_b(a), _b(b))[0, 0] == pytest.approx(expected, abs=1e-6)
    assert iou_matrix(_b(b), _b(a))[0, 0] == pytest.approx(expected, abs=1e-6)  # symmetric
    assert box_iou(a, b) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(("n", "m"), [(0, 0), (0, 3), (2, 0)])
def test_iou_of_empty_arrays_has_the_right_shape(n: int, m: int) -> None:
    out = iou_matrix(np.zeros((n, 4), np.float32), np.ones((m, 4), np.float32))
    assert out.shape == (n, m)


def test_iou_matrix_shape_dtype_and_eps() -> None:
    a = _b((0, 0, 10, 10), (0, 0, 20, 20))
    b = _b((0, 0, 10, 10), (100, 100, 110, 110), (0, 0, 5, 5))
    out = iou_matrix(a, b)
    assert out.shape == (2, 3) and out.dtype == np.float32  # float32 in, float32 out (the edge's arrays)
    np.testing.assert_allclose(out, [[1.0, 0.0, 0.25], [0.25, 0.0, 0.0625]], atol=1e-6)
    exact = iou_matrix(a.astype(np.float64), b.astype(np.float64))
    assert exact.dtype == np.float64 and exact[0, 0] == 1.0
    # ultralytics' eps on the union: just below 1 for identical boxes, the way `yolo val` counts.
    assert iou_matrix(a.astype(np.float64), b.astype(np.float64), ULTRALYTICS_EPS)[0, 0] == 100 / (100 + 1e-7)


@pytest.mark.parametrize(
    ("boxes", "scores", "iou", "kept"),
    [
        ([(0, 0, 10, 10), (1, 1, 11, 11), (50, 50, 60, 60)], [0.9, 0.8, 0.7], 0.5, [0, 2]),
        ([(0, 0, 10, 10), (1, 1, 11, 11), (50, 50, 60, 60)], [0.9, 0.8, 0.7], 0.9, [0, 1, 2]),
        ([(0, 0, 10, 10), (1, 1, 11, 11)], [0.5, 0.9], 0.5, [1]),  # the higher score stays
        ([(0, 0, 10, 10), (0, 0, 10, 10)], [0.7, 0.7], 0.5, [0]),  # a tie keeps the first
        ([(0, 0, 10, 10), (5, 0, 15, 10)], [0.9, 0.8], 50 / 150, [0, 1]),  # IoU equal to the threshold stays
        ([(3, 3, 3, 3), (3, 3, 3, 3)], [0.9, 0.8], 0.5, [0, 1]),  # zero-area boxes never suppress
        ([], [], 0.5, []),
    ],
)
def test_nms_table(boxes: list, scores: list, iou: float, kept: list[int]) -> None:
    out = nms(_b(*boxes), np.asarray(scores, np.float32), iou)
    assert out.dtype == np.int64 and out.tolist() == kept


def test_batched_nms_keeps_overlapping_boxes_of_other_classes() -> None:
    boxes = _b((0, 0, 10, 10), (1, 1, 11, 11), (1, 1, 11, 11))
    scores = np.asarray([0.9, 0.8, 0.7], np.float32)
    assert batched_nms(boxes, scores, np.asarray([0, 1, 0]), 0.5).tolist() == [0, 1]
    assert nms(boxes, scores, 0.5).tolist() == [0]  # class-blind, for contrast
    # The offset only separates: the boxes handed back are untouched, far classes still work.
    assert batched_nms(boxes, scores, np.asarray([0, 79, 79]), 0.5).tolist() == [0, 1]
    assert MAX_WH == 7680


def test_greedy_match_one_to_one_in_priority_order() -> None:
    targets = _b((0, 0, 10, 10), (20, 0, 30, 10))
    candidates = _b((0, 0, 10, 10), (0, 0, 10, 11), (20, 0, 30, 10))  # two claim target 0
    iou = iou_matrix(targets, candidates)  # (M, N)
    out = greedy_match(iou, np.asarray([0.5]))
    assert out[:, 0].tolist() == [True, False, True]  # the second finds target 0 taken


def test_greedy_match_per_threshold_and_strictness() -> None:
    iou = np.asarray([[0.5], [0.0]])  # one candidate at IoU exactly 0.5 with target 0
    assert greedy_match(iou, np.asarray([0.5]))[0].tolist() == [True]  # >= (ultralytics)
    assert greedy_match(iou, np.asarray([0.5]), strict=True)[0].tolist() == [False]  # > (teacher parity)
    per_t = greedy_match(np.asarray([[0.72]]), IOU_THRESHOLDS)[0]
    assert per_t.tolist() == [t <= 0.72 for t in IOU_THRESHOLDS]


def test_greedy_match_claims_per_threshold_independently() -> None:
    # Candidate 0 overlaps target 0 at 0.6 and target 1 at 0.9; candidate 1 overlaps target 1 at 0.8.
    # At t=0.5 candidate 0 takes target 1 (its best), leaving candidate 1 unmatched; at t=0.85 candidate 1
    # cannot match anything either: ultralytics' policy, not a global optimum.
    iou = np.asarray([[0.6, 0.0], [0.9, 0.8]])
    assert greedy_match(iou, np.asarray([0.5, 0.85])).tolist() == [[True, True], [False, False]]


def test_same_class_masks_other_classes() -> None:
    iou = np.ones((2, 3))
    out = same_class(iou, np.asarray([0, 1]), np.asarray([1, 1, 0]))
    assert out.tolist() == [[0, 0, 1], [1, 1, 0]]
    assert not greedy_match(same_class(np.asarray([[1.0]]), np.asarray([0]), np.asarray([1])), np.asarray([0.5])).any()


@pytest.mark.parametrize(("m", "n"), [(0, 0), (0, 2), (3, 0)])
def test_greedy_match_of_nothing(m: int, n: int) -> None:
    out = greedy_match(np.zeros((m, n)), IOU_THRESHOLDS)
    assert out.shape == (n, len(IOU_THRESHOLDS)) and not out.any()
