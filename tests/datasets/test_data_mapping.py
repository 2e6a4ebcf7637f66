from __future__ import annotations

from pathlib import Path

import pytest

from streetwatch.datasets.mapping import load_mapping
from streetwatch.errors import ConfigError, InputError


def test_mapping_targets_and_default_labelled(write_mapping) -> None:
    mapping = load_mapping(write_mapping({"Fire": "fire", "smoke": "smoke", "default": "negative", "x": "drop"}))
    assert mapping.target("Fire") == "fire"
    assert mapping.labelled == ("fire", "smoke")  # taxonomy order, negative/drop excluded
    assert len(mapping.sha256) == 64


def test_labelled_override(write_mapping) -> None:
    mapping = load_mapping(write_mapping({"car": "car"}, labelled=[]))
    assert mapping.labelled == ()


@pytest.mark.parametrize(
    ("classes", "labelled", "message"),
    [
        ({"Fire": "flames"}, None, r"targets must be a taxonomy class.*Fire -> flames"),
        ({"car": "car"}, ["lorry"], r"labelled must name taxonomy classes; unknown: lorry"),
    ],
)
def test_invalid_mapping(write_mapping, classes: dict[str, str], labelled: list[str] | None, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_mapping(write_mapping(classes, labelled))


def test_unknown_source_classes_listed(write_mapping) -> None:
    mapping = load_mapping(write_mapping({"Fire": "fire"}))
    with pytest.raises(InputError, match=r"src: source classes not in mapping .*: default, smoke"):
        mapping.check_covers(["Fire", "smoke", "default"], where="src")


def test_missing_or_broken_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="mapping file not found"):
        load_mapping(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("classes: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_mapping(bad)


def test_shipped_mappings_load(mappings_dir: Path) -> None:
    assert load_mapping(mappings_dir / "garbage-cn.yaml").target("overflow") == "bin_overflow"
    assert load_mapping(mappings_dir / "fire-smoke.yaml").target("default") == "negative"
