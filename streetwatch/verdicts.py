"""What a reviewer says about a case, in the form both the case service and the ML team read.

- `RejectReason`: why a case was rejected, from a fixed list. Each reason means something
  different for training (docs/vending.md, "What a verdict teaches"):

  | reason            | what it says                                   | training data                        |
  |-------------------|------------------------------------------------|--------------------------------------|
  | `false_detection` | the object is not there: the model is wrong    | its boxes' regions ruled out         |
  | `not_a_violation` | the objects are real; permitted here / now     | the boxes stay labels                |
  | `duplicate`       | the same violation was filed already           | the boxes stay labels                |
  | `camera_problem`  | the frame is unusable (blurred, moved, dark)   | left out of training                 |

- `BoxEdit` / `ReviewedBox`: the reviewer's boxes on the evidence frame. A box that starts from
  one of the model's filed detections and is left exactly as it was stays a *machine* box; one
  the reviewer drew, moved, resized or re-classed is a *human* box. The origin is decided here,
  from the filed detections, never taken from the client.

Only pydantic: the case service imports it without the training stack.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from streetwatch.contract import Coordinate, DetectionRecord
from streetwatch.models.taxonomy import CLASS_NAMES

MAX_BOXES = 200
# A box within this many pixels of the detection it started from counts as untouched: the editor
# rounds coordinates to whole pixels, so a box clicked but not moved comes back within 0.5 px.
UNTOUCHED_PX = 0.75


class RejectReason(StrEnum):
    FALSE_DETECTION = "false_detection"
    NOT_A_VIOLATION = "not_a_violation"
    DUPLICATE = "duplicate"
    CAMERA_PROBLEM = "camera_problem"


REJECT_REASON_LABELS: dict[RejectReason, str] = {
    RejectReason.FALSE_DETECTION: "false detection (the object is not there)",
    RejectReason.NOT_A_VIOLATION: "not a violation here / permitted (the objects are real)",
    RejectReason.DUPLICATE: "duplicate of another case",
    RejectReason.CAMERA_PROBLEM: "camera problem (blurred, moved, dark frame)",
}


class BoxOrigin(StrEnum):
    MACHINE = "machine"
    HUMAN = "human"


Box = tuple[Coordinate, Coordinate, Coordinate, Coordinate]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, allow_inf_nan=False)


def _check_box(class_name: str, box: Box) -> None:
    if class_name not in CLASS_NAMES:
        raise ValueError(f"class must be one of {', '.join(CLASS_NAMES)}; got {class_name!r}")
    x1, y1, x2, y2 = box
    if not (x1 >= 0 and y1 >= 0 and x2 > x1 and y2 > y1):
        raise ValueError(f"box must be x1 < x2, y1 < y2, non-negative pixels; got {list(box)}")


class BoxEdit(_Strict):
    """One box as the reviewer left it (what the review page sends)."""

    class_name: str = Field(alias="class", description="taxonomy class name, e.g. stall")
    box: Box = Field(description="x1, y1, x2, y2 in source-frame pixels")
    detection: Annotated[int, Field(ge=0)] | None = Field(
        default=None, description="index of the filed detection this box started from; null for a drawn box"
    )

    @model_validator(mode="after")
    def _check(self) -> BoxEdit:
        _check_box(self.class_name, self.box)
        return self


class ReviewedBox(_Strict):
    """One box on the evidence frame after review, with who made it."""

    class_name: str = Field(alias="class")
    box: Box
    origin: BoxOrigin
    confidence: float | None = Field(default=None, ge=0, le=1, description="the model's, for machine boxes")
    detection: int | None = Field(default=None, description="index of the filed detection it comes from")

    @model_validator(mode="after")
    def _check(self) -> ReviewedBox:
        _check_box(self.class_name, self.box)
        return self


class BoxEditError(ValueError):
    pass


def _same_box(a: Box, b: Box) -> bool:
    return all(abs(p - q) <= UNTOUCHED_PX for p, q in zip(a, b, strict=True))


def resolve_boxes(
    edits: list[BoxEdit], filed: list[DetectionRecord], frame: tuple[int, int] | None
) -> list[ReviewedBox]:
    """The reviewer's edits -> boxes with origins. `frame` (width, height) bounds the boxes."""
    if len(edits) > MAX_BOXES:
        raise BoxEditError(f"at most {MAX_BOXES} boxes per case; got {len(edits)}")
    used: set[int] = set()
    out: list[ReviewedBox] = []
    for k, edit in enumerate(edits):
        if frame is not None and (edit.box[2] > frame[0] + 0.5 or edit.box[3] > frame[1] + 0.5):
            raise BoxEditError(f"box {k} {list(edit.box)} reaches outside the {frame[0]}x{frame[1]} frame")
        source = None
        if edit.detection is not None:
            if edit.detection >= len(filed):
                raise BoxEditError(f"box {k}: detection {edit.detection} does not exist (the case has {len(filed)})")
            if edit.detection in used:
                raise BoxEditError(f"box {k}: detection {edit.detection} is used by two boxes")
            used.add(edit.detection)
            source = filed[edit.detection]
        untouched = source is not None and source.class_name == edit.class_name and _same_box(source.box, edit.box)
        out.append(
            ReviewedBox(
                class_name=edit.class_name,
                box=source.box if untouched and source is not None else edit.box,
                origin=BoxOrigin.MACHINE if untouched else BoxOrigin.HUMAN,
                confidence=source.confidence if untouched and source is not None else None,
                detection=edit.detection,
            )
        )
    return out


