"""Sampling by need: per-rule intervals, the camera's rate, spreading, and decoding only what is due."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from edge_builders import dets, make_config, obs, zone_camera
from videos import street_scene, write_video

from streetwatch.edge.camera_rules import CameraRules
from streetwatch.edge.config import CameraConfig, load_config
from streetwatch.edge.sampling import (
    DEFAULT_SAMPLE_INTERVAL_S,
    camera_interval,
    camera_max_reuse,
    phases,
    resolved_camera,
)
from streetwatch.edge.sources import PyAvSource, Sampler
from streetwatch.models.taxonomy import CLASS_NAMES, ViolationType

REPO = Path(__file__).resolve().parents[2]
BOX = [100.0, 100.0, 300.0, 200.0]


def test_example_config_cameras_sample_at_what_their_zones_need() -> None:
    config = load_config(REPO / "examples" / "edge.yaml")
    intervals = {c.id: camera_interval(config, c) for c in config.cameras}
    assert intervals == {
        "cam-west-gate": 10.0,  # no_parking (10 s) + garbage_watch (30 s): the faster one
        "cam-west-gate-market": 15.0,  # no_vending
        "cam-lane-7": 1.0,  # burning_watch (1 s) + no_parking
    }
    assert camera_max_reuse(config, config.cameras[2]) == 5.0  # burning's bound is the strictest


@pytest.mark.parametrize(
    ("zone", "rules", "time_scale", "expected"),
    [
        ({}, {}, 1.0, 10.0),
        ({"rule": {"sample_interval_s": 4}}, {}, 1.0, 4.0),  # a zone override
        ({}, {"illegal_parking": {"sample_interval_s": 20}}, 1.0, 20.0),  # the box-wide rule
        ({}, {}, 0.1, 1.0),  # time_scale shortens the interval with every other rule time
        ({"rule": {"sample_interval_s": 4}}, {}, 0.5, 2.0),
    ],
    ids=["default", "zone-override", "global-rule", "time-scale", "override-scaled"],
)
def test_parking_interval_defaults_and_overrides(zone: dict, rules: dict, time_scale: float, expected: float) -> None:
    config = make_config(cameras=zone_camera("no_parking", **zone), rules={"time_scale": time_scale, **rules})
    assert camera_interval(config, config.cameras[0]) == pytest.approx(expected)


def test_a_fixed_sample_fps_wins_and_zoneless_cameras_sample_each_second() -> None:
    cams = zone_camera("garbage_watch")
    config = make_config(cameras=[{**cams[0], "sample_fps": 2.0}, {**cams[0], "id": "cam-2", "zones": []}])
    assert camera_interval(config, config.cameras[0]) == 0.5
    assert camera_interval(config, config.cameras[1]) == 1.0
    assert resolved_camera(config, config.cameras[0]).sample_fps == 2.0


def test_bad_interval_override_is_a_config_error() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="sample_interval_s"):
        make_config(cameras=zone_camera("no_parking", rule={"sample_interval_s": 0}))


def test_cameras_of_one_interval_are_spread_over_it() -> None:
    spread = phases([("a", 10.0), ("b", 10.0), ("c", 10.0), ("d", 10.0), ("fire", 1.0)])
    assert [spread[k] for k in "abcd"] == [2.5, 5.0, 7.5, 10.0]
    assert spread["fire"] == 1.0


def test_sampler_phase_delays_only_the_second_sample() -> None:
    sampler = Sampler(0.1, phase_s=2.5)  # every 10 s, second sample 2.5 s after the first
    kept = [t / 2 for t in range(0, 80) if sampler.due(t / 2)]
    assert kept == [0.0, 2.5, 12.5, 22.5, 32.5]


def test_slow_sampling_skips_the_decoding_of_keyframes_it_does_not_keep(tmp_path: Path) -> None:
    video = write_video(tmp_path / "street.mp4", lambda i: street_scene(), 300, fps=10)  # 30 s, 1 s GOP
    cam = CameraConfig.model_validate(
        {**zone_camera("no_parking")[0], "source": str(video), "realtime": False, "decode": "keyframes"}
    )
    every_second = PyAvSource(cam.model_copy(update={"sample_fps": 1.0}), 5, threading.Event(), "file")
    assert len(list(every_second.frames())) == 30 and every_second.decoded == 30
    every_ten = PyAvSource(cam.model_copy(update={"sample_fps": 0.1}), 5, threading.Event(), "file")
    frames = list(every_ten.frames())
    assert len(frames) == 3
    assert every_ten.decoded == 3  # not the 30 keyframes
    assert [round(f.t - frames[0].t) for f in frames] == [0, 10, 20]


# -- the rules at their default intervals catch what they catch at 1 frame/s ---------------------------
def samples(interval: float, until: float, jitter: float = 0.0) -> list[float]:
    """Sample times on the interval's grid, each late by up to `jitter` (a busy detector)."""
    n = int(until / interval) + 1
    return [i * interval + (jitter * ((i * 7) % 5) / 4 if i else 0.0) for i in range(n)]


