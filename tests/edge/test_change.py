"""Unchanged-frame skipping: real frames through the change measure, scripted detector output.

Each table row is a street scene over time, sampled at the parking rule's default interval. The
"detector" column is what the network returns for that frame; the skipper decides whether it
runs. The rules must file the same cases, at the same moments, as when every frame is inferred:
skipping saves inferences, never a case.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest
from edge_builders import T0_WALL, dets, make_config, street_frame

from streetwatch.edge.camera_rules import CameraRules
from streetwatch.edge.change import FrameSkipper, SkipSettings, change_thumbnail, changed_fraction
from streetwatch.edge.events import Observation
from streetwatch.inference.detections import Detections
from streetwatch.models.taxonomy import CLASS_NAMES

INTERVAL = 10.0  # the parking rule's default sample interval
SETTINGS = SkipSettings(min_changed=0.002, pixel_delta=12, max_reuse_s=30.0)
CAR_BOX = [300.0, 230.0, 420.0, 300.0]  # in the 640x360 frame, on the curb


@dataclass(frozen=True)
class Scene:
    """What the camera sees at one moment: the street, lit or not, with or without a car."""

    car: bool = False
    night: bool = True
    car_at: tuple[int, int] = (300, 230)


def render(base: np.ndarray, scene: Scene, rng: np.random.Generator) -> np.ndarray:
    frame = base.copy()
    if scene.car:
        x, y = scene.car_at
        car = cv2.resize(base[40:140, 60:260], (120, 70))  # a real patch of another part of the street
        frame[y : y + 70, x : x + 120] = 255 - car
    if scene.night:
        frame = (frame.astype(np.float32) * 0.25).astype(np.uint8)
    # Sensor noise, fresh every frame (strong at night): the measure must not call it a change.
    noise = rng.normal(0, 6 if scene.night else 2, frame.shape)
    return np.clip(frame.astype(np.float32) + noise, 0, 255).astype(np.uint8)


def detector_output(scene: Scene) -> Detections:
    if not scene.car:
        return Detections.empty()
    x, y = scene.car_at
    return dets(("car", [x, y, x + 120.0, y + 70.0], 0.85))


def parking_rules() -> CameraRules:
    config = make_config(rules={"illegal_parking": {"dwell_s": 300, "max_gap_s": 30, "rearm_after_s": 120}})
    return CameraRules(config.cameras[0], config, CLASS_NAMES)


def play(base: np.ndarray, timeline: list[tuple[float, Scene]], skip: bool) -> tuple[list[float], list[float]]:
    """(times the detector ran, times a case was confirmed): the pipeline's skip logic, frame by frame."""
    from datetime import timedelta

    rng = np.random.default_rng(7)
    rules, skipper = parking_rules(), FrameSkipper(SETTINGS)
    inferred, cases = [], []
    for t, scene in timeline:
        frame = render(base, scene, rng)
        thumb = change_thumbnail(frame)
        reused = skipper.reuse(thumb, t) if skip else None
        if reused is None:
            detections = detector_output(scene)
            skipper.record(thumb, t, detections)
            inferred.append(t)
        else:
            detections = reused
        obs = Observation("cam-1", t, T0_WALL + timedelta(seconds=t), frame, detections)
        cases.extend(e.confirmed.t for e in rules.step(obs))
    return inferred, cases


def timeline(until: float, scene_at) -> list[tuple[float, Scene]]:  # type: ignore[no-untyped-def]
    return [(i * INTERVAL, scene_at(i * INTERVAL)) for i in range(int(until / INTERVAL) + 1)]


@pytest.fixture(scope="module")
def street(sample_images: list[Path]) -> np.ndarray:
    return street_frame(sample_images)


