"""Reviewed cases (the case service's export, `case_export.py`) -> a COCO source `import` reads.

    OUT/annotations.json  COCO: images (+ `group` = camera, `labelled` (always []), `ruled_out`,
                          `case_id`, `status`, `reject_code`), annotations (+ `origin`
                          machine/human, `score`, `filed_by`), categories = taxonomy classes
    OUT/images/<sha256>.jpg
    OUT/mapping.yaml      identity map; `labelled: []` because a case labels only the objects of
                          its violation, not every object in the frame (pseudo-labels fill the rest)

What each verdict teaches (docs/vending.md, "What a verdict teaches"):
- accepted, and rejected as `not_a_violation` or `duplicate`: the objects are real; the boxes on
  the frame after review are labels (machine boxes as the model filed them, human ones as the
  reviewer drew or corrected them).
- a model box the reviewer deleted, and every model box of a `false_detection` rejection whose
  boxes the reviewer did not edit, says "this box is wrong": its region is *ruled out* for its
  class (`ruled_out`: the teacher adds no box of that class there, the region is background for
  that class only). The class is never made absent image-wide: the reviewer judged the model's
  box, not every object in the frame, so other boxes of the class stay, and a real object the
  model missed elsewhere may still be filled by the teacher.
- `camera_problem`, and rejections without a reason code (made before codes existed), are left out.
No verdict turns the other objects of a frame into background.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from streetwatch.datasets.case_export import (
    CASES_FILE,
    MANIFEST_FILE,
    CaseExportManifest,
    ExportedCase,
)
from streetwatch.datasets.progress import progress
from streetwatch.errors import InputError
from streetwatch.files import sha256_file
from streetwatch.models.taxonomy import CLASS_NAMES
from streetwatch.verdicts import RejectReason, ReviewedBox

COCO_FILE = "annotations.json"
MAPPING_FILE = "mapping.yaml"
KEEPS_OBJECTS = (RejectReason.NOT_A_VIOLATION, RejectReason.DUPLICATE, RejectReason.FALSE_DETECTION)


@dataclass(frozen=True)
class CaseLabels:
    """What one reviewed case puts in the training set."""

    boxes: list[ReviewedBox]
    ruled_out: list[tuple[str, tuple[float, float, float, float]]]  # (class, xyxy): "this box is wrong"


@dataclass(frozen=True)
class FromCasesResult:
    accepted: int
    rejected: int
    boxes: int
    out: Path
    human_boxes: int = 0
    machine_boxes: int = 0
    ruled_out: dict[str, int] = field(default_factory=dict)  # class -> regions ruled out for it
    left_out: dict[str, int] = field(default_factory=dict)  # why -> cases


def read_cases(export_dir: Path) -> list[ExportedCase]:
    manifest_path, cases_path = export_dir / MANIFEST_FILE, export_dir / CASES_FILE
    if not manifest_path.is_file() or not cases_path.is_file():
        raise InputError(f"{export_dir}: not a case export (expected {MANIFEST_FILE} and {CASES_FILE})")
    try:
        manifest = CaseExportManifest.model_validate_json(manifest_path.read_text(encoding="utf-8"))
    except ValidationError as exc:
        raise InputError(f"{manifest_path}: not a case export manifest: {exc}") from None
    cases: list[ExportedCase] = []
    for lineno, line in enumerate(cases_path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            cases.append(ExportedCase.model_validate_json(line))
        except ValidationError as exc:
            raise InputError(f"{cases_path}:{lineno}: not a valid exported case: {exc}") from None
    if len(cases) != manifest.count:
        raise InputError(f"{manifest_path}: count says {manifest.count} cases, {cases_path.name} has {len(cases)}")
    return cases


def labels_of(case: ExportedCase) -> CaseLabels | str:
    """The labels a verdict implies, or why the case is left out of training."""
    if case.status == "rejected":
        if case.reject_code is None:
            return "rejected without a reason code"
        if case.reject_code is RejectReason.CAMERA_PROBLEM:
            return "camera problem"
    boxes = list(case.boxes)
    if case.reject_code is RejectReason.FALSE_DETECTION and not case.boxes_edited:
        boxes = []  # the reviewer said the model's objects are not there, and kept none
    kept = {b.detection for b in boxes if b.detection is not None}
    # A box the reviewer kept (moved, resized or re-classed: `detection` set) was a real object.
    deleted = [(d.class_name, d.box) for k, d in enumerate(case.detections) if k not in kept and d.box[2] > d.box[0]]
    return CaseLabels(boxes=boxes, ruled_out=deleted)


def _mapping_yaml() -> str:
    lines = [
        "# Written by `streetwatch data from-cases`: case labels already use taxonomy names.",
        "# labelled: [] -- a case labels the objects of its violation, not every object in the frame;",
        "# an image's `ruled_out` list (annotations.json) names the regions a reviewer said are not a class.",
        "classes:",
        *[f"  {name}: {name}" for name in CLASS_NAMES],
        "labelled: []",
    ]
    return "\n".join(lines) + "\n"


def cases_to_source(export_dir: Path, out: Path) -> FromCasesResult:
    cases = read_cases(export_dir)
    (out / "images").mkdir(parents=True, exist_ok=True)
    categories = [{"id": k + 1, "name": name} for k, name in enumerate(CLASS_NAMES)]
    images: list[dict[str, object]] = []
    annotations: list[dict[str, object]] = []
    accepted = rejected = 0
    origins: Counter[str] = Counter()
    negatives: Counter[str] = Counter()
    left_out: Counter[str] = Counter()
    seen: set[str] = set()
    for case in progress(sorted(cases, key=lambda c: (len(c.case_id), c.case_id)), desc="cases"):
        source_image = export_dir / case.image
        if not source_image.is_file():
            raise InputError(f"case {case.case_id}: image {case.image} missing from {export_dir}")
        if sha256_file(source_image) != case.image_sha256:
            raise InputError(f"case {case.case_id}: {case.image} does not match its image_sha256")
        verdict = labels_of(case)
        if isinstance(verdict, str):
            left_out[verdict] += 1
            continue
        if case.image_sha256 in seen:
            left_out["frame already used by an earlier case"] += 1
            continue  # one frame reviewed twice: the first (by case id) stands
        seen.add(case.image_sha256)
        target = out / case.image
        if not target.is_file():
            shutil.copyfile(source_image, target)
        image_id = len(images) + 1
        images.append(
            {
                "id": image_id,
                "file_name": case.image,
                "width": case.width,
                "height": case.height,
                "group": case.camera_id,
                "labelled": [],  # a case labels no class exhaustively: the teacher fills around it
                "ruled_out": [
                    {"class": c, "bbox": [x1, y1, x2 - x1, y2 - y1]} for c, (x1, y1, x2, y2) in verdict.ruled_out
                ],
                "case_id": case.case_id,
                "status": case.status,
                "reject_code": case.reject_code.value if case.reject_code else None,
            }
        )
        accepted += case.status == "accepted"
        rejected += case.status == "rejected"
        negatives.update(c for c, _ in verdict.ruled_out)
        filed_by = f"{case.model.name} {case.model.version}"
        for box in verdict.boxes:
            x1, y1, x2, y2 = box.box
            origins[box.origin.value] += 1
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image_id,
                    "category_id": CLASS_NAMES.index(box.class_name) + 1,
                    "bbox": [x1, y1, x2 - x1, y2 - y1],
                    "area": (x2 - x1) * (y2 - y1),
                    "iscrowd": 0,
                    "origin": box.origin.value,
                    "score": box.confidence,
                    "filed_by": filed_by if box.origin.value == "machine" else case.boxes_by,
                }
            )
    coco = {"images": images, "annotations": annotations, "categories": categories}
    (out / COCO_FILE).write_text(json.dumps(coco, indent=1) + "\n", encoding="utf-8")
    (out / MAPPING_FILE).write_text(_mapping_yaml(), encoding="utf-8")
    return FromCasesResult(
        accepted=accepted,
        rejected=rejected,
        boxes=len(annotations),
        out=out,
        human_boxes=origins["human"],
        machine_boxes=origins["machine"],
        ruled_out=dict(sorted(negatives.items())),
        left_out=dict(sorted(left_out.items())),
    )
