"""Pseudo-labelling: a teacher fills the classes a source never labelled, human labels win.

For each image the teacher may add boxes only for classes that are (a) asked for, (b) known to
the teacher and (c) not labelled exhaustively by the source (`Item.labelled`). A machine box that
overlaps a human box of the same class (IoU >= iou_merge) is left out: the human one stands.
Machine boxes carry origin="machine" and the teacher's confidence, so training can review,
weight or exclude them. Rejected-case images (hard negatives) get nothing.

Teacher outputs are cached per image content (sha256) and teacher sha256 at the threshold used,
so a rebuild, or a higher threshold, never runs the teacher again.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from streetwatch.datasets.progress import progress
from streetwatch.datasets.schema import Box, Item, PseudoLabelRecord, PseudoStamp
from streetwatch.datasets.store import Dataset
from streetwatch.datasets.teacher import taxonomy_names
from streetwatch.errors import InputError
from streetwatch.inference.boxes import box_iou
from streetwatch.models.taxonomy import CLASS_NAMES

# (class name, confidence, x1, y1, x2, y2) per teacher detection, taxonomy names only.
CachedDet = tuple[str, float, float, float, float, float]


def merge(item: Item, detections: Iterable[CachedDet], fill: set[str], conf: float, iou_merge: float) -> list[Box]:
    """Human boxes and case-model boxes unchanged + teacher boxes for `fill` classes above `conf` not
    covered by one of them. Earlier teacher boxes (machine, no `filed_by`) are replaced."""
    human = [b for b in item.boxes if b.origin == "human" or b.filed_by is not None]
    merged = list(human)
    for name, score, x1, y1, x2, y2 in detections:
        if name not in fill or score <= conf:
            continue
        xyxy = (x1, y1, x2, y2)
        if any(h.cls == name and box_iou(h.xyxy, xyxy) >= iou_merge for h in human):
            continue
        merged.append(Box(cls=name, xyxy=xyxy, source_class=name, origin="machine", conf=round(score, 4)))
    return merged


class TeacherCache:
    """JSON lines `{sha256, floor, dets}` per teacher; a record serves any threshold >= its floor."""

    def __init__(self, folder: Path | None, model_sha256: str) -> None:
        self.path = folder / f"pseudo-{model_sha256[:16]}.jsonl" if folder else None
        self.records: dict[str, tuple[float, list[CachedDet]]] = {}
        if self.path and self.path.is_file():
            for line in self.path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    rec = json.loads(line)
                    self.records[rec["sha256"]] = (float(rec["floor"]), [tuple(d) for d in rec["dets"]])

    def get(self, sha256: str, conf: float) -> list[CachedDet] | None:
        hit = self.records.get(sha256)
        if hit is None or hit[0] > conf:
            return None
        return hit[1]

    def put(self, sha256: str, floor: float, dets: list[CachedDet]) -> None:
        self.records[sha256] = (floor, dets)
        if self.path:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps({"sha256": sha256, "floor": floor, "dets": dets}) + "\n")


@dataclass(frozen=True)
class PseudoResult:
    images: int
    teacher_runs: int
    machine_boxes: int


def pseudo_label(
    dataset: Dataset,
    model_path: Path,
    *,
    conf: float = 0.35,
    classes: Iterable[str] | None = None,
    iou_merge: float = 0.5,
    cache_dir: Path | None = None,
    threads: int | None = None,
    expected_sha256: str | None = None,
) -> PseudoResult:
    import cv2

    from streetwatch.inference.detector import Detector

    if not 0.0 < conf < 1.0:
        raise InputError(f"pseudo-label threshold must be in (0, 1), got {conf}")
    detector = Detector(model_path, conf=conf, threads=threads, sha256=expected_sha256)
    to_taxonomy = taxonomy_names(detector.names)
    wanted = set(CLASS_NAMES) if classes is None else set(classes)
    unknown = wanted - set(CLASS_NAMES)
    if unknown:
        raise InputError(f"pseudo-label classes must be taxonomy classes; unknown: {', '.join(sorted(unknown))}")
    usable = wanted & set(to_taxonomy.values())
    if not usable:
        raise InputError(
            f"teacher {model_path.name} knows none of the requested classes {sorted(wanted)}; "
            f"its classes: {', '.join(detector.names)}"
        )
    record = PseudoLabelRecord(
        model=model_path.name,
        model_sha256=detector.info.sha256,
        conf=conf,
        iou_merge=iou_merge,
        classes=[c for c in CLASS_NAMES if c in usable],
    )
    same_run = dataset.header.pseudo_label == record
    stamp = PseudoStamp(model_sha256=detector.info.sha256, conf=conf)
    cache = TeacherCache(cache_dir, detector.info.sha256)
    runs = 0
    for item in progress(dataset.items, desc="pseudo-label"):
        if same_run and item.pseudo == stamp:
            continue
        fill = usable - set(item.labelled)
        dets: list[CachedDet] = []
        if fill and not item.hard_negative and item.excluded is None:
            cached = cache.get(item.sha256, conf)
            if cached is None:
                frame = cv2.imread(item.image, cv2.IMREAD_COLOR)
                if frame is None:  # unreadable: `check` reports it; nothing to label
                    item.pseudo = stamp
                    continue
                result = detector.detect(frame)
                runs += 1
                cached = [
                    (to_taxonomy[int(c)], round(float(s), 4), *(round(float(v), 2) for v in np.asarray(xyxy)))
                    for xyxy, s, c, _ in result
                    if int(c) in to_taxonomy  # every taxonomy class: the cache serves other class sets too
                ]
                cache.put(item.sha256, conf, cached)
            dets = cached
        item.boxes = merge(item, dets, fill, conf, iou_merge)
        item.pseudo = stamp
    dataset.header.pseudo_label = record
    machine = sum(len(i.machine_boxes) for i in dataset.items)
    return PseudoResult(images=len(dataset.items), teacher_runs=runs, machine_boxes=machine)
