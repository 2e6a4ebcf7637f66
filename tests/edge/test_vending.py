"""Vending rule v2 on scripted timelines (samples every 15 s, the vending default): stall class,
proxies with a stationary keeper, enforcement hours and allow-zones with schedules."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from edge_builders import dets, make_config, obs, zone_camera

from streetwatch.edge.camera_rules import CameraRules
from streetwatch.edge.config import RulesConfig
from streetwatch.models.taxonomy import CLASS_NAMES

WITH_STALL = CLASS_NAMES  # a release trained with `stall`
NO_STALL = tuple(c for c in CLASS_NAMES if c != "stall")  # v1-style releases: proxies stand in
UMBRELLA = [400.0, 200.0, 560.0, 300.0]
KEEPER = [450.0, 320.0, 520.0, 560.0]  # standing under it
TABLE = [380.0, 400.0, 600.0, 520.0]  # a table of goods under the umbrella, the keeper behind it
FAR_PERSON = [900.0, 320.0, 960.0, 560.0]  # across the zone, nowhere near the umbrella
FAR_TABLE = [1200.0, 400.0, 1400.0, 520.0]  # a table across the street
STALL = [380.0, 250.0, 600.0, 560.0]
# Waiting at a bus stop: a person standing still under their own umbrella, and a second one beside.
HELD_UMBRELLA = [430.0, 230.0, 540.0, 300.0]
WAITING = [455.0, 280.0, 515.0, 520.0]
HELD_UMBRELLA_2 = [560.0, 235.0, 670.0, 305.0]
WAITING_2 = [585.0, 285.0, 645.0, 525.0]
NIGHT_MARKET = {"id": "night-market", "polygon": [[300, 0], [700, 0], [700, 1000], [300, 1000]],
                "schedule": [{"start": "18:00", "end": "23:00"}], "note": "夜市"}  # fmt: skip
ELSEWHERE_MARKET = {**NIGHT_MARKET, "polygon": [[0, 0], [200, 0], [200, 1000], [0, 1000]]}


def rules_for(names: tuple[str, ...], rule: dict | None = None, allow: list | None = None, **zone: object):
    cameras = zone_camera("no_vending", rule=rule or {}, **zone)  # zone overrides of the default rule
    if allow:
        cameras[0]["allow_zones"] = allow
    config = make_config(cameras=cameras)
    return CameraRules(config.cameras[0], config, names)


def walking(t: float, speed: float = 6.0) -> list:
    """A pedestrian under an umbrella, 6 px/s (a slow walk on a 1000 px view), across and back."""
    x = (t * speed) % 800.0
    return [("umbrella", [x, 200.0, x + 160.0, 300.0], 0.8), ("person", [x + 50, 320.0, x + 120, 560.0], 0.8)]


def still(items: list, until: float = float("inf")):
    """The same detections every sample until `until` seconds (the bus comes), then nothing."""
    return lambda t: items if t < until else []


BUS = 15 * 60.0  # a long wait for a bus; the default lone-proxy stillness is 20 minutes
WAIT = [("umbrella", HELD_UMBRELLA, 0.8), ("person", WAITING, 0.8)]
WAIT_2 = [("umbrella", HELD_UMBRELLA_2, 0.8), ("person", WAITING_2, 0.8)]
UMBRELLA_STALL = [("umbrella", UMBRELLA, 0.8), ("dining_table", TABLE, 0.6), ("person", KEEPER, 0.8)]
# name: (model classes, scene(t), cases in 45 minutes, (earliest, latest) first_seen of the case)
TIMELINES = {
    "pedestrian with umbrella walking through": (NO_STALL, walking, 0, None),
    "bus stop: a person waiting 15 min under an umbrella": (NO_STALL, still(WAIT, BUS), 0, None),
    "bus stop: two people waiting 15 min under umbrellas": (NO_STALL, still(WAIT + WAIT_2, BUS), 0, None),
    "stall (umbrella over a table of goods) with its keeper": (NO_STALL, still(UMBRELLA_STALL), 1, (30, 60)),
    "table of goods with its keeper": (
        NO_STALL, still([("dining_table", TABLE, 0.6), ("person", KEEPER, 0.8)]), 1, (30, 60),
    ),
    "selling from under an umbrella all afternoon, no table": (NO_STALL, still(WAIT), 1, (1200, 1230)),
    "umbrella with a keeper for 15 min, the only table across the street": (
        NO_STALL, still([*WAIT, ("dining_table", FAR_TABLE, 0.6)], BUS), 0, None,
    ),
    "unattended umbrella and table, nobody by them": (
        NO_STALL, still([("umbrella", UMBRELLA, 0.8), ("dining_table", TABLE, 0.6)]), 0, None,
    ),
    "umbrella and table, a person far from them": (
        NO_STALL, still([("umbrella", UMBRELLA, 0.8), ("dining_table", TABLE, 0.6), ("person", FAR_PERSON, 0.8)]),
        0, None,
    ),
    "stall class on a release that has it": (WITH_STALL, still([("stall", STALL, 0.7)]), 1, (0, 15)),
    "proxies do not count once the release has stall": (WITH_STALL, still(UMBRELLA_STALL), 0, None),
    "stall with a keeper walking past it": (
        WITH_STALL, lambda t: [("stall", STALL, 0.7), *walking(t)[1:]], 1, (0, 15),
    ),
}  # fmt: skip


@pytest.mark.parametrize(("names", "scene", "cases", "first_seen"), TIMELINES.values(), ids=TIMELINES.keys())
def test_vending_timelines(names: tuple[str, ...], scene, cases: int, first_seen) -> None:
    rules = rules_for(names)
    events = []
    for k in range(181):  # 45 minutes, one sample every 15 s: one case at most (one ongoing violation)
        t = 15.0 * k
        events += rules.step(obs(t, dets(*scene(t))))
    assert len(events) == cases
    if events:
        event = events[0]
        assert event.violation.value == "occupied_lane_vending"
        assert event.standard_code == RulesConfig().occupied_lane_vending.standard_code
        assert first_seen[0] <= event.first_seen.t <= first_seen[1]
        assert event.confirmed.t - event.first_seen.t >= 120  # present two minutes
        classes = {names[int(c)] for c in event.confirmed.detections.class_id}
        assert classes <= {"stall", "umbrella", "dining_table", "person"} and classes - {"person"}


def test_keeper_must_stand_still_before_the_clock_counts() -> None:
    """The keeper arrives and stands at t=60: the presence clock starts once they have stood 30 s."""
    rules = rules_for(NO_STALL)
    events = []
    for k in range(41):
        t = 15.0 * k
        stall = [("umbrella", UMBRELLA, 0.8), ("dining_table", TABLE, 0.6)]
        scene = stall + ([("person", KEEPER, 0.8)] if t >= 60 else walking(t)[1:])
        events += [(t, e) for e in rules.step(obs(t, dets(*scene)))]
    assert len(events) == 1
    t, event = events[0]
    assert event.first_seen.t >= 60 + 30 and t >= event.first_seen.t + 120


def test_v1_settings_let_an_umbrella_count_alone() -> None:
    """v1: no keeper and every proxy enough by itself (a camera that watches where nobody waits)."""
    rules = rules_for(NO_STALL, rule={"keeper_classes": [], "proxy_alone": ["umbrella", "dining_table"]})
    events = [e for k in range(20) for e in rules.step(obs(15.0 * k, dets(("umbrella", UMBRELLA, 0.8))))]
    assert len(events) == 1


@pytest.mark.parametrize(
    ("rule", "cases"),
    [
        ({"proxy_alone": ["umbrella", "dining_table"]}, 1),  # a pitch where nobody waits: at once (v2)
        ({"lone_proxy_still_s": 300}, 1),  # a shorter lone-umbrella stillness
        ({"lone_proxy_still_s": None}, 0),  # never an umbrella alone
    ],
)
def test_a_zone_chooses_how_an_umbrella_alone_counts(rule: dict, cases: int) -> None:
    rules = rules_for(NO_STALL, rule=rule)
    scene = dets(*WAIT)
    assert len([e for k in range(41) for e in rules.step(obs(15.0 * k, scene))]) == cases  # ten minutes


def test_proxy_alone_must_name_proxy_classes() -> None:
    with pytest.raises(
        ValueError, match=r"proxy_alone must be among proxy_classes \(umbrella, dining_table\); got: car"
    ):
        rules_for(NO_STALL, rule={"proxy_alone": ["car"]})


def test_what_a_model_without_a_table_can_show() -> None:
    """Without dining_table an umbrella counts only through the long lone stillness, or never."""
    from streetwatch.edge.vending import evidence_classes

    rule = RulesConfig().occupied_lane_vending
    never_alone = rule.model_copy(update={"lone_proxy_still_s": None})
    assert evidence_classes(never_alone, ("person", "umbrella")) == []
    assert evidence_classes(rule, ("person", "umbrella")) == ["umbrella"]  # after 20 still minutes
    assert evidence_classes(rule, ("umbrella",)) == []  # nobody to be its keeper
    assert evidence_classes(rule, ("person", "umbrella", "dining_table")) == ["umbrella", "dining_table"]
    assert evidence_classes(rule, ("person", "umbrella", "stall")) == ["stall"]


def _day(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 6, 3, (hour - 8) % 24, minute, tzinfo=UTC)  # Shanghai is UTC+8


@pytest.mark.parametrize(
    ("local_start", "allow", "cases"),
    [
        ((15, 0), [NIGHT_MARKET], 1),  # afternoon: the night market is not on, the stall is a violation
        ((19, 0), [NIGHT_MARKET], 0),  # evening: inside the night market, permitted
        ((22, 50), [NIGHT_MARKET], 1),  # the market closes at 23:00: two minutes later it is a case
        ((19, 0), [ELSEWHERE_MARKET], 1),  # the night market is elsewhere in the view
        ((19, 0), [{**NIGHT_MARKET, "schedule": []}], 0),  # a marked shop-front area: always permitted
    ],
)
def test_allow_zones_with_schedules(local_start: tuple[int, int], allow: list, cases: int) -> None:
    rules = rules_for(WITH_STALL, allow=allow)
    wall0 = _day(*local_start)
    events = [e for k in range(61) for e in rules.step(obs(15.0 * k, dets(("stall", STALL, 0.7)), wall0))]
    assert len(events) == cases


@pytest.mark.parametrize(("local_start", "cases"), [((8, 0), 1), ((21, 0), 0), ((6, 50), 1)])
def test_enforcement_hours(local_start: tuple[int, int], cases: int) -> None:
    """Enforced 07:00-20:00 only: a stall from 06:50 is filed after 07:02."""
    enforce = {"schedule": {"enforce": [{"start": "07:00", "end": "20:00"}]}}
    rules = rules_for(WITH_STALL, **enforce)
    wall0 = _day(*local_start)
    events = [e for k in range(61) for e in rules.step(obs(15.0 * k, dets(("stall", STALL, 0.7)), wall0))]
    assert len(events) == cases


def test_allow_zone_ids_share_the_camera_namespace() -> None:
    cameras = zone_camera("no_vending")
    cameras[0]["allow_zones"] = [{**NIGHT_MARKET, "id": "z"}]
    with pytest.raises(ValueError, match="repeated: z"):
        make_config(cameras=cameras)