def machine_boxes(filed: list[DetectionRecord]) -> list[ReviewedBox]:
    """The model's detections as they were filed: the boxes of a case no reviewer edited."""
    return [
        ReviewedBox(class_name=d.class_name, box=d.box, origin=BoxOrigin.MACHINE, confidence=d.confidence, detection=k)
        for k, d in enumerate(filed)
        if d.box[2] > d.box[0] and d.box[3] > d.box[1]
    ]


_SUMMARY = re.compile(
    r"boxes: (?P<boxes>\d+) \((?P<drawn>\d+) drawn, (?P<corrected>\d+) corrected, (?P<deleted>\d+) model boxes "
    r"deleted\); classes: (?P<classes>[a-z_, ]+); before: (?P<before>\d+)"
)


@dataclass(frozen=True)
class EditSummary:
    """What one box edit changed. The audit trail keeps it as one English line (`text`); the review
    page reads that line back (`parse`) to show it in the reviewer's language."""

    boxes: int
    drawn: int
    corrected: int
    deleted: int  # filed model boxes no longer among the boxes
    classes: tuple[str, ...]  # sorted
    before: int

    @classmethod
    def of(cls, before: list[ReviewedBox], after: list[ReviewedBox], n_filed: int) -> EditSummary:
        kept = {b.detection for b in after if b.detection is not None}
        return cls(
            boxes=len(after),
            drawn=sum(1 for b in after if b.detection is None),
            corrected=sum(1 for b in after if b.detection is not None and b.origin is BoxOrigin.HUMAN),
            deleted=sum(1 for k in range(n_filed) if k not in kept),
            classes=tuple(sorted({b.class_name for b in after})),
            before=len(before),
        )

    def text(self) -> str:
        return (
            f"boxes: {self.boxes} ({self.drawn} drawn, {self.corrected} corrected, {self.deleted} model boxes "
            f"deleted); classes: {', '.join(self.classes) or 'none'}; before: {self.before}"
        )

    @classmethod
    def parse(cls, text: str) -> EditSummary | None:
        """The summary a `text()` line holds; None for any other text (a note cut short, say)."""
        match = _SUMMARY.fullmatch(text)
        if match is None:
            return None
        names = match["classes"]
        classes = () if names == "none" else tuple(names.split(", "))
        numbers = {k: int(match[k]) for k in ("boxes", "drawn", "corrected", "deleted", "before")}
        return cls(classes=classes, **numbers)


def describe_edit(before: list[ReviewedBox], after: list[ReviewedBox], n_filed: int) -> str:
    """One line for the audit trail: what the reviewer changed."""
    return EditSummary.of(before, after, n_filed).text()
