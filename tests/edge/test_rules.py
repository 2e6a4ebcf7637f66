"""Rule logic on scripted detection timelines: time is what the table says, nothing sleeps."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from edge_builders import T0_WALL, dets, make_config, obs, zone_camera

from streetwatch.edge.camera_rules import CameraRules
from streetwatch.models.taxonomy import CLASS_NAMES, ViolationType

CAR = [100.0, 100.0, 300.0, 200.0]
CAR_SHIFTED = [104.0, 101.0, 304.0, 201.0]  # sampling jitter of a parked car's box
ELSEWHERE = [600.0, 600.0, 800.0, 700.0]


def run(rules: CameraRules, timeline: list[tuple[float, list]], wall0: datetime = T0_WALL) -> list:
    events = []
    for t, items in timeline:
        for e in rules.step(obs(t, dets(*items), wall0)):
            events.append((t, e))
    return events


def parking(**rule: object) -> CameraRules:
    config = make_config(rules={"illegal_parking": {"dwell_s": 300, "max_gap_s": 30, "rearm_after_s": 120, **rule}})
    return CameraRules(config.cameras[0], config, CLASS_NAMES)


def every(seconds: float, until: float, start: float = 0.0) -> list[float]:
    n = round((until - start) / seconds)
    return [start + i * seconds for i in range(n + 1)]


@pytest.mark.parametrize(
    ("last_t", "expected_cases"),
    [(298.0, 0), (299.0, 0), (301.0, 1), (302.0, 1), (900.0, 1)],
    ids=["dwell-2s-short", "dwell-1s-short", "dwell-1s-over", "dwell-2s-over", "stays-long-one-case"],
)
def test_parking_dwell_just_under_and_over(last_t: float, expected_cases: int) -> None:
    # Track confirmed at t=1 (min_hits=2), so the dwell clock starts at 1 s.
    timeline = [(t, [("car", CAR if i % 2 else CAR_SHIFTED, 0.9)]) for i, t in enumerate(every(1.0, last_t))]
    events = run(parking(), timeline)
    assert len(events) == expected_cases
    if events:
        t, event = events[0]
        assert event.violation is ViolationType.ILLEGAL_PARKING
        assert event.standard_code == "05-05"
        assert t == pytest.approx(301.0)
        assert event.confirmed.t - event.first_seen.t >= 300


def test_dwell_is_monotonic_time_not_frame_count() -> None:
    # A handful of samples 25 s apart (under max_gap_s): the 300 s dwell is met on the clock.
    times = [0.0, 1.0, *every(25.0, 300.0, start=25.0), 302.0]
    assert len(times) < 20
    assert len(run(parking(), [(t, [("car", CAR, 0.9)]) for t in times])) == 1
    assert run(parking(), [(t, [("car", CAR, 0.9)]) for t in times[:-2]]) == []


@pytest.mark.parametrize(
    ("gap", "expected_cases"),
    [(20.0, 1), (29.0, 1), (31.0, 0), (60.0, 0)],
    ids=["gap-20s-kept", "gap-29s-kept", "gap-31s-restart", "gap-60s-restart"],
)
def test_occlusion_gap(gap: float, expected_cases: int) -> None:
    """A bus passes in front of the car: within max_gap_s the dwell clock keeps running."""
    before = [(t, [("car", CAR, 0.9)]) for t in every(1.0, 150.0)]
    after = [(t, [("car", CAR, 0.9)]) for t in every(1.0, 302.0, start=150.0 + gap)]
    assert len(run(parking(), before + after)) == expected_cases


def test_id_switch_does_not_file_twice_nor_reset_the_clock() -> None:
    rules = parking()
    events = []
    for t in every(1.0, 900.0):
        if int(t) in (200, 500):  # the tracker loses the car for a while: it comes back with a new id
            rules.tracker.tracks.clear()
        events += rules.step(obs(t, dets(("car", CAR, 0.9))))
    assert len(events) == 1
    assert events[0].confirmed.t == pytest.approx(301.0)


# Car B parks beside car A, boxes overlapping at IoU 0.43, scoring higher (as a reported field case).
CAR_B = [180.0, 100.0, 380.0, 200.0]


def _adjacent(t: float, b_from: float, a_missing: tuple[float, float], b_first: bool) -> list:
    """Detections at t: car A from 0 (but not during `a_missing`), car B from `b_from`."""
    a = [] if a_missing[0] <= t < a_missing[1] else [("car", CAR, 0.80)]
    b = [("car", CAR_B, 0.95)] if t >= b_from else []
    return b + a if b_first else a + b


@pytest.mark.parametrize(
    ("b_from", "a_missing", "b_first"),
    [
        (400.0, (0.0, 0.0), True),  # A filed at 301; B arrives at 400, listed first (the higher score)
        (400.0, (0.0, 0.0), False),
        (400.0, (400.0, 402.0), True),  # A unseen as B arrives: the tracker hands A's id to B
        (400.0, (399.0, 401.0), False),
        (100.0, (0.0, 0.0), True),  # B arrives while A's dwell clock still runs
        (100.0, (100.0, 101.0), True),
    ],
    ids=[
        "b-later-b-first",
        "b-later-a-first",
        "a-unseen-2s-as-b-comes",
        "a-unseen-as-b-comes",
        "b-during-dwell",
        "b-during-dwell-a-unseen",
    ],
)
def test_a_car_parking_beside_a_filed_one_is_its_own_case(
    b_from: float, a_missing: tuple[float, float], b_first: bool
) -> None:
    timeline = [(t, _adjacent(t, b_from, a_missing, b_first)) for t in every(1.0, 1200.0)]
    events = run(parking(), timeline)
    boxes = [list(map(float, e.confirmed.detections.xyxy[0])) for _, e in events]
    assert sorted(boxes) == sorted([CAR, CAR_B]), f"one case per car expected, got cases for {boxes}"
    (t_a, _), (t_b, _) = sorted(events, key=lambda te: float(te[1].confirmed.detections.xyxy[0][0]))
    assert t_a >= 301.0 and t_b >= b_from + 300.0  # each car on its own dwell clock
    if b_from > 301.0:
        assert t_a == pytest.approx(301.0)


def test_moving_car_is_not_parked() -> None:
    timeline = [(t, [("car", [100 + 40 * t, 100, 300 + 40 * t, 200], 0.9)]) for t in every(1.0, 20.0)]
    timeline += [(t, [("car", [100 + 40 * (t % 20), 100, 300 + 40 * (t % 20), 200], 0.9)]) for t in every(1.0, 40)]
    assert run(parking(dwell_s=10), timeline) == []


@pytest.mark.parametrize(
    ("absence", "expected_cases"),
    [(60.0, 1), (119.0, 1), (121.0, 2), (300.0, 2)],
    ids=["absent-60s-same-case", "absent-119s-same-case", "absent-121s-rearmed", "absent-300s-rearmed"],
)
def test_rearm_after_absence(absence: float, expected_cases: int) -> None:
    rules = parking(max_gap_s=200)  # an unconfirmed car may vanish for 200 s; a filed one re-arms at 120 s
    first = [(t, [("car", CAR, 0.9)]) for t in every(1.0, 400.0)]
    second = [(t, [("car", CAR, 0.9)]) for t in every(1.0, 400.0 + absence + 400.0, start=400.0 + absence)]
    assert len(run(rules, first + second)) == expected_cases


@pytest.mark.parametrize(
    ("cooldown", "expected_cases"),
    [(0.0, 2), (100.0, 2), (1000.0, 1)],
)
def test_cooldown_between_cases_in_a_zone(cooldown: float, expected_cases: int) -> None:
    rules = parking(cooldown_s=cooldown, dwell_s=60)
    # Car A parks and is filed at ~61 s; car B arrives at 200 s elsewhere in the zone and is due at ~261 s.
    timeline = [(t, [("car", CAR, 0.9)] + ([("car", ELSEWHERE, 0.9)] if t >= 200 else [])) for t in every(1.0, 500.0)]
    assert len(run(rules, timeline)) == expected_cases


@pytest.mark.parametrize(
    ("time_scale", "last_t", "expected_cases"),
    [(1.0, 40.0, 0), (0.1, 29.0, 0), (0.1, 32.0, 1)],
)
def test_time_scale_shortens_every_rule_time(time_scale: float, last_t: float, expected_cases: int) -> None:
    config = make_config(rules={"time_scale": time_scale})
    rules = CameraRules(config.cameras[0], config, CLASS_NAMES)
    assert len(run(rules, [(t, [("car", CAR, 0.9)]) for t in every(1.0, last_t)])) == expected_cases


def test_classes_the_model_lacks_never_fire() -> None:
    config = make_config(cameras=zone_camera("garbage_watch"))
    coco_names = CLASS_NAMES[:8]
    rules = CameraRules(config.cameras[0], config, coco_names)
    assert not rules.zone_rules[0].can_fire
    timeline = [(t, [("person", CAR, 0.9)]) for t in every(1.0, 2000.0)]
    assert run(rules, timeline) == []


# -- presence rules ---------------------------------------------------------------------------------
def presence(zone_type: str, **zone: object) -> CameraRules:
    config = make_config(cameras=zone_camera(zone_type, **zone))
    return CameraRules(config.cameras[0], config, CLASS_NAMES)


@pytest.mark.parametrize(
    ("pattern", "expected_cases"),
    [
        ("11111", 1),
        ("11100", 1),
        ("10101", 1),
        ("11000", 0),
        ("10010", 0),
        ("00000", 0),
    ],
)
def test_open_burning_three_of_last_five(pattern: str, expected_cases: int) -> None:
    rules = presence("burning_watch")
    fire = [("fire", CAR, 0.8)]
    timeline = [(float(i), fire if c == "1" else []) for i, c in enumerate(pattern)]
    events = run(rules, timeline)
    assert len(events) == expected_cases
    if events:
        assert events[0][1].urgent is True
        assert events[0][1].violation is ViolationType.OPEN_BURNING
        assert events[0][0] <= 4.0  # confirmed within seconds of the third sighting


@pytest.mark.parametrize(
    ("present_share", "expected_cases"),
    [(1.0, 1), (0.85, 1), (0.75, 0), (0.5, 0)],
)
def test_garbage_presence_ratio(present_share: float, expected_cases: int) -> None:
    rules = presence("garbage_watch")
    period = 20
    timeline = []
    for i, t in enumerate(every(1.0, 700.0)):
        visible = (i % period) < round(present_share * period)
        timeline.append((t, [("garbage", CAR, 0.7)] if visible else []))
    assert len(run(rules, timeline)) == expected_cases


@pytest.mark.parametrize(
    ("minutes_present", "expected_cases"),
    [(1.9, 0), (2.1, 1)],
)
def test_vending_needs_two_minutes(minutes_present: float, expected_cases: int) -> None:
    rules = presence("no_vending")  # the model has `stall`: a stall box is the evidence
    timeline = [(t, [("stall", CAR, 0.7)]) for t in every(1.0, minutes_present * 60)]
    assert len(run(rules, timeline)) == expected_cases


NIGHT_MARKET = {"schedule": {"allow": [{"start": "18:00", "end": "23:00"}]}}


@pytest.mark.parametrize(
    ("local_start", "expected_cases"),
    [
        ("17:59", 0),  # becomes allowed at 18:00 before two minutes have passed
        ("17:40", 1),  # two minutes met at 17:42
        ("18:00", 0),
        ("22:59", 1),  # from 23:00 it is a violation again: filed at 23:02
        ("22:55", 1),
        ("20:00", 0),
    ],
)
def test_night_market_allowed_18_to_23(local_start: str, expected_cases: int) -> None:
    rules = presence("no_vending", **NIGHT_MARKET)
    hours, minutes = (int(p) for p in local_start.split(":"))
    # Shanghai is UTC+8: local 17:50 = 09:50 UTC.
    wall0 = datetime(2026, 6, 3, (hours - 8) % 24, minutes, tzinfo=UTC)
    timeline = [(t, [("stall", CAR, 0.7)]) for t in every(2.0, 600.0)]
    assert len(run(rules, timeline, wall0)) == expected_cases


def test_min_confidence_and_the_tracker_use_the_same_threshold_rule() -> None:
    """A car scoring exactly the rule's min_confidence (and the tracker's start threshold) counts."""
    exact = parking(min_confidence=0.5)
    assert exact.tracker.high_conf == 0.5
    assert len(run(exact, [(t, [("car", CAR, 0.5)]) for t in every(1.0, 302.0)])) == 1
    above = parking(min_confidence=0.51)
    assert run(above, [(t, [("car", CAR, 0.5)]) for t in every(1.0, 302.0)]) == []


def test_a_zone_wholly_outside_the_live_picture_is_reported_as_unable_to_fire(caplog: pytest.LogCaptureFixture) -> None:
    import numpy as np

    from streetwatch.edge.events import Observation

    camera = zone_camera("no_parking")[0]
    camera["zones"] = [
        {"id": "curb", "type": "no_parking", "polygon": [[0, 200], [640, 200], [640, 360], [0, 360]]},
        {"id": "beyond", "type": "no_parking", "polygon": [[1300, 0], [1900, 0], [1900, 700]]},  # drawn for 1080p
    ]
    camera["frame_size"] = [1920, 1080]  # what the installer believed
    config = make_config(cameras=[camera])  # valid: at 1920x1080 both zones are in the picture
    rules = CameraRules(config.cameras[0], config, CLASS_NAMES)
    assert [z.in_view for z in rules.zone_rules] == [True, True]  # nothing is known before a frame
    frame = np.zeros((360, 640, 3), dtype=np.uint8)  # the camera actually sends 640x360
    with caplog.at_level("WARNING", logger="streetwatch.edge.camera_rules"):
        for t in (0.0, 1.0):
            rules.step(Observation("cam-1", t, T0_WALL, frame, dets(("car", CAR, 0.9))))
    assert [z.in_view for z in rules.zone_rules] == [True, False]
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 2  # once, not per frame
    assert "the picture is 640x360, the config's frame_size says 1920x1080" in warnings[0]
    assert "zone beyond: the polygon lies wholly outside the 640x360 picture" in warnings[1]


def test_a_parked_car_is_kept_in_views_spread_over_its_dwell() -> None:
    """Crops of the vehicle at 1/4, 2/4 and 3/4 of the dwell go with the case (more chances to read
    its plate); a car that drives on starts over with none."""
    import numpy as np

    from streetwatch.edge.events import Observation
    from streetwatch.edge.rules import MAX_VIEWS

    rules = parking()
    frames = {}
    events = []
    for t in every(5.0, 305.0):
        frame = np.full((400, 400, 3), int(t) % 251, dtype=np.uint8)  # (H, W, 3): each time its own grey
        frames[t] = frame
        observation = Observation("cam-1", t, T0_WALL, frame, dets(("car", CAR, 0.9)))
        events += rules.step(observation)
    [event] = events
    assert len(event.views) == MAX_VIEWS == 3
    dwell_start = event.first_seen.t
    greys = [int(view.crop[0, 0, 0]) for view in event.views]
    expected = [int(min(t for t in frames if t >= dwell_start + 300 * k / 4)) % 251 for k in (1, 2, 3)]
    assert greys == expected
    assert all(view.crop.shape == (100, 200, 3) for view in event.views)  # the car's box, not the frame
