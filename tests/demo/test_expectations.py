from pathlib import Path

import pytest

from streetwatch.demo.expectations import check, expectations_for
from streetwatch.demo.runner import _write_edge_config
from streetwatch.edge.config import EdgeConfig, load_config
from streetwatch.models.taxonomy import CLASS_NAMES

COCO_LIKE = ("person", "car", "bus", "truck", "umbrella", "dining_table")


@pytest.fixture()
def demo_config(tmp_path: Path) -> EdgeConfig:
    """The demo's own edge config (examples/demo/edge.yaml), rendered as the demo renders it."""
    path = _write_edge_config(
        tmp_path, "http://127.0.0.1:9", tmp_path / "model.onnx", tmp_path / "clips", tmp_path / "coco.onnx"
    )
    return load_config(path)


def test_demo_vending_camera_runs_its_own_model(demo_config: EdgeConfig, tmp_path: Path) -> None:
    own = {c.id: c.model for c in demo_config.cameras if c.model is not None}
    assert list(own) == ["cam-vending"]
    assert own["cam-vending"].path == tmp_path / "coco.onnx"
    assert demo_config.model_for(demo_config.cameras[0]).path == tmp_path / "model.onnx"


def test_coco_model_expects_parking_and_vending_only(demo_config: EdgeConfig) -> None:
    expected = {e.camera_id: e.cases for e in expectations_for(demo_config, COCO_LIKE, {"cam-vending": COCO_LIKE})}
    assert expected == {"cam-parking": 1, "cam-garbage": 0, "cam-vending": 1, "cam-fire": 0}


def test_street_model_with_coco_vending_expects_every_camera(demo_config: EdgeConfig) -> None:
    street = tuple(c for c in CLASS_NAMES if c not in ("umbrella", "dining_table"))
    assert all(e.cases == 1 for e in expectations_for(demo_config, street, {"cam-vending": COCO_LIKE}))


def test_vending_expectation_follows_the_vending_camera_model(demo_config: EdgeConfig) -> None:
    """The box model has every class, but the vending camera runs a model without stall proxies."""
    expected = expectations_for(demo_config, CLASS_NAMES, {"cam-vending": ("person", "car")})
    vending = next(e for e in expected if e.camera_id == "cam-vending")
    assert vending.cases == 0 and vending.reason == "model has none of dining_table, stall, umbrella"
    assert all(e.cases == 1 for e in expected if e.camera_id != "cam-vending")


def test_expected_classes_follow_the_agent_rule_config(demo_config: EdgeConfig) -> None:
    """A model with only motorcycles cannot file parking: the agent's parking rule counts car/bus/truck."""
    parking = [e for e in expectations_for(demo_config, ("motorcycle",)) if e.camera_id == "cam-parking"]
    assert parking[0].cases == 0 and parking[0].reason == "model has none of bus, car, truck"


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
def test_check_reports_missing_doubled_and_unexpected_cases(
    demo_config: EdgeConfig, filed: dict, problem: str | None
) -> None:
    problems = check(expectations_for(demo_config, COCO_LIKE, {"cam-vending": COCO_LIKE}), filed)
    if problem is None:
        assert problems == []
    else:
        assert any(problem in p for p in problems), problems
