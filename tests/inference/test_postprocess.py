import numpy as np

from streetwatch.inference.boxes import nms
from streetwatch.inference.postprocess import decode_end2end, decode_raw


def test_nms_suppresses_overlaps_keeps_disjoint() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60]], np.float32)
    scores = np.array([0.9, 0.8, 0.7], np.float32)
    assert nms(boxes, scores, 0.5).tolist() == [0, 2]
    assert nms(boxes, scores, 0.9).tolist() == [0, 1, 2]


def _raw(boxes_xywh: list[list[float]], scores: list[list[float]]) -> np.ndarray:
    """Build a (4 + nc, A) raw prediction."""
    return np.concatenate([np.array(boxes_xywh, np.float32).T, np.array(scores, np.float32).T], axis=0)


def test_decode_raw_is_class_aware_and_per_class_thresholded() -> None:
    pred = _raw(
        [[50, 50, 20, 20], [51, 51, 20, 20], [200, 200, 10, 10]],
        [[0.9, 0.0], [0.0, 0.8], [0.3, 0.0]],  # two overlapping boxes of different classes, one weak
    )
    out = decode_raw(pred, np.array([0.25, 0.25], np.float32), iou=0.5, max_det=300)
    assert sorted(out.class_id.tolist()) == [0, 0, 1]  # overlap across classes is not suppressed
    strict = decode_raw(pred, np.array([0.5, 0.25], np.float32), iou=0.5, max_det=300)
    assert sorted(strict.class_id.tolist()) == [0, 1]  # 0.3 < class-0 threshold 0.5
    only_1 = decode_raw(pred, np.array([0.25, 0.25], np.float32), 0.5, 300, np.array([False, True]))
    assert only_1.class_id.tolist() == [1]
    np.testing.assert_allclose(only_1.xyxy[0], [41, 41, 61, 61])


def test_decode_end2end_filters_by_threshold_and_class() -> None:
    pred = np.array([[0, 0, 10, 10, 0.9, 1], [5, 5, 9, 9, 0.2, 0], [1, 1, 3, 3, 0.6, 0]], np.float32)
    out = decode_end2end(pred, np.array([0.5, 0.5], np.float32), max_det=300)
    assert out.class_id.tolist() == [1, 0]
    assert decode_end2end(pred, np.array([0.5, 0.5], np.float32), 300, np.array([True, False])).class_id.tolist() == [0]


def test_a_score_equal_to_its_threshold_passes_in_both_layouts() -> None:
    """One comparison rule everywhere (`inference/thresholds.py`): at or above the threshold passes."""
    threshold = np.array([0.5, 0.25], np.float32)
    raw = _raw([[50, 50, 20, 20], [200, 200, 10, 10]], [[0.5, 0.0], [0.0, 0.2]])
    assert decode_raw(raw, threshold, iou=0.5, max_det=300).confidence.tolist() == [0.5]
    end2end = np.array([[0, 0, 10, 10, 0.25, 1], [5, 5, 9, 9, 0.49, 0]], np.float32)
    assert decode_end2end(end2end, threshold, max_det=300).class_id.tolist() == [1]
