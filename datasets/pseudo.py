"""Pseudo-labelling: a teacher fills the classes a source never labelled, human labels win.

For each image the teacher may add boxes only for classes that are (a) asked for, (b) known to
the teacher and (c) not labelled exhaustively by the source (`Item.labelled`). A machine box that
overlaps a human box of the same class (IoU >= iou_merge) is left out: the human one stands; so is
one overlapping a region a reviewer ruled out for its class (`Item.ruled_out`: a deleted model box).
Machine boxes carry origin="machine" and the teacher's confidence, so training can review,
weight or exclude them. Rejected-case images (hard negatives) get nothing.

Teacher outputs are cached per image content (sha256) and teacher sha256 at the threshold used,
so a rebuild, or a higher threshold, never runs the teacher again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from streetwatch.datasets.progress import progress
from streetwatch.datasets.schema import Box, Item, PseudoLabelRecord, PseudoStamp, RuledOut
from streetwatch.datasets.store import Dataset
from streetwatch.datasets.teacher import taxonomy_names
from streetwatch.errors import InputError
from streetwatch.inference.boxes import box_iou
from streetwatch.models.taxonomy import CLASS_NAMES

if TYPE_CHECKING:
    from streetwatch.inference.detector import Detector

# (class name, confidence, x1, y1, x2, y2) per teacher detection, taxonomy names only.
CachedDet = tuple[str, float, float, float, float, float]


def merge_machine(
    human: list[Box],
    detections: Iterable[CachedDet],
    fill: set[str],
    threshold: Callable[[str], float],
    iou_merge: float,
    ruled_out: Sequence[RuledOut] = (),
) -> list[Box]:
    """Teacher boxes for `fill` classes above their class's threshold not covered by a human box,
    nor by a region a reviewer ruled out for that class (the same IoU decides both)."""
    machine: list[Box] = []
    for name, score, x1, y1, x2, y2 in detections:
        if name not in fill or score <= threshold(name):
            continue
        xyxy = (x1, y1, x2, y2)
        if any(h.cls == name and box_iou(h.xyxy, xyxy) >= iou_merge for h in human):
            continue
        if any(r.cls == name and box_iou(r.xyxy, xyxy) >= iou_merge for r in ruled_out):
            continue
        machine.append(Box(cls=name, xyxy=xyxy, source_class=name, origin="machine", conf=round(score, 4)))
    return machine


def kept_boxes(item: Item) -> list[Box]:
    """Human boxes and case-model boxes: a teacher pass never replaces them (earlier teacher boxes it does)."""
    return [b for b in item.boxes if b.origin == "human" or b.filed_by is not None]


def merge(item: Item, detections: Iterable[CachedDet], fill: set[str], conf: float, iou_merge: float) -> list[Box]:
    """Human boxes and case-model boxes unchanged + teacher boxes for `fill` classes above `conf` not
    covered by one of them. Earlier teacher boxes (machine, no `filed_by`) are replaced."""
    human = kept_boxes(item)
    return human + merge_machine(human, detections, fill, lambda _: conf, iou_merge, item.ruled_out)


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


@dataclass(frozen=True)
class TeacherSpec:
    """One teacher of a pseudo-labelling pass: which classes it may fill and above which confidence.

    `class_conf` lowers (or raises) the threshold for single classes: the COCO teacher fills the
    vending proxies (umbrella, dining_table) at a lower one so the student keeps seeing them.
    """

    model_path: Path
    conf: float = 0.35
    classes: tuple[str, ...] | None = None
    class_conf: tuple[tuple[str, float], ...] = ()
    iou_merge: float = 0.5
    expected_sha256: str | None = None

    def threshold(self, name: str) -> float:
        return dict(self.class_conf).get(name, self.conf)

    @property
    def floor(self) -> float:
        return min([self.conf, *(c for _, c in self.class_conf)])


@dataclass
class _Loaded:
    spec: TeacherSpec
    detector: Detector
    to_taxonomy: dict[int, str]
    usable: set[str]
    record: PseudoLabelRecord
    cache: TeacherCache


def _load(spec: TeacherSpec, threads: int | None, cache_dir: Path | None) -> _Loaded:
    from streetwatch.inference.detector import Detector

    thresholds = [spec.conf, *(c for _, c in spec.class_conf)]
    if not all(0.0 < c < 1.0 for c in thresholds):
        raise InputError(f"pseudo-label thresholds must be in (0, 1), got {thresholds}")
    # The recipe's thresholds decide, not the ones the teacher's release chose for the edge.
    detector = Detector(
        spec.model_path, conf=spec.floor, threads=threads, sha256=spec.expected_sha256, release_thresholds=False
    )
    to_taxonomy = taxonomy_names(detector.names)
    wanted = set(CLASS_NAMES) if spec.classes is None else set(spec.classes)
    unknown = (wanted | {n for n, _ in spec.class_conf}) - set(CLASS_NAMES)
    if unknown:
        raise InputError(f"pseudo-label classes must be taxonomy classes; unknown: {', '.join(sorted(unknown))}")
    usable = wanted & set(to_taxonomy.values())
    if not usable:
        raise InputError(
            f"teacher {spec.model_path.name} knows none of the requested classes {sorted(wanted)}; "
            f"its classes: {', '.join(detector.names)}"
        )
    record = PseudoLabelRecord(
        model=spec.model_path.name,
        model_sha256=detector.info.sha256,
        conf=spec.conf,
        iou_merge=spec.iou_merge,
        classes=[c for c in CLASS_NAMES if c in usable],
        class_conf={n: c for n, c in spec.class_conf if n in usable},
    )
    return _Loaded(spec, detector, to_taxonomy, usable, record, TeacherCache(cache_dir, detector.info.sha256))


def _stamp(loaded: list[_Loaded]) -> PseudoStamp:
    if len(loaded) == 1 and not loaded[0].spec.class_conf:
        return PseudoStamp(model_sha256=loaded[0].record.model_sha256, conf=loaded[0].spec.conf)
    # Several teachers (or per-class thresholds): one stamp naming all of them and their settings.
    key = json.dumps([t.record.model_dump() for t in loaded], sort_keys=True)
    return PseudoStamp(model_sha256=hashlib.sha256(key.encode()).hexdigest(), conf=min(t.spec.floor for t in loaded))


def _teacher_dets(teacher: _Loaded, item: Item, read_frame: Callable[[], np.ndarray | None]) -> list[CachedDet] | None:
    """The teacher's detections on `item` (cached by image content); None if the image is unreadable."""
    cached = teacher.cache.get(item.sha256, teacher.spec.floor)
    if cached is not None:
        return cached
    frame = read_frame()
    if frame is None:
        return None
    result = teacher.detector.detect(frame)
    cached = [
        (teacher.to_taxonomy[int(c)], round(float(s), 4), *(round(float(v), 2) for v in np.asarray(xyxy)))
        for xyxy, s, c, _ in result
        if int(c) in teacher.to_taxonomy  # every taxonomy class: the cache serves other class sets too
    ]
    teacher.cache.put(item.sha256, teacher.spec.floor, cached)
    return cached


