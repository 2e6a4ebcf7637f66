"""Export an ultralytics-ready training set, with a manifest that names exactly what is in it.

    OUT/images/{train,val,test}/<source>__<name>.jpg
    OUT/labels/{train,val,test}/<source>__<name>.txt   (ids into `names`; empty file = negative)
    OUT/data.yaml            absolute `path:`, train/val/test, names (the trained classes, taxonomy order)
    OUT/files.sha256         `sha256  relative/path` per image and label (`sha256sum -c` checks it)
    OUT/machine_labels.jsonl which label lines are machine-made, with teacher confidence
    OUT/manifest.json        sources, class map, steps, counts, and `content_sha256`

`content_sha256` hashes files.sha256 and the class names: two exports with the same images,
labels and classes have the same hash wherever they live, so a model can name its data.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict

from streetwatch.datasets.hashing import sha256_bytes
from streetwatch.datasets.progress import progress
from streetwatch.datasets.schema import (
    SPLITS,
    DatasetHeader,
    DedupeRecord,
    Item,
    PseudoLabelRecord,
    SourceRecord,
    SplitRecord,
)
from streetwatch.datasets.store import Dataset
from streetwatch.errors import InputError
from streetwatch.models.taxonomy import CLASS_NAMES

MANIFEST_FORMAT = "streetwatch.training-set"
OWNED = ("images", "labels", "data.yaml", "files.sha256", "machine_labels.jsonl", "manifest.json")


class SplitCounts(BaseModel):
    model_config = ConfigDict(extra="forbid")

    images: int
    negatives: int
    instances: dict[str, int]
    machine_instances: dict[str, int]


class ExportManifest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: Literal["streetwatch.training-set"] = MANIFEST_FORMAT
    version: Literal[1] = 1
    name: str
    built_at: str
    content_sha256: str
    taxonomy_version: str
    classes: list[str]
    machine_labels: Literal["included", "excluded"]
    sources: list[SourceRecord]
    pseudo_label: PseudoLabelRecord | None
    pseudo_labels: list[PseudoLabelRecord] = []
    dedupe: DedupeRecord | None
    split: SplitRecord | None
    counts: dict[str, SplitCounts]
    images_by_source: dict[str, dict[str, int]]
    left_out_classes: dict[str, str] = {}  # taxonomy classes not trained, and why (datasets/classes.py)


def export_name(item: Item) -> str:
    stem = item.id.replace("/", "__")
    return stem + (Path(item.image).suffix.lower() or ".jpg")


def label_lines(
    item: Item, include_machine: bool, classes: tuple[str, ...] = CLASS_NAMES
) -> tuple[list[str], list[tuple[int, float]]]:
    """YOLO lines (ids into `classes`, normalised cx cy w h) and (line, conf) of the machine-made ones.
    Boxes of classes not trained are left out."""
    lines: list[str] = []
    machine: list[tuple[int, float]] = []
    for box in item.boxes:
        if box.cls is None or box.cls not in classes or (box.origin == "machine" and not include_machine):
            continue
        x1, y1, x2, y2 = box.xyxy
        w, h = item.width, item.height
        cx, cy, bw, bh = (x1 + x2) / 2 / w, (y1 + y2) / 2 / h, (x2 - x1) / w, (y2 - y1) / h
        if box.origin == "machine":
            machine.append((len(lines), box.conf if box.conf is not None else 0.0))
        lines.append(f"{classes.index(box.cls)} {cx:.6f} {cy:.6f} {bw:.6f} {bh:.6f}")
    return lines, machine


def content_hash(files_sha256: str, classes: list[str]) -> str:
    return hashlib.sha256((files_sha256 + "\n" + "\n".join(classes)).encode()).hexdigest()


def _prepare(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: exists and is not a folder")
    manifest = out / "manifest.json"
    ours = manifest.is_file() and MANIFEST_FORMAT in manifest.read_text(encoding="utf-8")[:400]
    if not ours and any((out / name).exists() for name in ("images", "labels", "data.yaml")):
        raise InputError(
            f"{out}: holds images/, labels/ or data.yaml that no earlier export wrote; choose another --out"
        )
    for name in OWNED:
        target = out / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    out.mkdir(parents=True, exist_ok=True)


def export_dataset(
    dataset: Dataset,
    out: Path,
    *,
    name: str | None = None,
    include_machine: bool = True,
    classes: list[str] | None = None,
    left_out_classes: dict[str, str] | None = None,
) -> ExportManifest:
    """`classes`: the classes to train (taxonomy order; default every taxonomy class)."""
    names = tuple(c for c in CLASS_NAMES if classes is None or c in classes)
    active = dataset.active()
    if not active:
        raise InputError("nothing to export: the dataset has no items")
    unsplit = [i.id for i in active if i.split is None]
    if unsplit:
        raise InputError(f"{len(unsplit)} items have no split (first: {unsplit[0]}); run `data split` first")
    _prepare(out)
    header: DatasetHeader = dataset.header
    file_lines: list[str] = []
    machine_records: list[str] = []
    counts = {s: SplitCounts(images=0, negatives=0, instances={}, machine_instances={}) for s in SPLITS}
    instances = {s: Counter() for s in SPLITS}
    machine_counts = {s: Counter() for s in SPLITS}
    by_source: dict[str, Counter[str]] = {}
    seen: set[str] = set()
    for item in progress(sorted(active, key=lambda i: i.id), desc="export"):
        split = item.split
        if split is None:  # unreachable: every active item was checked for a split above
            continue
        file_name = export_name(item)
        if file_name in seen:
            raise InputError(f"two items export to the same file name {file_name}")
        seen.add(file_name)
        image_rel = f"images/{split}/{file_name}"
        label_rel = f"labels/{split}/{Path(file_name).with_suffix('.txt')}"
        (out / image_rel).parent.mkdir(parents=True, exist_ok=True)
        (out / label_rel).parent.mkdir(parents=True, exist_ok=True)
        data = Path(item.image).read_bytes()
        (out / image_rel).write_bytes(data)
        lines, machine = label_lines(item, include_machine, names)
        label_text = "".join(line + "\n" for line in lines)
        (out / label_rel).write_text(label_text, encoding="utf-8")
        file_lines += [f"{sha256_bytes(data)}  {image_rel}", f"{sha256_bytes(label_text.encode())}  {label_rel}"]
        if machine:
            machine_records.append(
                json.dumps({"label": label_rel, "lines": [m[0] for m in machine], "conf": [m[1] for m in machine]})
            )
        counts[split].images += 1
        counts[split].negatives += int(not lines)
        for line in lines:
            instances[split][names[int(line.split()[0])]] += 1
        for line_no, _ in machine:
            machine_counts[split][names[int(lines[line_no].split()[0])]] += 1
        by_source.setdefault(item.source, Counter())[split] += 1
    present = [s for s in SPLITS if counts[s].images]
    for s in present:
        counts[s].instances = {c: instances[s][c] for c in names}
        counts[s].machine_instances = {c: machine_counts[s][c] for c in names}
    files_text = "".join(line + "\n" for line in sorted(file_lines, key=lambda x: x.split("  ", 1)[1]))
    (out / "files.sha256").write_text(files_text, encoding="utf-8")
    (out / "machine_labels.jsonl").write_text("".join(r + "\n" for r in machine_records), encoding="utf-8")
    data_yaml: dict[str, object] = {"path": str(out.resolve())}
    for s in present:
        data_yaml[s] = f"images/{s}"
    data_yaml["names"] = dict(enumerate(names))
    (out / "data.yaml").write_text(
        "# Written by `streetwatch data export`; see manifest.json for what is in it.\n"
        + yaml.safe_dump(data_yaml, sort_keys=False, allow_unicode=True),
        encoding="utf-8",
    )
    manifest = ExportManifest(
        name=name or out.name,
        built_at=datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        content_sha256=content_hash(files_text, list(names)),
        taxonomy_version=header.taxonomy_version,
        classes=list(names),
        machine_labels="included" if include_machine else "excluded",
        sources=header.sources,
        pseudo_label=header.pseudo_label,
        pseudo_labels=header.pseudo_labels,
        dedupe=header.dedupe,
        split=header.split,
        counts={s: counts[s] for s in present},
        images_by_source={src: {s: c[s] for s in present} for src, c in sorted(by_source.items())},
        left_out_classes=dict(left_out_classes or {}),
    )
    (out / "manifest.json").write_text(manifest.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return manifest
