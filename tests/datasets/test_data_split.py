from __future__ import annotations

from collections import defaultdict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streetwatch.datasets.schema import Box, Item
from streetwatch.datasets.split import assign_splits, check_ratios, split_dataset
from streetwatch.datasets.store import Dataset
from streetwatch.errors import InputError


def _item(k: int, group: str, classes: list[str], cluster: str | None = None) -> Item:
    boxes = [Box(cls=c, xyxy=(0, 0, 10, 10), source_class=c) for c in classes]
    return Item(
        id=f"s/{k:04d}",
        source="s",
        image=f"/nowhere/{k}.jpg",
        sha256=f"{k:064x}",
        width=64,
        height=64,
        group=group,
        labelled=[],
        boxes=boxes,
        cluster=cluster,
    )


def _population(n_groups: int = 60, per_group: int = 3) -> list[Item]:
    items = []
    classes = [["fire"], ["smoke"], ["garbage"], [], ["fire", "smoke"], ["garbage", "car"]]
    for g in range(n_groups):
        for j in range(per_group):
            items.append(_item(g * per_group + j, f"video{g}", classes[g % len(classes)]))
    return items


def test_no_group_in_two_splits_and_clusters_together() -> None:
    items = _population()
    # Near-duplicates across groups: video1 and video30 share a cluster, so they must share a split.
    items[3].cluster = items[90].cluster = "c1"
    assign_splits(items, (0.7, 0.15, 0.15), seed=3)
    splits_of_group = defaultdict(set)
    for item in items:
        splits_of_group[item.group].add(item.split)
    assert all(len(s) == 1 for s in splits_of_group.values())
    assert items[3].split == items[90].split
    assert splits_of_group["video1"] == splits_of_group["video30"]


def test_stratified_every_class_reaches_every_split() -> None:
    items = _population()
    assign_splits(items, (0.8, 0.1, 0.1), seed=0)
    for split in ("train", "val", "test"):
        present = {b.cls for i in items if i.split == split for b in i.boxes} | {
            "(none)" for i in items if i.split == split and not i.boxes
        }
        assert present == {"fire", "smoke", "garbage", "car", "(none)"}, split
    counts = {s: sum(i.split == s for i in items) for s in ("train", "val", "test")}
    assert counts["train"] > counts["val"] > 0 and counts["test"] > 0
    assert abs(counts["train"] / len(items) - 0.8) < 0.1


def test_deterministic_by_seed() -> None:
    a, b, c = _population(), _population(), _population()
    assign_splits(a, (0.8, 0.1, 0.1), seed=7)
    assign_splits(b, (0.8, 0.1, 0.1), seed=7)
    assign_splits(c, (0.8, 0.1, 0.1), seed=8)
    assert [i.split for i in a] == [i.split for i in b]
    assert [i.split for i in a] != [i.split for i in c]


@pytest.mark.parametrize("ratios", [(0.5, 0.5, 0.5), (0.0, 0.5, 0.5), (0.9, 0.2, -0.1)])
def test_bad_ratios(ratios: tuple[float, float, float]) -> None:
    with pytest.raises(InputError, match="split ratios must be three numbers"):
        check_ratios(ratios)


def test_zero_test_ratio_and_excluded_items_skipped() -> None:
    dataset = Dataset(items=_population(10))
    dataset.items[0].excluded = "duplicate of s/0001"
    result = split_dataset(dataset, (0.8, 0.2, 0.0), seed=0)
    assert result.images["test"] == 0 and dataset.items[0].split is None
    assert dataset.header.split is not None and dataset.header.split.units == 10


@settings(max_examples=30, deadline=None)
@given(
    groups=st.lists(st.integers(0, 12), min_size=1, max_size=60),
    clusters=st.lists(st.one_of(st.none(), st.integers(0, 5)), min_size=60, max_size=60),
    seed=st.integers(0, 1000),
)
def test_leakage_property(groups: list[int], clusters: list[int | None], seed: int) -> None:
    items = [
        _item(k, f"g{g}", ["fire"] if k % 2 else [], None if clusters[k] is None else f"c{clusters[k]}")
        for k, g in enumerate(groups)
    ]
    assign_splits(items, (0.6, 0.2, 0.2), seed=seed)
    by_group, by_cluster = defaultdict(set), defaultdict(set)
    for item in items:
        assert item.split is not None
        by_group[item.group].add(item.split)
        if item.cluster:
            by_cluster[item.cluster].add(item.split)
    assert all(len(s) == 1 for s in [*by_group.values(), *by_cluster.values()])
