"""Reviewed cases (the case service's export, `case_export.py`) -> a COCO source `import` reads.

    OUT/annotations.json  COCO: images (+ `group` = camera, `hard_negative`, `case_id`, `status`),
                          annotations from the confirmed labels, categories = taxonomy classes
    OUT/images/<sha256>.jpg
    OUT/mapping.yaml      identity map; `labelled: []` because a case labels only the objects of
                          its violation, not every object in the frame (pseudo-labels fill the rest)

Accepted cases become positive labels; rejected cases hard negatives (no boxes, never
pseudo-labelled: the teacher would likely repeat the claim the reviewer rejected).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from streetwatch.datasets.case_export import (
    CASES_FILE,
    MANIFEST_FILE,
    CaseExportManifest,
    ExportedCase,
)
from streetwatch.datasets.hashing import sha256_path
from streetwatch.datasets.progress import progress
from streetwatch.errors import InputError
from streetwatch.models.taxonomy import CLASS_NAMES

COCO_FILE = "annotations.json"
MAPPING_FILE = "mapping.yaml"


@dataclass(frozen=True)
class FromCasesResult:
    accepted: int
    rejected: int
    boxes: int
    out: Path


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


def _mapping_yaml() -> str:
    lines = [
        "# Written by `streetwatch data from-cases`: case labels already use taxonomy names.",
        "# labelled: [] -- a case labels the objects of its violation, not every object in the frame.",
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
    seen: set[str] = set()
    for case in progress(sorted(cases, key=lambda c: c.case_id), desc="cases"):
        source_image = export_dir / case.image
        if not source_image.is_file():
            raise InputError(f"case {case.case_id}: image {case.image} missing from {export_dir}")
        if sha256_path(source_image) != case.image_sha256:
            raise InputError(f"case {case.case_id}: {case.image} does not match its image_sha256")
        if case.image_sha256 in seen:
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
                "hard_negative": case.status == "rejected",
                "case_id": case.case_id,
                "status": case.status,
            }
        )
        if case.status == "rejected":
            rejected += 1
            continue
        accepted += 1
        for label in case.labels:
            x1, y1, x2, y2 = label.box
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image_id,
                    "category_id": CLASS_NAMES.index(label.class_name) + 1,
                    "bbox": [x1, y1, x2 - x1, y2 - y1],
                    "area": (x2 - x1) * (y2 - y1),
                    "iscrowd": 0,
                }
            )
    coco = {"images": images, "annotations": annotations, "categories": categories}
    (out / COCO_FILE).write_text(json.dumps(coco, indent=1) + "\n", encoding="utf-8")
    (out / MAPPING_FILE).write_text(_mapping_yaml(), encoding="utf-8")
    return FromCasesResult(accepted=accepted, rejected=rejected, boxes=len(annotations), out=out)
