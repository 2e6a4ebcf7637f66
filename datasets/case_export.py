"""The format of reviewed cases exported by the case service for training.

Written by `streetwatch cases export`, read by `streetwatch data from-cases`. A folder:

    manifest.json        CaseExportManifest
    cases.jsonl          one ExportedCase per line
    images/<sha256>.jpg  the clean confirmation frame of each case (content-addressed)

Accepted cases give positive labels: the detections as filed, after the reviewer's corrections
(a reclassified case keeps its boxes; `labels` is what the reviewer confirmed). Rejected cases
give hard negatives: `labels` is empty and `rejected_detections` keeps what the model claimed.
Only pydantic here, so the case service can write it without the training stack.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from streetwatch.contract import DetectionRecord, ModelRef, Sha256
from streetwatch.models.taxonomy import ViolationType

EXPORT_FORMAT = "streetwatch.cases-export"
EXPORT_VERSION = 1
MANIFEST_FILE = "manifest.json"
CASES_FILE = "cases.jsonl"
IMAGES_DIR = "images"


class CaseExportManifest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: Literal["streetwatch.cases-export"] = EXPORT_FORMAT
    version: Literal[1] = EXPORT_VERSION
    exported_at: AwareDatetime
    statuses: list[str]
    since: AwareDatetime | None = None
    count: int = Field(ge=0)


class ExportedCase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    case_id: str
    event_id: str
    status: Literal["accepted", "rejected"]
    violation_type: ViolationType = Field(description="as filed by the edge box")
    reviewed_violation_type: ViolationType | None = Field(default=None, description="set when reclassified")
    reject_reason: str | None = None
    reviewer: str | None = None
    reviewed_at: AwareDatetime | None = None
    camera_id: str
    image: str = Field(description="path relative to the export folder: images/<sha256>.jpg")
    image_sha256: Sha256
    width: int = Field(gt=0)
    height: int = Field(gt=0)
    labels: list[DetectionRecord] = Field(description="confirmed boxes (accepted); empty for rejected")
    rejected_detections: list[DetectionRecord] = Field(default_factory=list)
    model: ModelRef

    @model_validator(mode="after")
    def _check(self) -> ExportedCase:
        if self.status == "rejected" and self.labels:
            raise ValueError("a rejected case has no labels: its image is a hard negative")
        if self.image != f"{IMAGES_DIR}/{self.image_sha256}.jpg":
            raise ValueError(f"image must be {IMAGES_DIR}/<image_sha256>.jpg, got {self.image!r}")
        return self
