"""A class enters the model when it has data: per-class counts, the minimum, and the refusal."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from streetwatch.cli import main
from streetwatch.datasets.classes import ClassPolicy, choose_classes
from streetwatch.datasets.schema import Box, Item
from streetwatch.errors import InputError


def _item(k: int, split: str, boxes: list[tuple[str, str]]) -> Item:
    return Item(
        id=f"s/{k}", source="s", image=f"/x/{k}.jpg", sha256=str(k), width=100, height=100, group=str(k),
        labelled=[], split=split,
        boxes=[Box(cls=c, xyxy=(1, 1, 9, 9), source_class=c, origin=o) for c, o in boxes],
    )  # fmt: skip


ITEMS = [
    _item(1, "train", [("car", "machine"), ("car", "human"), ("garbage", "human"), ("stall", "human")]),
    _item(2, "train", [("car", "machine"), ("garbage", "human")]),
    _item(3, "val", [("stall", "human"), ("stall", "human"), ("stall", "human")]),  # val boxes do not count
]


@pytest.mark.parametrize(
    ("policy", "trained", "left_out"),
    [
        (ClassPolicy(min_instances=2), ["car", "garbage"], {"stall": "1 train boxes < minimum 2"}),
        (ClassPolicy(min_instances=2, allow_below_min=["stall"]), ["car", "garbage", "stall"], {}),
        (ClassPolicy(min_instances=3), ["car"], {"garbage": "2 train boxes < minimum 3"}),
        (ClassPolicy(train=["garbage", "car"], min_instances=1), ["car", "garbage"], {"stall": "not in classes.train"}),
    ],
)
def test_choose_classes(policy: ClassPolicy, trained: list[str], left_out: dict[str, str]) -> None:
    choice = choose_classes(ITEMS, policy)
    assert choice.trained == trained
    for cls, why in left_out.items():
        assert choice.left_out[cls].startswith(why)
    assert (choice.train_counts["car"].human, choice.train_counts["car"].machine) == (1, 2)
    table = choice.table()
    assert "| car | 1 | 2 | yes |" in table and "| person | 0 | 0 | no:" in table


def test_a_class_asked_for_by_name_below_the_minimum_is_refused() -> None:
    with pytest.raises(InputError, match=r"fewer than 2 train-split boxes: stall: 1 \(1 human, 0 machine\)"):
        choose_classes(ITEMS, ClassPolicy(train=["car", "stall"], min_instances=2))


RECIPE = """
name: tiny
data_root: {root}
sources:
  - name: garbage-cn
    path: garbage-cn
    mapping: {mappings}/garbage-cn.yaml
split:
  ratios: [0.6, 0.2, 0.2]
classes:
  train: [garbage, stall]
  min_instances: 1
"""


def test_build_refuses_then_trains_a_small_class_when_told(
    real_sources: Path, mappings_dir: Path, tmp_path: Path, capsys
) -> None:
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(RECIPE.format(root=real_sources, mappings=mappings_dir))
    out = tmp_path / "tiny"
    code = main(["data", "--no-progress", "build", str(recipe), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and "refusing to train classes with fewer than 1 train-split boxes: stall: 0" in err
    assert not (out / "data.yaml").exists()
    code = main(["data", "--no-progress", "build", str(recipe), "--out", str(out), "--allow-small-class", "stall"])
    printed = capsys.readouterr().out
    assert code == 0 and "| stall | 0 | 0 | yes |" in printed and "| garbage |" in printed
    assert yaml.safe_load((out / "data.yaml").read_text())["names"] == {0: "garbage", 1: "stall"}
    assert "| person | 0 | 0 | no: not in classes.train |" in (out / "stats" / "classes.md").read_text()
    code = main(["data", "--no-progress", "build", str(recipe), "--out", str(out), "--allow-small-class", "kiosk"])
    assert code == 2 and "unknown classes kiosk" in capsys.readouterr().err
