"""`streetwatch bench edge` runs the agent's own config for both paths and compares their cases."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from streetwatch.benchmarks.bench_edge import Camera, Trial, lateness, missed_cases, scene_frame, setup, trial_seconds
from streetwatch.edge.pipeline import Judged


def _args() -> argparse.Namespace:
    return argparse.Namespace(static_share=1 / 3, model_path=Path("model.onnx"), threads=2, evidence_queue_mb=None)


def _url(clip: str, i: int) -> str:
    return f"http://127.0.0.1:9/{clip}/{i}.ts"


def test_today_and_new_are_the_agents_config_for_each_path(tmp_path: Path) -> None:
    today = setup(9, False, _args(), _url, tmp_path / "a", "onnxruntime")
    new = setup(9, True, _args(), _url, tmp_path / "b", "openvino")
    assert [c.interval_s for c in today.cameras] == [1.0] * 9
    assert not today.config.sampling.skip_unchanged and new.config.sampling.skip_unchanged  # type: ignore[attr-defined]
    # By need: parking + garbage 10 s, vending 15 s, burning + parking 1 s (edge/sampling.py defaults).
    assert [c.interval_s for c in new.cameras[:3]] == [10.0, 15.0, 1.0]
    assert [c.scene for c in new.cameras] == ["moving"] * 6 + ["static"] * 3
    assert new.cameras[2].violations == ("open_burning", "illegal_parking")
    assert new.config.model.runtime == "openvino" and today.config.model.runtime == "onnxruntime"  # type: ignore[attr-defined]


def test_each_view_shows_what_its_rules_judge() -> None:
    for view in range(3):
        frame = scene_frame(view)
        assert frame.shape == (1080, 1920, 3)


def _trial(cases: dict[tuple[str, str, str], int]) -> Trial:
    return Trial(
        n=3, p95_over=0.5, judged_share=1.0, read_rate=25.0, inferred=1, skipped=0, measured_s=1.0, cases=cases
    )


@pytest.mark.parametrize(
    ("today", "new", "missed"),
    [
        ({("c0", "z0", "open_burning"): 1}, {("c0", "z0", "open_burning"): 1}, []),
        ({("c0", "z0", "open_burning"): 1}, {}, [("c0", "z0", "open_burning")]),
        ({}, {("c1", "z1", "illegal_parking"): 1}, []),  # a case only the new path filed is no miss
        ({("c0", "z0", "open_burning"): 2}, {("c0", "z0", "open_burning"): 1}, []),
    ],
)
def test_a_case_today_confirmed_and_new_did_not_is_a_miss(
    today: dict[tuple[str, str, str], int], new: dict[tuple[str, str, str], int], missed: list[tuple[str, str, str]]
) -> None:
    assert missed_cases(_trial(today), _trial(new)) == missed


def test_the_new_path_may_run_another_model_file(tmp_path: Path) -> None:
    new = setup(3, True, _args(), _url, tmp_path / "c", "auto", Path("/releases/x/x-int8.xml"))
    assert str(new.config.model.path).endswith("x-int8.xml")  # type: ignore[attr-defined]
    assert str(setup(3, False, _args(), _url, tmp_path / "d", "onnxruntime").config.model.path).endswith("model.onnx")  # type: ignore[attr-defined]


def _camera(camera_id: str, interval_s: float) -> Camera:
    return Camera(camera_id, "moving", ("no_parking",), interval_s, ("illegal_parking",))


def _judged(camera_id: str, captured: float, decided: float, events: int = 0) -> Judged:
    return Judged(camera_id, captured, decided, True, tuple(object() for _ in range(events)))  # type: ignore[misc]


def test_lateness_measures_each_decision_against_the_previous_capture_and_names_the_latest() -> None:
    slow, fast = _camera("slow", 10.0), _camera("fast", 1.0)
    judged = [
        _judged("slow", 0.0, 0.2),  # before the window: only the base of the next one
        _judged("slow", 10.0, 10.3),
        _judged("slow", 20.0, 23.5, events=1),  # a confirming frame that took 3.5 s
        _judged("fast", 19.0, 19.1),
        _judged("fast", 20.0, 20.2),
    ]
    late, shares = lateness(judged, [slow, fast], start=5.0, end=25.0)
    assert [round(entry.over_s, 2) for entry in late if entry.camera_id == "slow"] == [0.3, 3.5]
    worst = max(late, key=lambda entry: entry.over_s)
    assert (worst.camera_id, round(worst.latency_s, 2), worst.confirmed) == ("slow", 3.5, True)
    # slow: 2 judged of the 2 its interval asks in 20 s; fast: 2 of 20.
    assert shares == [1.0, 0.1]


def test_a_trial_measures_eight_of_the_slowest_intervals_unless_told() -> None:
    args = argparse.Namespace(trial_s=None, measured_intervals=8.0)
    assert trial_seconds(args, 15.0) == 135.0
    args.trial_s = 60.0
    assert trial_seconds(args, 15.0) == 60.0
