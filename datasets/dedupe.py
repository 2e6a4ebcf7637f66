"""Duplicates within and across sources.

Exact duplicates (same sha256) are left out of the export but one copy. Near duplicates (64-bit
perceptual hashes within `hamming` bits: re-encodes, resizes, consecutive video frames) are kept
but put into one cluster, and the split keeps a cluster in one split: otherwise a frame in train
and its twin in val would inflate validation scores.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from streetwatch.datasets.progress import progress
from streetwatch.datasets.schema import DedupeRecord, Item
from streetwatch.datasets.store import Dataset
from streetwatch.datasets.unionfind import UnionFind
from streetwatch.errors import InputError

DUPLICATE_PREFIX = "duplicate of "


def perceptual_hash(path: str) -> str | None:
    import imagehash
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return str(imagehash.phash(image.convert("L")))
    except (UnidentifiedImageError, OSError, ValueError):
        return None


def near_pairs(hashes: npt.NDArray[np.uint64], hamming: int, chunk: int = 512) -> list[tuple[int, int]]:
    """Index pairs (i < j) whose hashes differ in at most `hamming` bits. hashes: (N,) uint64."""
    pairs: list[tuple[int, int]] = []
    for start in range(0, len(hashes), chunk):
        block = hashes[start : start + chunk, None] ^ hashes[None, :]  # (chunk, N)
        distance = np.bitwise_count(block)
        ii, jj = np.nonzero(distance <= hamming)
        ii = ii + start
        keep = ii < jj
        pairs.extend(zip(ii[keep].tolist(), jj[keep].tolist(), strict=True))
    return pairs


@dataclass(frozen=True)
class DedupeResult:
    exact_duplicates: int
    clusters: int
    clustered_images: int


def dedupe(dataset: Dataset, hamming: int = 6) -> DedupeResult:
    if not 0 <= hamming <= 32:
        raise InputError(f"hamming distance must be in 0..32 bits, got {hamming}")
    source_rank = {s.name: i for i, s in enumerate(dataset.header.sources)}
    # Undo an earlier run so that a rerun (or a new threshold) starts from the same state.
    for item in dataset.items:
        item.cluster = None
        if item.excluded and item.excluded.startswith(DUPLICATE_PREFIX):
            item.excluded = None
    ordered = sorted(dataset.active(), key=lambda i: (source_rank.get(i.source, len(source_rank)), i.id))

    first_by_sha: dict[str, Item] = {}
    exact = 0
    for item in ordered:
        keeper = first_by_sha.setdefault(item.sha256, item)
        if keeper is not item:
            item.excluded = f"{DUPLICATE_PREFIX}{keeper.id}"
            exact += 1

    kept = [i for i in ordered if i.excluded is None]
    for item in progress(kept, desc="phash"):
        if item.phash is None:
            item.phash = perceptual_hash(item.image)
    hashed = [i for i in kept if i.phash is not None]
    values = np.array([int(i.phash, 16) for i in hashed], dtype=np.uint64)  # type: ignore[arg-type]
    uf = UnionFind()
    for a, b in near_pairs(values, hamming):
        uf.union(hashed[a].id, hashed[b].id)
    clusters = {root: members for root, members in uf.components().items() if len(members) > 1}
    by_id = {i.id: i for i in hashed}
    for root, members in clusters.items():
        for member in members:
            by_id[member].cluster = root
    clustered = sum(len(m) for m in clusters.values())
    dataset.header.dedupe = DedupeRecord(
        hamming=hamming, exact_duplicates=exact, near_duplicate_clusters=len(clusters), images_in_clusters=clustered
    )
    dataset.header.split = None
    return DedupeResult(exact_duplicates=exact, clusters=len(clusters), clustered_images=clustered)
