"""The v1 recipe's import rules against the full shared data set (skipped where it is absent)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from streetwatch.datasets.importing import SourceSpec, import_source
from streetwatch.datasets.recipe import group_rules, load_recipe
from streetwatch.datasets.store import Dataset

pytestmark = pytest.mark.shared_data

RECIPE = Path(__file__).resolve().parents[2] / "datasets" / "recipes" / "v1.yaml"


def test_v1_recipe_imports_the_shared_sources(shared_data: Path) -> None:
    recipe = load_recipe(RECIPE)
    repo = RECIPE.parents[2]
    dataset = Dataset()
    for entry in recipe.sources:
        spec = SourceSpec(entry.name, shared_data / entry.path, repo / entry.mapping, groups=group_rules(entry))
        import_source(dataset, spec)
    fire = dataset.by_source("fire-smoke")
    garbage = dataset.by_source("garbage-cn")
    assert (len(garbage), len(fire)) == (2679, 979)
    # Every `default` frame became a negative with its whole-frame box dropped.
    negatives = [i for i in fire if i.negative]
    assert len(negatives) >= 150 and all(not i.boxes for i in negatives)
    assert Counter(b.cls for i in garbage for b in i.boxes) == {
        "garbage": 1496,
        "garbage_bin": 2815,
        "bin_overflow": 2839,
    }
    # Video frames share a group; numbered frames form runs: far fewer groups than frames.
    groups = Counter(i.group for i in fire)
    assert groups["fire-smoke:fire2_mp4"] == 51
    assert 20 <= len(groups) <= 60
    assert all(len(i.labelled) == 2 for i in fire)
