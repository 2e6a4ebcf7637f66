"""Dataset checks and the safe fixes for them.

Safe means a fix never invents, moves or relabels an object: it clips a box to the image, drops
a box that cannot teach anything (zero area, exact duplicate), or leaves out an image whose
labels are provably broken (corrupt file, unknown class id, unreadable label line) — a partly
labelled image would teach that its unlabelled objects are background.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from streetwatch.datasets.hashing import sha256_bytes
from streetwatch.datasets.progress import progress
from streetwatch.datasets.schema import Box, Item
from streetwatch.datasets.store import Dataset
from streetwatch.inference.boxes import box_iou

Severity = Literal["error", "warning"]
CheckName = Literal[
    "corrupt_image",
    "image_changed",
    "box_out_of_range",
    "zero_area_box",
    "duplicate_box",
    "class_out_of_range",
    "unreadable_label",
    "label_without_image",
    "image_without_label",
    "negative_with_boxes",
]

MIN_SIDE_PX = 1.0  # a box thinner than one pixel has no area to learn from
OUT_OF_RANGE_TOLERANCE_PX = 0.5  # rounding in normalised labels
DUPLICATE_IOU = 0.95


@dataclass(frozen=True)
class Issue:
    check: CheckName
    severity: Severity
    where: str  # item id, or source name for source-level issues
    message: str
    fixable: bool


@dataclass
class CheckReport:
    issues: list[Issue]
    fixed: int = 0

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    def counts(self) -> Counter[str]:
        return Counter(i.check for i in self.issues)

    def to_markdown(self, limit: int = 20) -> str:
        lines = ["# Dataset check", ""]
        if not self.issues:
            return "\n".join([*lines, "No issues found.", ""])
        lines += ["| check | severity | count | fixable |", "|---|---|---|---|"]
        by_check: dict[str, list[Issue]] = {}
        for issue in self.issues:
            by_check.setdefault(issue.check, []).append(issue)
        for check, issues in sorted(by_check.items()):
            fixable = "yes" if issues[0].fixable else "no"
            lines.append(f"| {check} | {issues[0].severity} | {len(issues)} | {fixable} |")
        for check, issues in sorted(by_check.items()):
            lines += ["", f"## {check}", ""]
            lines += [f"- `{i.where}`: {i.message}" for i in issues[:limit]]
            if len(issues) > limit:
                lines.append(f"- … and {len(issues) - limit} more")
        if self.fixed:
            lines += ["", f"Fixed {self.fixed} issue(s) with --fix; the table lists what was found before fixing."]
        return "\n".join(lines) + "\n"


def image_problem(path: Path, expected_sha256: str, width: int, height: int) -> tuple[CheckName, str] | None:
    """Decode the whole image: a corrupt or truncated file, or one changed since import."""
    from PIL import Image, UnidentifiedImageError

    try:
        data = path.read_bytes()
    except OSError as exc:
        return "corrupt_image", f"cannot read {path}: {exc.strerror}"
    if path.suffix.lower() in (".jpg", ".jpeg") and not data.rstrip(b"\x00").endswith(b"\xff\xd9"):
        return "corrupt_image", "truncated JPEG (no end-of-image marker)"
    try:
        import io

        with Image.open(io.BytesIO(data)) as image:
            image.load()
            size = image.size
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        return "corrupt_image", f"cannot decode: {exc}"
    if sha256_bytes(data) != expected_sha256:
        return "image_changed", "file content changed since import (re-import the source)"
    if size != (width, height):
        return "image_changed", f"size {size[0]}x{size[1]} differs from imported {width}x{height}"
    return None


def _box_issues(item: Item) -> list[Issue]:
    issues: list[Issue] = []
    kept: list[Box] = []
    for box in item.boxes:
        x1, y1, x2, y2 = box.xyxy
        name = box.cls or f"id {box.source_class}"
        tol = OUT_OF_RANGE_TOLERANCE_PX
        if box.cls is None:
            issues.append(
                Issue(
                    "class_out_of_range",
                    "error",
                    item.id,
                    f"class id {box.source_class} not declared by the source",
                    True,
                )
            )
        if x1 < -tol or y1 < -tol or x2 > item.width + tol or y2 > item.height + tol:
            issues.append(
                Issue(
                    "box_out_of_range",
                    "warning",
                    item.id,
                    f"{name} box {_fmt(box.xyxy)} outside the {item.width}x{item.height} image",
                    True,
                )
            )
        cx1, cy1, cx2, cy2 = _clip(box.xyxy, item.width, item.height)
        if cx2 - cx1 < MIN_SIDE_PX or cy2 - cy1 < MIN_SIDE_PX:
            issues.append(Issue("zero_area_box", "warning", item.id, f"{name} box {_fmt(box.xyxy)} has no area", True))
            continue
        if any(k.cls == box.cls and box_iou(k.xyxy, box.xyxy) >= DUPLICATE_IOU for k in kept):
            issues.append(Issue("duplicate_box", "warning", item.id, f"{name} box {_fmt(box.xyxy)} repeated", True))
            continue
        kept.append(box)
    if item.negative and not item.hard_negative:
        own = [b for b in item.boxes if b.cls in item.labelled and b.origin == "human"]
        if own:
            issues.append(
                Issue(
                    "negative_with_boxes",
                    "warning",
                    item.id,
                    f"marked negative by the source but has {len(own)} box(es) of its own classes",
                    False,
                )
            )
    return issues


def run_checks(dataset: Dataset, *, images: bool = True) -> CheckReport:
    issues: list[Issue] = []
    for source in dataset.header.sources:
        for orphan in source.orphan_labels:
            issues.append(Issue("label_without_image", "warning", source.name, orphan, False))
    for item in progress(dataset.active(), desc="check"):
        if images:
            problem = image_problem(Path(item.image), item.sha256, item.width, item.height)
            if problem:
                issues.append(Issue(problem[0], "error", item.id, problem[1], problem[0] == "corrupt_image"))
        for problem_text in item.problems:
            issues.append(Issue("unreadable_label", "error", item.id, problem_text, True))
        source = dataset.header.source(item.source)
        if item.label_file is None and source is not None and source.format in ("yolo", "voc"):
            issues.append(
                Issue("image_without_label", "warning", item.id, "no label file: treated as a negative", False)
            )
        issues.extend(_box_issues(item))
    return CheckReport(issues=issues)


def apply_fixes(dataset: Dataset, report: CheckReport) -> int:
    """Apply the safe fixes for the issues in `report`; returns how many issues were fixed."""
    by_item: dict[str, list[Issue]] = {}
    for issue in report.issues:
        if issue.fixable:
            by_item.setdefault(issue.where, []).append(issue)
    fixed = 0
    for item in dataset.items:
        found = by_item.get(item.id)
        if not found:
            continue
        fixed += len(found)
        exclude = next(
            (i for i in found if i.check in ("corrupt_image", "class_out_of_range", "unreadable_label")), None
        )
        if exclude is not None:
            item.excluded = f"{exclude.check}: {exclude.message}"
            continue
        kept: list[Box] = []
        for box in item.boxes:
            clipped = _clip(box.xyxy, item.width, item.height)
            if clipped[2] - clipped[0] < MIN_SIDE_PX or clipped[3] - clipped[1] < MIN_SIDE_PX:
                continue
            if any(k.cls == box.cls and box_iou(k.xyxy, clipped) >= DUPLICATE_IOU for k in kept):
                continue
            kept.append(box.model_copy(update={"xyxy": clipped}))
        item.boxes = kept
    report.fixed = fixed
    return fixed


def _clip(xyxy: tuple[float, float, float, float], width: int, height: int) -> tuple[float, float, float, float]:
    x1, y1, x2, y2 = xyxy
    return (min(max(x1, 0.0), width), min(max(y1, 0.0), height), min(max(x2, 0.0), width), min(max(y2, 0.0), height))


def _fmt(xyxy: tuple[float, float, float, float]) -> str:
    return "[" + ", ".join(f"{v:.1f}" for v in xyxy) + "]"
