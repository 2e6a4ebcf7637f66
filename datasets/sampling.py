"""Take N items of a source so that every scene group is represented before any twice.

Sources repeat one photo (Roboflow copies share a group) and film one scene for many frames; a
plain random sample would spend its budget on copies. Deterministic for the same items and seed.
"""

from __future__ import annotations

import random

from streetwatch.datasets.schema import Item


def round_robin_by_group(items: list[Item], n: int, seed: int) -> list[Item]:
    """Up to `n` items, one per (shuffled) group per round."""
    rng = random.Random(seed)
    by_group: dict[str, list[Item]] = {}
    for item in sorted(items, key=lambda i: i.id):
        by_group.setdefault(item.group, []).append(item)
    groups = sorted(by_group)
    rng.shuffle(groups)
    for members in by_group.values():
        rng.shuffle(members)
    picked: list[Item] = []
    depth = 0
    while len(picked) < n:
        layer = [by_group[g][depth] for g in groups if depth < len(by_group[g])]
        if not layer:
            break
        picked += layer[: n - len(picked)]
        depth += 1
    return picked
