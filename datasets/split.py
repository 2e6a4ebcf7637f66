"""Group-aware, stratified, seeded train/val/test split.

Units are what may not be cut: the connected components of "same group" (scene, video) and
"same near-duplicate cluster". Units are dealt out greedily, rarest class first and big units
first, each to the split where it brings the per-class image counts closest to their targets
(least growth of the squared distance), so every class — including "no objects" — is spread
by the ratios, and a big unit does not flood a small split. The seed only
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

OTHER_WEIGHT = 0.1  # classes of a unit other than its rarest, relative to the rarest
COUNT_WEIGHT = 0.1  # image-count balance, relative to the rarest class
MAX_REFINE_PASSES = 5
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
    assigned: dict[int, Split] = {}
    for k in order:
        unit, counts = units[k], unit_classes[k]

        rarest = min(counts, key=lambda c: (total[c], c))

        def cost(s: Split, counts: Counter[str] = counts, rarest: str = rarest, n: int = len(unit)) -> float:
            # Growth of the squared distance to the targets if the unit goes to `s`:
            # (x + k - t)^2 - (x - t)^2 per class, relative to the class total. The rarest class
            # decides (as in iterative stratification); the others and the image count only
            # weigh in lightly, else a common class co-occurring would drag units into train.
            def grow(c: str, k: int) -> float:
                return k * (2 * (current[s][c] - ratio[s] * total[c]) + k) / total[c] ** 2

            others = sum(grow(c, k) for c, k in counts.items() if c != rarest)
            count = n * (2 * (current_n[s] - ratio[s] * n_total) + n) / n_total**2
            return grow(rarest, counts[rarest]) + OTHER_WEIGHT * others + COUNT_WEIGHT * count

        best = min(active, key=cost)  # ties: the earlier split (train) wins
        assigned[k] = best
        current[best].update(counts)
        current_n[best] += len(unit)
    _refine(order, assigned, unit_classes, [len(u) for u in units], current, current_n, total, n_total, ratio, active)
    for k, unit in enumerate(units):
        for item in unit:
            item.split = assigned[k]
    return len(units)


def _refine(
    order: list[int],
    assigned: dict[int, Split],
    unit_classes: list[Counter[str]],
    sizes: list[int],
    current: dict[Split, Counter[str]],
    current_n: dict[Split, int],
    total: Counter[str],
    n_total: int,
    ratio: dict[Split, float],
    active: list[Split],
) -> None:
    """Move units between splits while that lowers the squared distance to the targets over all
    classes. The greedy pass sees one unit at a time; with a few big units (video scenes) a
    later move often balances a class it could not see coming."""

    def sq(s: Split, c: str, x: float) -> float:
        return ((x - ratio[s] * total[c]) / total[c]) ** 2

    def sq_n(s: Split, x: float) -> float:
        return COUNT_WEIGHT * ((x - ratio[s] * n_total) / n_total) ** 2

    for _ in range(MAX_REFINE_PASSES):
        moved = False
        for k in order:
            a, counts, n = assigned[k], unit_classes[k], sizes[k]
            if current_n[a] == n:
                continue  # never empty a split
            best, best_delta = a, -1e-12
            for b in active:
                if b == a:
                    continue
                delta = (
                    sq_n(a, current_n[a] - n)
                    + sq_n(b, current_n[b] + n)
                    - sq_n(a, current_n[a])
                    - sq_n(b, current_n[b])
                )
                for c, m in counts.items():
                    delta += sq(a, c, current[a][c] - m) + sq(b, c, current[b][c] + m)
                    delta -= sq(a, c, current[a][c]) + sq(b, c, current[b][c])
                if delta < best_delta:
                    best, best_delta = b, delta
            if best != a:
                current[a].subtract(counts)
                current[best].update(counts)
                current_n[a] -= n
                current_n[best] += n
                assigned[k] = best
                moved = True
        if not moved:
            return


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
