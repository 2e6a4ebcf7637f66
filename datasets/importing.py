"""Import one source into a dataset: read it, map its classes, assign groups, hash its images.

Re-importing a source replaces all of its items (idempotent); other sources are untouched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from streetwatch.datasets.importers.coco import read_coco
from streetwatch.datasets.importers.raw import RawImage, RawSource
from streetwatch.datasets.importers.voc import read_voc
from streetwatch.datasets.importers.yolo import read_yolo
from streetwatch.datasets.mapping import DROP, NEGATIVE, ClassMapping, load_mapping
from streetwatch.datasets.progress import progress
from streetwatch.datasets.schema import Box, Item, RuledOut, SourceFormat, SourceRecord
from streetwatch.datasets.store import Dataset
from streetwatch.errors import InputError
from streetwatch.files import sha256_file
from streetwatch.models.taxonomy import CLASS_NAMES

FormatChoice = Literal["auto", "yolo", "coco", "voc"]
READERS = {"yolo": read_yolo, "coco": read_coco, "voc": read_voc}
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class GroupRule:
    """A regex on the image file name; its named group `group` names the scene.

    With a named group `index` (a frame number) and `max_gap`, numbered frames form one scene
    per run of indices no more than `max_gap` apart: `img_101 .. img_140`, then `img_300 ..`.
    """

    pattern: str
    max_gap: int | None = None

    def compile(self) -> re.Pattern[str]:
        try:
            compiled = re.compile(self.pattern)
        except re.error as exc:
            raise InputError(f"group pattern {self.pattern!r} is not a valid regex ({exc})") from None
        if "group" not in compiled.groupindex:
            raise InputError(f"group pattern {self.pattern!r} must have a named group (?P<group>...)")
        if self.max_gap is not None and "index" not in compiled.groupindex:
            raise InputError(f"group pattern {self.pattern!r} has max_gap but no named group (?P<index>...)")
        return compiled


@dataclass(frozen=True)
class SourceSpec:
    name: str
    path: Path
    mapping: Path
    format: FormatChoice = "auto"
    groups: tuple[GroupRule, ...] = ()  # first matching rule wins; no match: the image is its own group
    labelled: tuple[str, ...] | None = None  # overrides the mapping's labelled classes


def detect_format(root: Path) -> SourceFormat:
    if root.is_file() and root.suffix == ".json":
        return "coco"
    if (root / "data.yaml").is_file():
        return "yolo"
    if (root / "Annotations").is_dir():
        return "voc"
    if any(root.glob("*.json")):
        return "coco"
    raise InputError(
        f"{root}: cannot tell the format (expected data.yaml for YOLO, a COCO *.json, or Annotations/ for VOC)"
    )


def assign_groups(source: str, images: list[RawImage], rules: tuple[GroupRule, ...]) -> dict[str, str]:
    """rel_stem -> group key for every image."""
    compiled = [rule.compile() for rule in rules]
    groups: dict[str, str] = {}
    numbered: dict[tuple[int, str], list[tuple[int, str]]] = {}  # (rule, name) -> [(index, rel_stem)]
    for raw in images:
        groups[raw.rel_stem] = f"{source}/{raw.rel_stem}"
        if raw.group:
            groups[raw.rel_stem] = f"{source}:{raw.group}"
            continue
        name = Path(raw.rel_stem).name
        for k, (rule, pattern) in enumerate(zip(rules, compiled, strict=True)):
            match = pattern.search(name)
            if not match or not match.group("group"):
                continue
            if rule.max_gap is not None and match.group("index"):
                numbered.setdefault((k, match.group("group")), []).append((int(match.group("index")), raw.rel_stem))
            else:
                groups[raw.rel_stem] = f"{source}:{match.group('group')}"
            break
    for (k, name), frames in numbered.items():
        gap = rules[k].max_gap or 0
        frames.sort()
        run_start, previous = frames[0][0], frames[0][0]
        for index, rel_stem in frames:
            if index - previous > gap:
                run_start = index
            previous = index
            groups[rel_stem] = f"{source}:{name}@{run_start}"
    return groups


def to_item(
    source: str, raw: RawImage, mapping: ClassMapping, group: str, declared: tuple[str, ...] | None = None
) -> Item:
    """`declared`: the classes the recipe says this source labels (default: the mapping's)."""
    boxes: list[Box] = []
    negative = False
    for rb in raw.boxes:
        if not rb.valid:
            boxes.append(Box(cls=None, xyxy=rb.xyxy, source_class=rb.source_class))
            continue
        target = mapping.target(rb.source_class)
        if target == DROP:
            continue
        if target == NEGATIVE:
            negative = True
            continue
        boxes.append(
            Box(
                cls=target,
                xyxy=rb.xyxy,
                source_class=rb.source_class,
                origin="machine" if rb.origin == "machine" else "human",
                conf=rb.conf,
                filed_by=rb.filed_by,
            )
        )
    base = list(mapping.labelled if declared is None else declared)
    extra = [mapping.classes.get(c, c) for c in raw.labelled]
    labelled = base + [c for c in extra if c in CLASS_NAMES and c not in base]
    regions = [(mapping.classes.get(c, c), xyxy) for c, xyxy in raw.ruled_out]
    ruled_out = [RuledOut(cls=c, xyxy=xyxy) for c, xyxy in regions if c in CLASS_NAMES]
    return Item(
        id=f"{source}/{raw.rel_stem}",
        source=source,
        image=str(raw.path.resolve()),
        sha256=sha256_file(raw.path),
        width=raw.width,
        height=raw.height,
        group=group,
        labelled=[] if raw.hard_negative else labelled,
        boxes=boxes,
        ruled_out=ruled_out,
        negative=negative or raw.hard_negative,
        hard_negative=raw.hard_negative,
        label_file=str(raw.label_file) if raw.label_file else None,
        problems=list(raw.problems),
    )


def import_source(dataset: Dataset, spec: SourceSpec) -> SourceRecord:
    if not NAME_RE.match(spec.name):
        raise InputError(f"source name must be letters, digits, '.', '_' or '-' (max 64), got {spec.name!r}")
    if not spec.path.exists():
        raise InputError(f"source not found: {spec.path}")
    fmt: SourceFormat = detect_format(spec.path) if spec.format == "auto" else spec.format
    mapping = load_mapping(spec.mapping)
    for rule in spec.groups:
        rule.compile()  # a bad rule fails before the source is read
    raw: RawSource = READERS[fmt](spec.path)
    mapping.check_covers(raw.declared_classes, where=f"{spec.name} ({spec.path})")
    groups = assign_groups(spec.name, raw.images, spec.groups)
    images = progress(raw.images, desc=f"hash {spec.name}")
    declared = None if spec.labelled is None else tuple(c for c in CLASS_NAMES if c in spec.labelled)
    items = [to_item(spec.name, r, mapping, groups[r.rel_stem], declared) for r in images]
    record = SourceRecord(
        name=spec.name,
        format=fmt,
        path=str(spec.path.resolve()),
        mapping=str(spec.mapping),
        mapping_sha256=mapping.sha256,
        class_map=mapping.classes,
        labelled=list(mapping.labelled if declared is None else declared),
        images=len(items),
        orphan_labels=raw.orphan_labels,
    )
    dataset.items = [item for item in dataset.items if item.source != spec.name] + items
    dataset.header.sources = [s for s in dataset.header.sources if s.name != spec.name] + [record]
    # Whatever later steps decided no longer covers the new items.
    dataset.header.dedupe = None
    dataset.header.split = None
    for item in dataset.items:
        item.split = None
        item.cluster = None
        if item.excluded and item.excluded.startswith("duplicate"):
            item.excluded = None
    return record
