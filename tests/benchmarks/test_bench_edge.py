"""`streetwatch bench edge` runs the agent's own config for both paths and compares their cases."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from streetwatch.benchmarks.bench_edge import Trial, missed_cases, scene_frame, setup


def _args() -> argparse.Namespace:
    return argparse.Namespace(static_share=1 / 3, model_path=Path("model.onnx"), threads=2)


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
