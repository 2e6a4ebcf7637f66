import numpy as np
import pytest
from builders import mock_detections

from streetwatch.inference import Detections


def test_empty_has_typed_zero_length_arrays() -> None:
    d = Detections.empty()
    assert len(d) == 0
    assert d.xyxy.shape == (0, 4) and d.xyxy.dtype == np.float32
    assert d.class_id.dtype == np.int64


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"xyxy": np.zeros((2, 3)), "confidence": np.zeros(2), "class_id": np.zeros(2)},
            r"xyxy must have shape \(N, 4\)",
        ),
        (
            {"xyxy": np.zeros((2, 4)), "confidence": np.zeros(3), "class_id": np.zeros(2)},
            r"confidence must have shape \(2,\)",
        ),
        (
            {"xyxy": np.zeros((2, 4)), "confidence": np.zeros(2), "class_id": np.zeros(1)},
            r"class_id must have shape \(2,\)",
        ),
        ({"xyxy": [[5, 0, 1, 1]], "confidence": [0.5], "class_id": [0]}, "x1 <= x2"),
        ({"xyxy": [[0, 0, np.nan, 1]], "confidence": [0.5], "class_id": [0]}, "finite"),
        ({"xyxy": [[0, 0, 1, 1]], "confidence": [0.5], "class_id": [-1]}, "class_id must be >= 0"),
    ],
)
def test_validation_names_expected_and_actual(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Detections(**kwargs)


def test_mask_filtering_does_not_touch_the_original() -> None:
    d = mock_detections([[0, 0, 10, 10], [5, 5, 20, 20], [1, 1, 2, 2]], class_id=[0, 1, 2], confidence=[0.9, 0.4, 0.7])
    kept = d[d.confidence > 0.5]
    assert len(kept) == 2
    assert kept.class_id.tolist() == [0, 2]
    assert len(d) == 3
    with pytest.raises(ValueError, match=r"boolean mask must have shape \(3,\)"):
        d[np.array([True, False])]


def test_anchors_bottom_center_default() -> None:
    d = mock_detections([[0, 0, 10, 20]])
    assert d.anchors().tolist() == [[5.0, 20.0]]
    assert d.anchors("center").tolist() == [[5.0, 10.0]]
