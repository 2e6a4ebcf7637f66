"""Config checking: every mistake is reported with the line it is on; warnings for rules that cannot fire."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from edge_builders import config_dict

from streetwatch.edge.checks import warnings_for
from streetwatch.edge.config import EdgeConfig, load_config, parse_config
from streetwatch.errors import ConfigError
from streetwatch.models.taxonomy import CLASS_NAMES

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "edge.yaml"

GOOD = """\
device:
  id: box-1
  token_env: EDGE_TOKEN
  case_service_url: http://127.0.0.1:8000
model:
  path: model.onnx
storage:
  root: state
cameras:
  - id: cam-1
    source: clip.mp4
    location: {lat: 31.2, lon: 121.5, address: 1 Nanjing Rd}
    zones:
      - id: curb
        type: no_parking
        polygon: [[0, 0], [100, 0], [100, 100]]
"""


def with_line(line_no: int, new: str) -> str:
    lines = GOOD.splitlines()
    lines[line_no - 1] = new
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (with_line(2, "  id: box 1"), r"line 2: device\.id: String should match pattern"),
        (with_line(3, "  token_env: EDGE_TOKEN\n  token: abcdefgh123"), r"line \d: device: .*exactly one of token"),
        (with_line(4, "  case_service_url: ftp://x"), r"line 4: device\.case_service_url"),
        (with_line(6, "  path: model.onnx\n  colour: red"), r"line 7: model\.colour: Extra inputs are not permitted"),
        (with_line(12, "    location: {lat: 95, lon: 121.5}"), r"line 12: cameras\[0\]\.location\.lat"),
        (with_line(15, "        type: no_smoking"), r"line 15: cameras\[0\]\.zones\[0\]\.type: Input should be"),
        (with_line(16, "        polygon: [[0, 0], [100, 0]]"), r"line 16: .*polygon: .*at least 3 points"),
        (with_line(16, "        polygon: [[0, 0], [50, 50], [100, 100]]"), r"line 16: .*no area"),
        (
            GOOD + "        rule: {dwell_s: -5}\n",
            r"line 17: cameras\[0\]\.zones\[0\]\.rule\.dwell_s: Input should be greater than or equal to 0",
        ),
        (
            GOOD + "        schedule: {allow: [{start: '18:00', end: '25:00'}]}\n",
            r"line 17: cameras\[0\]\.zones\[0\]\.schedule\.allow\[0\]\.end: .*expected HH:MM",
        ),
        (
            GOOD + "rules: {illegal_parking: {classes: [car, tank]}}\n",
            r"line 17: rules\.illegal_parking\.classes.*'tank'",
        ),
        (GOOD + "calendar: {timezone: Mars/Olympus}\n", r"line 17: calendar\.timezone: .*unknown IANA"),
        (GOOD.replace("storage:\n  root: state\n", ""), r"line 1: storage: Field required"),
        (GOOD + "  - id: cam-1\n    source: b.mp4\n    location: {lat: 1, lon: 1}\n", r"line 10: cameras: .*unique"),
        ("device: [unclosed\n", r"line 2, column 1: invalid YAML"),
    ],
)
def test_errors_name_the_line(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config(text, source="edge.yaml")


def test_good_config_resolves_paths_relative_to_the_file(tmp_path: Path) -> None:
    path = tmp_path / "edge.yaml"
    path.write_text(GOOD)
    config = load_config(path)
    assert config.model.path == tmp_path / "model.onnx"
    assert config.storage.root == tmp_path / "state"
    assert config.cameras[0].source == str(tmp_path / "clip.mp4")
    assert config.rules.illegal_parking.dwell_s == 300


def test_a_camera_model_is_resolved_and_checked_against_its_own_classes(tmp_path: Path) -> None:
    data = yaml.safe_load(GOOD)
    data["cameras"][0]["model"] = {"path": "coco.onnx", "conf": 0.4, "class_conf": {"dining_table": 0.6}}
    data["cameras"][0]["zones"].append({"id": "stall", "type": "no_vending", "polygon": [[0, 0], [10, 0], [10, 10]]})
    path = tmp_path / "edge.yaml"
    path.write_text(yaml.safe_dump(data))
    config = load_config(path)
    camera = config.cameras[0]
    assert config.model_for(camera).path == tmp_path / "coco.onnx" and config.model_for(camera).conf == 0.4
    street = tuple(c for c in CLASS_NAMES if c not in ("umbrella", "dining_table", "stall"))
    coco = (*CLASS_NAMES[:8], "traffic light")
    # Judged by the box model, the vending zone could never fire; by the camera's own model it can.
    assert "zone stall (no_vending): the model has none of stall, umbrella (with a stationary person)" in "\n".join(
        warnings_for(config.model_copy(update={"cameras": [camera.model_copy(update={"model": None})]}), street)
    )
    warnings = "\n".join(warnings_for(config, street, {camera.id: coco}))
    assert "zone stall" not in warnings and "class_conf" not in warnings
    only_umbrella = tuple(c for c in coco if c != "dining_table")
    warnings = "\n".join(warnings_for(config, street, {camera.id: only_umbrella}))
    assert "camera cam-1: model.class_conf names classes the model does not have: dining_table" in warnings
    assert "zone stall" not in warnings  # an umbrella alone still counts, after 20 still minutes
    # A zone that never lets an umbrella count alone cannot fire on a model without a table.
    data["cameras"][0]["zones"][-1]["rule"] = {"lone_proxy_still_s": None}
    path.write_text(yaml.safe_dump(data))
    warnings = "\n".join(warnings_for(load_config(path), street, {camera.id: only_umbrella}))
    assert "umbrella (beside another proxy, with a stationary person)" in warnings


def test_zone_overrides_apply_over_the_global_rule() -> None:
    data = config_dict()
    data["cameras"][0]["zones"][0]["rule"] = {"dwell_s": 600}  # type: ignore[index]
    text = yaml.safe_dump(data)
    config = parse_config(text)
    zone = config.cameras[0].zones[0]
    assert config.zone_rule(zone).dwell_s == 600
    assert config.rules.illegal_parking.dwell_s == 300


def test_a_coco_model_warns_that_garbage_and_fire_never_fire() -> None:
    data = config_dict()
    data["cameras"][0]["zones"] += [  # type: ignore[index]
        {"id": "bins", "type": "garbage_watch", "polygon": [[0, 0], [10, 0], [10, 10]]},
        {"id": "yard", "type": "burning_watch", "polygon": [[0, 0], [10, 0], [10, 10]]},
    ]
    config = parse_config(yaml.safe_dump(data))
    coco = (*CLASS_NAMES[:8], "traffic light")
    warnings = "\n".join(warnings_for(config, coco))
    assert "zone bins (garbage_watch): the model has none of garbage, bin_overflow" in warnings
    assert "exposed_garbage will never be filed" in warnings
    assert "open_burning will never be filed" in warnings
    assert "zone curb" not in warnings
    assert "zone bins" not in "\n".join(warnings_for(config, CLASS_NAMES))


def test_a_clip_ring_shorter_than_the_dwell_is_warned_of() -> None:
    data = config_dict()
    data["cameras"][0]["clip"] = {"enabled": True, "buffer_s": 200}  # type: ignore[index]
    warnings = "\n".join(warnings_for(parse_config(yaml.safe_dump(data)), CLASS_NAMES))
    assert "camera cam-1 zone curb: a case spans at least 310 s" in warnings  # 300 s dwell + 5 + 5
    assert "longer than clip.buffer_s (200 s)" in warnings
    data["cameras"][0]["clip"] = {"enabled": True}  # type: ignore[index]  # the default 400 s holds it
    assert "clip.buffer_s" not in "\n".join(warnings_for(parse_config(yaml.safe_dump(data)), CLASS_NAMES))


def test_a_model_without_people_is_warned_of_when_public_copies_are_made() -> None:
    config = parse_config(yaml.safe_dump(config_dict()))
    assert config.storage.privacy_filter == "pixelate"  # privacy by default
    no_people = tuple(n for n in CLASS_NAMES if n != "person")
    assert "people are not hidden" in "\n".join(warnings_for(config, no_people))
    assert "people are not hidden" not in "\n".join(warnings_for(config, CLASS_NAMES))
    off = config.model_copy(update={"storage": config.storage.model_copy(update={"privacy_filter": "none"})})
    assert "people are not hidden" not in "\n".join(warnings_for(off, no_people))


def test_example_config_is_valid() -> None:
    config = load_config(EXAMPLE)
    types = {z.type for c in config.cameras for z in c.zones}
    assert {"no_parking", "no_vending", "garbage_watch", "burning_watch"} <= types


def test_cli_check_prints_errors_with_lines_and_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "edge.yaml"
    bad.write_text(with_line(15, "        type: no_smoking"))
    result = subprocess.run(
        [sys.executable, "-m", "streetwatch.cli", "edge", "check", str(bad), "--no-model"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "line 15: cameras[0].zones[0].type" in result.stderr
    assert "Traceback" not in result.stderr


# -- typed zone overrides ----------------------------------------------------------------------------
VENDING_ZONE = "      - id: stall\n        type: no_vending\n        polygon: [[0, 0], [50, 0], [50, 50]]\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # The override's own check (bounds) and a setting of another rule kind: at the setting's line.
        (
            GOOD + "        rule:\n          max_move_frac: 7\n",
            r"line 18: cameras\[0\]\.zones\[0\]\.rule\.max_move_frac",
        ),
        (
            GOOD + VENDING_ZONE + "        rule: {dwell_s: 5}\n",
            r"line 20: cameras\[0\]\.zones\[1\]\.rule\.dwell_s: Extra",
        ),
        # A clash between the zone's setting and the global ones it keeps: found on the merged rule.
        (
            GOOD + VENDING_ZONE + "        rule:\n          min_duration_s: 900\n",
            r"line 21: cameras\[0\]\.zones\[1\]\.rule: .*must not exceed window_s .*rules\.occupied_lane_vending",
        ),
        (
            GOOD + "        rule: {kind: presence}\n",
            r"line 17: cameras\[0\]\.zones\[0\]\.rule\.kind: a no_parking zone",
        ),
        (GOOD + "stop_when_sources_end: true\n", r"line 17: stop_when_sources_end: needs at least one non-looping"),
    ],
)
def test_override_and_cross_field_errors_name_their_own_line(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config(text.replace("source: clip.mp4", "source: rtsp://cam/1"), source="edge.yaml")


def test_zone_overrides_are_typed_by_the_zone_type_and_round_trip() -> None:
    data = config_dict()
    data["cameras"][0]["zones"] += [  # type: ignore[index]
        {"id": "yard", "type": "burning_watch", "polygon": [[0, 0], [10, 0], [10, 10]], "rule": {"last_n": None}},
    ]
    data["cameras"][0]["zones"][0]["rule"] = {"dwell_s": 600}  # type: ignore[index]
    config = parse_config(yaml.safe_dump(data))
    curb, yard = config.cameras[0].zones
    assert (
        curb.rule is not None and curb.rule.kind == "parking" and yard.rule is not None and yard.rule.kind == "presence"
    )
    # An explicit null is a setting (burning's global last_n is 5); what the zone did not set stays global.
    assert config.rules.open_burning.last_n == 5 and config.zone_rule(yard).last_n is None
    assert config.zone_rule(yard).min_hits == config.rules.open_burning.min_hits
    assert config.zone_rule(curb).kind == "parking" and config.zone_rule(curb).max_gap_s == 30
    # A dump holds what the zone set, so it validates back to the same config.
    assert curb.model_dump()["rule"] == {"kind": "parking", "dwell_s": 600.0}
    again = EdgeConfig.model_validate(config.model_dump())
    assert again == config and again.zone_rule(again.cameras[0].zones[0]).dwell_s == 600


def test_tracker_start_threshold_is_a_setting_never_below_model_conf() -> None:
    from streetwatch.edge.camera_rules import CameraRules

    default = parse_config(yaml.safe_dump(config_dict()))
    assert CameraRules(default.cameras[0], default, CLASS_NAMES).tracker.high_conf == 0.5
    lower = parse_config(yaml.safe_dump(config_dict(rules={"tracking": {"start_conf": 0.2}})))
    assert CameraRules(lower.cameras[0], lower, CLASS_NAMES).tracker.high_conf == 0.25  # model.conf
    higher = parse_config(yaml.safe_dump(config_dict(rules={"tracking": {"start_conf": 0.7}})))
    assert CameraRules(higher.cameras[0], higher, CLASS_NAMES).tracker.high_conf == 0.7


@pytest.mark.parametrize(
    ("rule", "defaults"),
    [
        ("open_burning", {"classes": ["fire", "smoke"], "window_s": 30, "last_n": 5}),
        (
            "occupied_lane_vending",
            {"classes": ["stall"], "proxy_classes": ["umbrella", "dining_table"], "window_s": 120},
        ),
        ("exposed_garbage", {"classes": ["garbage", "bin_overflow"], "window_s": 600}),
    ],
)
def test_a_partial_presence_rule_keeps_the_defaults_it_does_not_name(rule: str, defaults: dict) -> None:
    """As `illegal_parking` does: a block naming one field changes that field only."""
    from streetwatch.edge.config import RulesConfig

    rules = RulesConfig.model_validate({rule: {"min_hits": 4}})
    chosen = getattr(rules, rule)
    assert chosen.min_hits == 4
    for name, value in defaults.items():
        assert getattr(chosen, name) == value, name


def test_check_refuses_a_storage_root_that_is_a_file(tmp_path: Path) -> None:
    config = tmp_path / "edge.yaml"
    config.write_text(GOOD)
    (tmp_path / "state").write_text("not a folder")
    result = subprocess.run(
        [sys.executable, "-m", "streetwatch.cli", "edge", "check", str(config), "--no-model"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2, result.stderr
    assert "line 8: storage.root" in result.stderr and "is a file" in result.stderr
    assert "Traceback" not in result.stderr


# -- configs that would pass and never work ------------------------------------------------------------
def framed(frame_size: str, polygon: str) -> str:
    """GOOD with `frame_size` on the camera (line 12) and the zone's polygon (then on line 17)."""
    text = GOOD.replace("    source: clip.mp4\n", f"    source: clip.mp4\n    frame_size: {frame_size}\n")
    return text.replace("        polygon: [[0, 0], [100, 0], [100, 100]]", f"        polygon: {polygon}")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            with_line(16, "        polygon: [[0, 0], [.nan, 0], [100, 100]]"),
            r"line 16: cameras\[0\]\.zones\[0\]\.polygon\[1\]: expected finite pixel coordinates .*got \[nan, 0",
        ),
        (
            with_line(16, "        polygon:\n          - [0, 0]\n          - [100, 0]\n          - [100, .inf]"),
            r"line 19: cameras\[0\]\.zones\[0\]\.polygon\[2\]: expected finite .*got \[100\.0, inf\]",
        ),
        (
            with_line(16, "        polygon: [[0, 0], [100, -.inf], [100, 100]]"),
            r"line 16: cameras\[0\]\.zones\[0\]\.polygon\[1\]: expected finite",
        ),
        (
            with_line(16, "        polygon: [[-20, 0], [100, 0], [100, 100]]"),
            r"line 16: cameras\[0\]\.zones\[0\]\.polygon\[0\]: expected non-negative .*got \[-20\.0, 0\.0\]",
        ),
        (
            with_line(16, "        polygon: [[0, 0], [1e12, 0], [100, 100]]"),
            r"line 16: .*polygon\[1\]: expected pixel coordinates of a camera picture \(at most 100000\)",
        ),
        (
            framed("[1280, 720]", "[[1300, 0], [1900, 0], [1900, 700]]"),
            r"line 17: cameras\[0\]\.zones\[0\]\.polygon: lies wholly outside the 1280x720 picture \(frame_size\)",
        ),
        (
            framed("[1280, 720]", "[[0, 720], [1280, 720], [1280, 900]]"),  # touches the bottom edge only
            r"line 17: .*wholly outside the 1280x720 picture",
        ),
        (framed("[1280, .inf]", "[[0, 0], [100, 0], [100, 100]]"), r"line 12: cameras\[0\]\.frame_size\[1\]"),
        (framed("[0, 720]", "[[0, 0], [100, 0], [100, 100]]"), r"line 12: cameras\[0\]\.frame_size\[0\]"),
        (
            with_line(15, "        type: no_parking\n        type: no_vending"),
            r"edge\.yaml: 1 problem\(s\)\nline 16: duplicate key 'type' \(first at line 15\); expected each key once",
        ),
        (
            GOOD + "storage:\n  root: elsewhere\n",
            r"line 17: duplicate key 'storage' \(first at line 7\)",
        ),
        (
            with_line(12, "    location: {lat: 31.2, lon: 121.5, lat: 30.1}"),
            r"line 12: duplicate key 'lat' \(first at line 12\)",
        ),
    ],
    ids=[
        "nan-point",
        "inf-point-block-list",
        "minus-inf-point",
        "negative-point",
        "huge-point",
        "outside-stated-frame",
        "touching-frame-edge-only",
        "inf-frame-size",
        "zero-frame-size",
        "duplicate-zone-key",
        "duplicate-top-level-key",
        "duplicate-flow-mapping-key",
    ],
)
def test_configs_that_would_never_work_fail_with_their_line(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config(text, source="edge.yaml")


def test_a_zone_partly_inside_the_stated_frame_and_yaml_merge_keys_are_fine() -> None:
    config = parse_config(framed("[1280, 720]", "[[1200, 600], [1900, 600], [1900, 1000]]"))
    assert config.cameras[0].frame_size == (1280, 720)
    # A merge key's mapping may hold a key the mapping sets again: that is YAML's override, not a duplicate.
    merged = GOOD.replace(
        "model:\n  path: model.onnx\n", "model:\n  <<: {conf: 0.2}\n  conf: 0.3\n  path: model.onnx\n"
    )
    assert parse_config(merged).model.conf == 0.3


def test_cli_check_names_the_file_and_line_of_a_nan_point_and_of_a_duplicate_key(tmp_path: Path) -> None:
    for name, text, expected in [
        (
            "nan.yaml",
            with_line(16, "        polygon: [[0, 0], [.nan, 0], [100, 100]]"),
            "line 16: cameras[0].zones[0].polygon[1]",
        ),
        (
            "dup.yaml",
            with_line(15, "        type: no_parking\n        type: no_vending"),
            "line 16: duplicate key 'type'",
        ),
    ]:
        path = tmp_path / name
        path.write_text(text)
        result = subprocess.run(
            [sys.executable, "-m", "streetwatch.cli", "edge", "check", str(path), "--no-model"],
            capture_output=True,
            text=True,
        )
        assert result.returncode == 2, result.stdout
        assert str(path) in result.stderr and expected in result.stderr
        assert "Traceback" not in result.stderr


def test_cli_check_warns_of_a_zone_outside_a_video_files_picture(tmp_path: Path) -> None:
    from videos import bus_parks_video

    bus_parks_video(tmp_path / "clip.mp4", seconds=2)  # 640x360
    text = GOOD.replace(
        "        polygon: [[0, 0], [100, 0], [100, 100]]\n",
        "        polygon: [[0, 0], [100, 0], [100, 100]]\n"
        "      - id: beyond\n        type: no_parking\n        polygon: [[1300, 0], [1900, 0], [1900, 700]]\n",
    )
    config = tmp_path / "edge.yaml"
    config.write_text(text)
    result = subprocess.run(
        [sys.executable, "-m", "streetwatch.cli", "edge", "check", str(config), "--no-model"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stdout.splitlines() if "picture" in line]
    assert warnings == [
        f"warning: camera cam-1 zone beyond: the polygon lies wholly outside the 640x360 picture of "
        f"{tmp_path / 'clip.mp4'}, so illegal_parking will never be filed there"
    ]