def pseudo_label_many(
    dataset: Dataset, teachers: Sequence[TeacherSpec], *, cache_dir: Path | None = None, threads: int | None = None
) -> PseudoResult:
    """Every teacher fills, on each image, the classes it knows that the image's source did not label.

    Teachers must fill disjoint classes (the COCO teacher people and vehicles, a fire/smoke model
    smoke on a fire-only source), so no two machine boxes compete for one object.
    """
    import cv2

    if not teachers:
        raise InputError("pseudo-label needs at least one teacher")
    loaded = [_load(t, threads, cache_dir) for t in teachers]
    seen: dict[str, str] = {}
    for t in loaded:
        for c in t.usable:
            if c in seen:
                raise InputError(
                    f"class {c!r} is filled by two teachers ({seen[c]} and {t.record.model}); give it to one"
                )
            seen[c] = t.record.model
    records = [t.record for t in loaded]
    same_run = dataset.header.pseudo_labels == records or (
        len(records) == 1 and dataset.header.pseudo_label == records[0]
    )
    stamp = _stamp(loaded)
    runs = 0
    for item in progress(dataset.items, desc="pseudo-label"):
        if same_run and item.pseudo == stamp:
            continue
        frame_box: list[np.ndarray | None] = []

        def read_frame(item: Item = item, frame_box: list[np.ndarray | None] = frame_box) -> np.ndarray | None:
            nonlocal runs
            if not frame_box:
                frame_box.append(cv2.imread(item.image, cv2.IMREAD_COLOR))
            runs += frame_box[0] is not None
            return frame_box[0]

        human = kept_boxes(item)
        boxes = list(human)
        unreadable = False
        for teacher in loaded:
            fill = teacher.usable - set(item.labelled)
            if not fill or item.hard_negative or item.excluded is not None:
                continue
            dets = _teacher_dets(teacher, item, read_frame)
            if dets is None:  # unreadable: `check` reports it; nothing to label
                unreadable = True
                break
            boxes += merge_machine(human, dets, fill, teacher.spec.threshold, teacher.spec.iou_merge, item.ruled_out)
        if not unreadable:
            item.boxes = boxes
        item.pseudo = stamp
    dataset.header.pseudo_label = records[0]
    dataset.header.pseudo_labels = records
    machine = sum(len(i.machine_boxes) for i in dataset.items)
    return PseudoResult(images=len(dataset.items), teacher_runs=runs, machine_boxes=machine)


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
    """One teacher, one threshold: `pseudo_label_many` with a single `TeacherSpec`."""
    if not 0.0 < conf < 1.0:
        raise InputError(f"pseudo-label threshold must be in (0, 1), got {conf}")
    spec = TeacherSpec(
        model_path=model_path,
        conf=conf,
        classes=None if classes is None else tuple(classes),
        iou_merge=iou_merge,
        expected_sha256=expected_sha256,
    )
    return pseudo_label_many(dataset, [spec], cache_dir=cache_dir, threads=threads)
