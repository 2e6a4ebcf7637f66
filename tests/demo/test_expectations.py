import pytest

from streetwatch.demo.expectations import check, expectations_for
from streetwatch.models.taxonomy import CLASS_NAMES

COCO_LIKE = ("person", "car", "bus", "truck", "umbrella", "dining_table")


def test_coco_model_expects_parking_and_vending_only() -> None:
    expected = {e.camera_id: e.cases for e in expectations_for(COCO_LIKE)}
    assert expected == {"cam-parking": 1, "cam-garbage": 0, "cam-vending": 1, "cam-fire": 0}


def test_taxonomy_model_expects_every_camera() -> None:
    assert all(e.cases == 1 for e in expectations_for(CLASS_NAMES))


@pytest.mark.parametrize(
    ("filed", "problem"),
    [
        ({("cam-parking", "illegal_parking"): 1, ("cam-vending", "occupied_lane_vending"): 1}, None),
        ({("cam-vending", "occupied_lane_vending"): 1}, "cam-parking: expected 1 illegal_parking case(s)"),
        (
            {("cam-parking", "illegal_parking"): 2, ("cam-vending", "occupied_lane_vending"): 1},
            "cam-parking: expected 1 illegal_parking case(s) (model sees bus, car, truck), got 2",
        ),
        (
            {
                ("cam-parking", "illegal_parking"): 1,
                ("cam-vending", "occupied_lane_vending"): 1,
                ("cam-fire", "illegal_parking"): 1,
            },
            "cam-fire: unexpected 1 illegal_parking case(s)",
        ),
    ],
)
def test_check_reports_missing_doubled_and_unexpected_cases(filed: dict, problem: str | None) -> None:
    problems = check(expectations_for(COCO_LIKE), filed)
    if problem is None:
        assert problems == []
    else:
        assert any(problem in p for p in problems), problems
