"""The format of reviewed cases exported by the case service for training.

Written by `streetwatch cases export`, read by `streetwatch data from-cases`. A folder:

    manifest.json        CaseExportManifest
    cases.jsonl          one ExportedCase per line
    images/<sha256>.jpg  the clean confirmation frame of each case (content-addressed)

Each case carries the model's detections as filed (`detections`) and the boxes on the frame
after review (`boxes`): the reviewer's edit when there is one, else the filed detections, each
marked `machine` (the model's, untouched) or `human` (drawn or corrected by the reviewer). A
rejection carries its reason code (`reject_code`, streetwatch.verdicts.RejectReason) and note;
`data from-cases` turns verdict + reason + boxes into labels (see from_cases.py).
Version 2 (reason codes, reviewed boxes) replaced version 1 (`labels`/`rejected_detections`).
Only pydantic here, so the case service can write it without the training stack.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from streetwatch.contract import DetectionRecord, ModelRef, Sha256
from streetwatch.models.taxonomy import ViolationType
from streetwatch.verdicts import RejectReason, ReviewedBox

EXPORT_FORMAT = "streetwatch.cases-export"
EXPORT_VERSION = 2
MANIFEST_FILE = "manifest.json"
CASES_FILE = "cases.jsonl"
IMAGES_DIR = "images"


class CaseExportManifest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: Literal["streetwatch.cases-export"] = EXPORT_FORMAT
    version: int = EXPORT_VERSION
    exported_at: AwareDatetime
    statuses: list[str]
    since: AwareDatetime | None = None
    count: int = Field(ge=0)
    public: bool = Field(
        default=False,
        description="images are the public copies (people and other plates hidden), no staff names: fit to publish",
    )

    @model_validator(mode="after")
    def _version(self) -> CaseExportManifest:
        if self.version != EXPORT_VERSION:
            raise ValueError(
                f"export format version {self.version}; this version reads {EXPORT_VERSION}: "
                "export again with this version of `streetwatch cases export`"
            )
        return self


class ExportedCase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    case_id: str
    event_id: str
    status: Literal["accepted", "rejected"]
    violation_type: ViolationType = Field(description="as filed by the edge box")
    reviewed_violation_type: ViolationType | None = Field(default=None, description="set when reclassified")
    reject_reason: str | None = Field(default=None, description="the reviewer's note")
    reject_code: RejectReason | None = Field(default=None, description="why rejected; null on older rejections")
    event_code: str | None = Field(default=None, description="the city's event code (大类-小类) the case carries")
    reviewer: str | None = None
    reviewed_at: AwareDatetime | None = None
    camera_id: str
    image: str = Field(description="path relative to the export folder: images/<sha256>.jpg")
    image_sha256: Sha256
    width: int = Field(gt=0)
    height: int = Field(gt=0)
    detections: list[DetectionRecord] = Field(description="the model's boxes as filed")
    boxes: list[ReviewedBox] = Field(description="the boxes on the frame after review, machine or human")
    boxes_edited: bool = Field(default=False, description="a reviewer edited the boxes (else: the filed ones)")
    boxes_by: str | None = None
    boxes_at: AwareDatetime | None = None
    model: ModelRef

    @model_validator(mode="after")
    def _check(self) -> ExportedCase:
        if self.reject_code is not None and self.status != "rejected":
            raise ValueError("reject_code is only set on rejected cases")
        if self.image != f"{IMAGES_DIR}/{self.image_sha256}.jpg":
            raise ValueError(f"image must be {IMAGES_DIR}/<image_sha256>.jpg, got {self.image!r}")
        return self
