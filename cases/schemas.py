"""Public API schemas (responses and reviewer requests). The filing request is the shared
`streetwatch.contract.CaseReport`; these are what the service answers with."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from streetwatch.cases.lifecycle import CaseStatus
from streetwatch.contract import DetectionRecord, Location, ModelRef, Text
from streetwatch.models.taxonomy import ViolationType


class _Public(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EvidencePublic(_Public):
    role: str
    sha256: str
    content_type: str
    size_bytes: int
    width: int
    height: int
    captured_at: datetime | None
    url: str = Field(description="download path, relative to the service root")


class CaseEventPublic(_Public):
    at: datetime
    actor: str
    actor_kind: str
    action: str
    from_status: CaseStatus | None
    to_status: CaseStatus
    reason: str | None
    violation_type: ViolationType | None


class CasePublic(_Public):
    id: int
    event_id: str
    source: str
    status: CaseStatus
    violation_type: ViolationType = Field(description="as filed")
    reviewed_violation_type: ViolationType | None = Field(description="set when a reviewer reclassified")
    standard_code: str
    urgent: bool
    device_id: str | None
    camera_id: str | None
    zone_id: str | None
    first_seen: datetime
    confirmed_at: datetime
    received_at: datetime
    updated_at: datetime
    location: Location
    description: str | None
    model: ModelRef | None
    frame_size: tuple[int, int] | None
    detections: list[DetectionRecord]
    evidence: list[EvidencePublic]
    reviewer: str | None
    reviewed_at: datetime | None
    reject_reason: str | None
    history: list[CaseEventPublic] | None = Field(default=None, description="audit log (single-case view only)")


class CasePage(_Public):
    items: list[CasePublic]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last page")


class TransitionRequest(_Public):
    to: CaseStatus
    reason: Text | None = Field(default=None, min_length=1, max_length=500)
    violation_type: ViolationType | None = Field(
        default=None, description="reclassify while accepting: what the reviewer saw instead"
    )

    @model_validator(mode="after")
    def _check(self) -> TransitionRequest:
        if self.to == CaseStatus.REJECTED and not self.reason:
            raise ValueError("rejecting a case needs a reason")
        if self.violation_type is not None and self.to != CaseStatus.ACCEPTED:
            raise ValueError("violation_type (reclassification) is only allowed when accepting")
        return self


class Health(_Public):
    status: str
    database: str
    evidence_store: str
    schema_revision: str | None
