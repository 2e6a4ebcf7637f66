"""v2 recipe features: several teachers by declared labelled classes, max_images, and `data mix`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from streetwatch.cli import main
from streetwatch.datasets.recipe import load_recipe
from streetwatch.errors import ConfigError

RECIPE = """
name: mini2
data_root: {root}
sources:
  - name: garbage-cn
    path: garbage-cn
    mapping: {mappings}/garbage-cn.yaml
{garbage_extra}
  - name: fire-smoke
    path: fire-smoke
    mapping: {mappings}/fire-smoke.yaml
    max_images: {fire_max}
    groups:
      - pattern: '^(?P<group>.+?_mp4)-\\d+_'
teachers:
  - model: {teacher}
    conf: 0.3
    class_conf: {{car: 0.001}}
    classes: [car]
  - model: {teacher}
    conf: 0.001
    classes: [fire]
split:
  ratios: [0.6, 0.2, 0.2]
  seed: 1
classes:
  min_instances: 0
"""


def _build(tmp_path: Path, real_sources: Path, mappings_dir: Path, teacher: Path, garbage_extra: str, fire_max: int):
    recipe = tmp_path / f"recipe-{len(garbage_extra)}.yaml"
    recipe.write_text(
        RECIPE.format(
            root=real_sources,
            mappings=mappings_dir,
            teacher=teacher,
            garbage_extra=garbage_extra,
            fire_max=fire_max,
        )
    )
    out = tmp_path / f"out-{len(garbage_extra)}"
    assert main(["data", "--no-progress", "build", str(recipe), "--out", str(out)]) == 0
    items = [json.loads(line) for line in (out / "dataset" / "items.jsonl").read_text().splitlines()]
    return out, items


def _machine(items: list[dict], source: str, cls: str) -> int:
    return sum(
        1 for i in items if i["source"] == source for b in i["boxes"] if b["origin"] == "machine" and b["cls"] == cls
    )


def test_each_teacher_fills_only_what_a_source_does_not_label(
    real_sources: Path, mappings_dir: Path, tiny_onnx: Path, tmp_path: Path
) -> None:
    # garbage-cn's mapping labels only the garbage classes: the fire teacher fills fire there.
    out, items = _build(tmp_path, real_sources, mappings_dir, tiny_onnx, "", fire_max=2)
    assert _machine(items, "garbage-cn", "fire") > 0
    assert _machine(items, "fire-smoke", "fire") == 0  # fire-smoke labels fire itself
    assert _machine(items, "garbage-cn", "car") > 0  # the COCO-style teacher, per-class threshold 0.001
    machine_confs = [b["conf"] for i in items for b in i["boxes"] if b["origin"] == "machine" and b["cls"] == "car"]
    assert min(machine_confs) < 0.3  # class_conf lowered car's threshold below the teacher's conf
    manifest = json.loads((out / "manifest.json").read_text())
    assert [t["classes"] for t in manifest["pseudo_labels"]] == [["car"], ["fire"]]
    assert manifest["pseudo_labels"][0]["class_conf"] == {"car": 0.001}
    # max_images: 2 fire-smoke images kept, the rest listed as sampled out and not exported.
    fire_items = [i for i in items if i["source"] == "fire-smoke"]
    kept = [i for i in fire_items if i["excluded"] is None]
    assert len(kept) == 2 and all("sampled out" in i["excluded"] for i in fire_items if i not in kept)
    assert sum(manifest["images_by_source"]["fire-smoke"].values()) == 2

    # The recipe declares that garbage-cn labels fire (by having none): no teacher fire box there.
    extra = "    labelled: [garbage, garbage_bin, bin_overflow, fire, smoke]"
    _, items2 = _build(tmp_path, real_sources, mappings_dir, tiny_onnx, extra, fire_max=2)
    assert _machine(items2, "garbage-cn", "fire") == 0
    assert _machine(items2, "garbage-cn", "car") == _machine(items, "garbage-cn", "car")


def test_recipe_refuses_two_teachers_for_one_class(tmp_path: Path) -> None:
    recipe = tmp_path / "r.yaml"
    base = {"name": "x", "sources": [{"name": "a", "path": "a", "mapping": "m.yaml"}]}
    recipe.write_text(yaml.safe_dump({**base, "teachers": [{"model": "a", "classes": ["car"]}] * 2}))
    with pytest.raises(ConfigError, match="filled by two teachers"):
        load_recipe(recipe)
    recipe.write_text(
        yaml.safe_dump({**base, "teacher": {"model": "a"}, "teachers": [{"model": "b", "classes": ["fire"]}]})
    )
    with pytest.raises(ConfigError, match="either teacher or teachers"):
        load_recipe(recipe)
    recipe.write_text(yaml.safe_dump({**base, "teacher": {"model": "a", "class_conf": {"car": 1.5}}}))
    with pytest.raises(ConfigError, match=r"car=1\.5"):
        load_recipe(recipe)


def test_v2_recipe_declares_sources_and_teachers() -> None:
    recipe = load_recipe(Path(__file__).resolve().parents[2] / "datasets" / "recipes" / "v2.yaml")
    by_name = {s.name: s for s in recipe.sources}
    assert set(by_name) == {"garbage-cn", "fire-smoke", "joabe", "cjay", "liuzifan", "hard-negatives"}
    assert by_name["hard-negatives"].optional
    assert [t.classes for t in recipe.all_teachers][1] == ["smoke"]  # the fire/smoke teacher fills smoke only
    assert recipe.all_teachers[0].class_conf == {"umbrella": 0.2, "dining_table": 0.2}
    assert {by_name[s].root for s in ("joabe", "cjay", "liuzifan")} == {"repo"}


def test_mix_leaves_sources_out_and_caps(
    real_sources: Path, mappings_dir: Path, tiny_onnx: Path, tmp_path: Path, capsys
) -> None:
    out, items = _build(tmp_path, real_sources, mappings_dir, tiny_onnx, "", fire_max=4)
    mix = tmp_path / "mix"
    code = main(["data", "mix", str(out), "--out", str(mix), "--exclude-source", "fire-smoke", "--cap", "garbage-cn=1"])
    assert code == 0
    manifest = json.loads((mix / "manifest.json").read_text())
    assert manifest["content_sha256"] == json.loads((out / "manifest.json").read_text())["content_sha256"]
    train = (mix / "train.txt").read_text().split()
    assert len(train) == 1 and all("garbage-cn__" in Path(p).name for p in train)
    held = (mix / "heldout.txt").read_text().split()
    active_fire = [i for i in items if i["source"] == "fire-smoke" and i["excluded"] is None]
    assert len(held) == len(active_fire) == 4 and all(Path(p).is_file() for p in held)
    for split in ("val", "test"):
        listed = mix / f"{split}.txt"
        assert not listed.exists() or "fire-smoke__" not in listed.read_text()
    data = yaml.safe_load((mix / "data.yaml").read_text())
    assert data["train"] == str((mix / "train.txt").resolve()) and data["names"][11] == "fire"
    capsys.readouterr()
    assert main(["data", "mix", str(out), "--out", str(mix), "--cap", "garbage-cn=0"]) == 2
    assert "SOURCE=N" in capsys.readouterr().err
