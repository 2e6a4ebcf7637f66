"""Dataset statistics: counts per class/split/source, negatives, machine-made share, box sizes."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

from streetwatch.datasets.schema import SPLITS
from streetwatch.datasets.store import Dataset
from streetwatch.models.taxonomy import CLASS_NAMES

UNSPLIT = "unsplit"
SIZE_BINS = (("small", 32**2), ("medium", 96**2), ("large", math.inf))  # COCO's pixel-area bins


@dataclass
class DatasetStats:
    splits: list[str]
    instances: dict[str, Counter[str]]  # split -> class -> boxes
    machine: dict[str, Counter[str]]  # split -> class -> machine-made boxes
    images: Counter[str]  # split -> images
    images_by_source: dict[str, Counter[str]]  # source -> split -> images
    negatives: Counter[str]  # split -> images with no boxes
    source_negatives: Counter[str]  # split -> images the source marked negative
    hard_negatives: Counter[str]  # split -> rejected-case images
    ruled_out: Counter[str]  # split -> regions a reviewer ruled out for a class (deleted model boxes)
    size_bins: dict[str, Counter[str]]  # class -> bin -> boxes
    relative_sizes: dict[str, list[float]] = field(default_factory=dict)  # class -> sqrt(box area / image area)
    excluded: Counter[str] = field(default_factory=Counter)  # reason -> images

    @property
    def total_boxes(self) -> int:
        return sum(sum(c.values()) for c in self.instances.values())

    @property
    def machine_boxes(self) -> int:
        return sum(sum(c.values()) for c in self.machine.values())

    @property
    def machine_share(self) -> float:
        return self.machine_boxes / self.total_boxes if self.total_boxes else 0.0


def compute_stats(dataset: Dataset) -> DatasetStats:
    active = dataset.active()
    splits = [s for s in SPLITS if any(i.split == s for i in active)]
    if any(i.split is None for i in active):
        splits.append(UNSPLIT)
    stats = DatasetStats(
        splits=splits,
        instances={s: Counter() for s in splits},
        machine={s: Counter() for s in splits},
        images=Counter(),
        images_by_source={src.name: Counter() for src in dataset.header.sources},
        negatives=Counter(),
        source_negatives=Counter(),
        hard_negatives=Counter(),
        ruled_out=Counter(),
        size_bins={c: Counter() for c in CLASS_NAMES},
        relative_sizes={c: [] for c in CLASS_NAMES},
    )
    for item in active:
        split = item.split or UNSPLIT
        stats.images[split] += 1
        stats.images_by_source.setdefault(item.source, Counter())[split] += 1
        if not item.boxes:
            stats.negatives[split] += 1
        if item.negative and not item.hard_negative:
            stats.source_negatives[split] += 1
        if item.hard_negative:
            stats.hard_negatives[split] += 1
        if item.ruled_out:
            stats.ruled_out[split] += len(item.ruled_out)
        for box in item.boxes:
            if box.cls is None:
                continue
            stats.instances[split][box.cls] += 1
            if box.origin == "machine":
                stats.machine[split][box.cls] += 1
            area = max(0.0, box.xyxy[2] - box.xyxy[0]) * max(0.0, box.xyxy[3] - box.xyxy[1])
            stats.size_bins[box.cls][next(name for name, limit in SIZE_BINS if area < limit)] += 1
            if item.width and item.height:
                stats.relative_sizes[box.cls].append(math.sqrt(area / (item.width * item.height)))
    for item in dataset.items:
        if item.excluded is not None:
            stats.excluded[item.excluded.split(":")[0].split(" of ")[0]] += 1
    return stats


def _row(cells: list[object]) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def to_markdown(stats: DatasetStats, dataset: Dataset, plots: list[str] | None = None) -> str:
    s = stats.splits
    lines = ["# Dataset statistics", ""]
    lines += [
        f"Taxonomy {dataset.header.taxonomy_version}, {sum(stats.images.values())} images, "
        f"{stats.total_boxes} boxes ({stats.machine_boxes} machine-made, {stats.machine_share:.1%})."
    ]
    lines += [
        "",
        "## Instances per class",
        "",
        _row(["class", *s, "total", "machine-made"]),
        _row(["---"] * (len(s) + 3)),
    ]
    for cls in CLASS_NAMES:
        counts = [stats.instances[x][cls] for x in s]
        machine = sum(stats.machine[x][cls] for x in s)
        total = sum(counts)
        share = f"{machine} ({machine / total:.0%})" if total else "0"
        lines.append(_row([cls, *counts, total, share]))
    lines.append(_row(["**images**", *[stats.images[x] for x in s], sum(stats.images.values()), ""]))
    lines += ["", "## Images per source", "", _row(["source", *s, "total"]), _row(["---"] * (len(s) + 2))]
    for source, counts in stats.images_by_source.items():
        lines.append(_row([source, *[counts[x] for x in s], sum(counts.values())]))
    lines += ["", "## Negatives", "", _row(["kind", *s]), _row(["---"] * (len(s) + 1))]
    lines.append(_row(["images with no boxes", *[stats.negatives[x] for x in s]]))
    lines.append(_row(["marked negative by the source", *[stats.source_negatives[x] for x in s]]))
    lines.append(_row(["hard negatives (rejected cases)", *[stats.hard_negatives[x] for x in s]]))
    lines.append(_row(["regions ruled out for a class (deleted model boxes)", *[stats.ruled_out[x] for x in s]]))
    lines += ["", "## Box sizes (pixel area: small < 32², medium < 96², large)", ""]
    lines += [_row(["class", *[b for b, _ in SIZE_BINS]]), _row(["---"] * (len(SIZE_BINS) + 1))]
    for cls in CLASS_NAMES:
        lines.append(_row([cls, *[stats.size_bins[cls][b] for b, _ in SIZE_BINS]]))
    if stats.excluded:
        lines += ["", "## Left out", "", _row(["reason", "images"]), _row(["---", "---"])]
        lines += [_row([reason, n]) for reason, n in sorted(stats.excluded.items())]
    header = dataset.header
    lines += ["", "## How it was made", ""]
    for src in header.sources:
        lines.append(
            f"- source `{src.name}` ({src.format}, {src.images} images), mapping `{src.mapping}`, "
            f"labelled: {', '.join(src.labelled) or 'none'}"
        )
    if header.pseudo_label:
        p = header.pseudo_label
        lines.append(
            f"- pseudo-labels: `{p.model}` (sha256 {p.model_sha256[:12]}…), conf > {p.conf}, "
            f"classes {', '.join(p.classes)}"
        )
    if header.dedupe:
        d = header.dedupe
        lines.append(
            f"- dedupe: {d.exact_duplicates} exact duplicates left out; {d.near_duplicate_clusters} "
            f"near-duplicate clusters ({d.images_in_clusters} images, phash within {d.hamming} bits)"
        )
    if header.split:
        lines.append(
            f"- split: ratios {list(header.split.ratios)}, seed {header.split.seed}, "
            f"{header.split.units} units (groups joined with near-duplicate clusters)"
        )
    if plots:
        lines += ["", "## Plots", ""] + [f"![{p}]({p})" for p in plots]
    return "\n".join(lines) + "\n"
