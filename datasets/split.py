"""Group-aware, stratified, seeded train/val/test split.

Units are what may not be cut: the connected components of "same group" (scene, video) and
"same near-duplicate cluster". Units are dealt out greedily, rarest class first, each to the
split that is furthest below its target share for the classes the unit carries (and for its
image count), so every class — including "no objects" — is spread by the ratios. The seed only
orders equal units: the same items, ratios and seed always give the same split.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass

from streetwatch.datasets.schema import SPLITS, Item, Split, SplitRecord
from streetwatch.datasets.store import Dataset
from streetwatch.datasets.unionfind import UnionFind
from streetwatch.errors import InputError

NO_OBJECTS = "(none)"  # a class-presence stratum of its own: negatives must reach every split too


def check_ratios(ratios: tuple[float, float, float]) -> None:
    if len(ratios) != 3 or any(r < 0 for r in ratios) or abs(sum(ratios) - 1.0) > 1e-6 or ratios[0] <= 0:
        raise InputError(f"split ratios must be three numbers >= 0 (train > 0) summing to 1, got {list(ratios)}")


def presence(item: Item) -> set[str]:
    classes = {b.cls for b in item.boxes if b.cls is not None}
    return classes or {NO_OBJECTS}


def units_of(items: list[Item]) -> list[list[Item]]:
    uf = UnionFind()
    for item in items:
        uf.union(f"i:{item.id}", f"g:{item.group}")
        if item.cluster:
            uf.union(f"i:{item.id}", f"c:{item.cluster}")
    by_root: dict[str, list[Item]] = {}
    for item in items:
        by_root.setdefault(uf.find(f"i:{item.id}"), []).append(item)
    return [sorted(members, key=lambda i: i.id) for _, members in sorted(by_root.items())]


@dataclass(frozen=True)
class SplitResult:
    units: int
    images: dict[Split, int]


def assign_splits(items: list[Item], ratios: tuple[float, float, float], seed: int) -> int:
    """Set `item.split` for every item; returns the number of units."""
    check_ratios(ratios)
    units = units_of(items)
    random.Random(seed).shuffle(units)
    unit_classes = [Counter(c for item in unit for c in presence(item)) for unit in units]
    total: Counter[str] = Counter()
    for counts in unit_classes:
        total.update(counts)
    n_total = sum(len(u) for u in units)
    # Rarest class first, then bigger units first (small ones fill the gaps); sort is stable.
    order = sorted(range(len(units)), key=lambda k: (min(total[c] for c in unit_classes[k]), -len(units[k])))
    current = {s: Counter() for s in SPLITS}
    current_n = dict.fromkeys(SPLITS, 0)
    active = [s for s, r in zip(SPLITS, ratios, strict=True) if r > 0]
    ratio = dict(zip(SPLITS, ratios, strict=True))
    for k in order:
        unit, counts = units[k], unit_classes[k]

        def need(s: Split, counts: Counter[str] = counts) -> float:
            class_need = sum((ratio[s] * total[c] - current[s][c]) / total[c] for c in counts)
            return class_need / len(counts) + (ratio[s] * n_total - current_n[s]) / n_total

        best = max(active, key=need)
        for item in unit:
            item.split = best
        current[best].update(counts)
        current_n[best] += len(unit)
    return len(units)


def split_dataset(dataset: Dataset, ratios: tuple[float, float, float] = (0.8, 0.1, 0.1), seed: int = 0) -> SplitResult:
    for item in dataset.items:
        item.split = None
    active = dataset.active()
    if not active:
        raise InputError("nothing to split: the dataset has no items (import a source first)")
    units = assign_splits(active, ratios, seed)
    dataset.header.split = SplitRecord(ratios=ratios, seed=seed, units=units)
    images = Counter(item.split for item in active)
    return SplitResult(units=units, images={s: images.get(s, 0) for s in SPLITS})