def run_rules(zone_type: str, timeline: list[tuple[float, list]]) -> list[float]:
    config = make_config(cameras=zone_camera(zone_type))
    rules = CameraRules(resolved_camera(config, config.cameras[0]), config, CLASS_NAMES)
    return [e.confirmed.t for t, items in timeline for e in rules.step(obs(t, dets(*items)))]


PARKED = [("car", BOX, 0.9)]


@pytest.mark.parametrize(
    ("zone_type", "violation", "present", "until", "cases", "latest_s"),
    [
        ("no_parking", ViolationType.ILLEGAL_PARKING, lambda i, t: True, 400, 1, 300 + 2 * 10 + 2),
        # A parked car missed in every third sample (a flickering detection) stays parked.
        ("no_parking", ViolationType.ILLEGAL_PARKING, lambda i, t: i % 3 != 2, 400, 1, 300 + 3 * 10 + 2),
        ("no_parking", ViolationType.ILLEGAL_PARKING, lambda i, t: t < 290, 400, 0, None),
        ("no_vending", ViolationType.OCCUPIED_LANE_VENDING, lambda i, t: True, 200, 1, 120 + 15 + 2),
        ("no_vending", ViolationType.OCCUPIED_LANE_VENDING, lambda i, t: t < 110, 200, 0, None),
        ("garbage_watch", ViolationType.EXPOSED_GARBAGE, lambda i, t: True, 700, 1, 600 + 30 + 2),
        ("garbage_watch", ViolationType.EXPOSED_GARBAGE, lambda i, t: i % 10 != 5, 700, 1, 600 + 30 + 2),
        ("garbage_watch", ViolationType.EXPOSED_GARBAGE, lambda i, t: i % 2 == 0, 700, 0, None),
        ("burning_watch", ViolationType.OPEN_BURNING, lambda i, t: t >= 5, 20, 1, 5 + 3 + 2),
        ("burning_watch", ViolationType.OPEN_BURNING, lambda i, t: i % 3 == 0, 20, 0, None),
    ],
    ids=[
        "parking",
        "parking-flicker",
        "parking-leaves-early",
        "vending",
        "vending-short",
        "garbage",
        "garbage-one-miss-in-ten",
        "garbage-half",
        "burning",
        "burning-one-in-three",
    ],
)
def test_rules_at_their_default_interval(
    zone_type: str, violation: ViolationType, present, until: float, cases: int, latest_s: float | None
) -> None:  # type: ignore[no-untyped-def]
    interval = DEFAULT_SAMPLE_INTERVAL_S[violation]
    names = {"no_parking": "car", "no_vending": "stall", "garbage_watch": "garbage", "burning_watch": "fire"}
    thing = [(names[zone_type], BOX, 0.9)]
    for jitter in (0.0, 0.9):
        times = samples(interval, until, jitter)
        at_need = run_rules(zone_type, [(t, thing if present(i, t) else []) for i, t in enumerate(times)])
        assert len(at_need) == cases, f"jitter {jitter}: {at_need}"
        if latest_s is not None:
            assert at_need[0] <= latest_s
        # The same scene at 1 frame/s (today's sampling) gives the same verdict.
        per_second = [float(t) for t in range(int(until) + 1)]
        truth = [(t, thing if present(int(t // interval), t) else []) for t in per_second]
        assert len(run_rules(zone_type, truth)) == cases