SCENES = {
    # A night street where nothing happens: only the forced refresh every max_reuse_s runs the network.
    "night-empty": (lambda t: Scene(), 900.0, {"cases": [], "max_inferred": 32}),
    # A car parked all night: one case, at the same moment as with every frame inferred.
    "night-parked-all-along": (lambda t: Scene(car=True), 900.0, {"cases": 1, "max_inferred": 32}),
    # Empty for 2 minutes, then a car parks during what was a skipped stretch and stays.
    "car-parks-during-skipped-stretch": (lambda t: Scene(car=t >= 125), 900.0, {"cases": 1, "max_inferred": 34}),
    # The car leaves during a skipped stretch before its dwell: no case.
    "car-leaves-before-dwell": (lambda t: Scene(car=125 <= t < 300), 900.0, {"cases": [], "max_inferred": 36}),
    # It pulls up, stops short, then moves to its final spot: the dwell clock restarts there.
    "car-moves-then-parks": (
        lambda t: Scene(car=t >= 125, car_at=(150, 230) if t < 205 else (300, 230)),
        900.0,
        {"cases": 1, "max_inferred": 36},
    ),
    # Day-time street, car parks at 3 min: the same as at night.
    "day-car-parks": (lambda t: Scene(night=False, car=t >= 185), 900.0, {"cases": 1, "max_inferred": 34}),
}


@pytest.mark.parametrize("name", list(SCENES))
def test_skipping_files_the_same_cases_with_fewer_inferences(street: np.ndarray, name: str) -> None:
    scene_at, until, expected = SCENES[name]
    frames = timeline(until, scene_at)
    all_inferred, reference_cases = play(street, frames, skip=False)
    inferred, cases = play(street, frames, skip=True)
    assert cases == reference_cases, f"{name}: skipping changed the cases: {cases} vs {reference_cases}"
    if isinstance(expected["cases"], int):
        assert len(cases) == expected["cases"]
    else:
        assert cases == expected["cases"]
    assert len(all_inferred) == len(frames)
    assert len(inferred) <= expected["max_inferred"] < len(frames), f"{name}: {len(inferred)} inferences"
    # Never more than max_reuse_s without a real inference.
    gaps = np.diff([*inferred, frames[-1][0]])
    assert gaps.max() <= SETTINGS.max_reuse_s


def test_a_car_arriving_runs_the_detector_at_once(street: np.ndarray) -> None:
    frames = timeline(300.0, lambda t: Scene(car=t >= 125))
    inferred, _ = play(street, frames, skip=True)
    assert 130.0 in inferred  # the first sample showing the car
    assert 140.0 not in inferred  # then the parked car's detections are reused


def test_a_slow_change_adds_up_against_the_last_inferred_frame(street: np.ndarray) -> None:
    """Dusk: each sample a little darker than the one before, never enough between neighbours."""
    skipper = FrameSkipper(SkipSettings(min_changed=0.002, pixel_delta=12, max_reuse_s=1e9))
    ran = []
    for i in range(40):
        frame = (street.astype(np.float32) * (1 - 0.01 * i)).astype(np.uint8)
        thumb = change_thumbnail(frame)
        if skipper.reuse(thumb, float(i)) is None:
            skipper.record(thumb, float(i), Detections.empty())
            ran.append(i)
    neighbours = changed_fraction(change_thumbnail(street), change_thumbnail((street * 0.99).astype(np.uint8)), 12)
    assert neighbours < 0.002  # one step is invisible to the measure ...
    assert len(ran) >= 3  # ... but the steps add up and the detector runs again


@pytest.mark.parametrize(
    ("first_t", "next_t", "runs"),
    [(0.0, 29.9, False), (0.0, 30.0, True), (100.0, 50.0, True)],
    ids=["within-max-reuse", "at-max-reuse", "clock-went-back"],
)
def test_reuse_is_bounded_in_time(street: np.ndarray, first_t: float, next_t: float, runs: bool) -> None:
    skipper = FrameSkipper(SETTINGS)
    thumb = change_thumbnail(street)
    assert skipper.reuse(thumb, first_t) is None  # nothing inferred yet
    skipper.record(thumb, first_t, Detections.empty())
    assert (skipper.reuse(thumb, next_t) is None) is runs


def test_a_resolution_change_counts_as_changed(street: np.ndarray) -> None:
    assert changed_fraction(change_thumbnail(street), np.zeros((10, 10), np.float32), 12) == 1.0
