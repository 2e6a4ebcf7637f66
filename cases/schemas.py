"""Public API schemas (responses and reviewer requests). The filing request is the shared
`streetwatch.contract.CaseReport`; these are what the service answers with."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from streetwatch.cases.lifecycle import CaseStatus
from streetwatch.contract import DetectionRecord, ModelRef, PlateReport, Text
from streetwatch.models.taxonomy import ViolationType
from streetwatch.verdicts import MAX_BOXES, BoxEdit, RejectReason, ReviewedBox


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
    url: str = Field(description="download path, relative to the service root (reviewers; originals are audited)")
    public_sha256: str | None = Field(default=None, description="the public copy (people, other plates hidden)")
    public_url: str | None = Field(default=None, description="where anyone may fetch the public copy")


class CaseEventPublic(_Public):
    at: datetime
    actor: str
    actor_kind: str
    action: str
    from_status: CaseStatus | None
    to_status: CaseStatus
    reason: str | None
    violation_type: ViolationType | None


class PlacePublic(_Public):
    """Where a case is. An edge box always sends coordinates; a person's Open311 report may give
    only an address (`address_string`), and then lat/lon are null until the city geocodes it."""

    lat: float | None
    lon: float | None
    address: str | None
    grid_code: str | None


class CasePublic(_Public):
    id: int
    event_id: str
    source: str
    status: CaseStatus
    violation_type: ViolationType = Field(description="as filed")
    reviewed_violation_type: ViolationType | None = Field(description="set when a reviewer reclassified")
    standard_code: str = Field(description="the city's event code (大类-小类), chosen by the service's code table")
    filed_code: str | None = Field(description="the code the edge box sent, when it differs")
    urgent: bool
    device_id: str | None
    camera_id: str | None
    zone_id: str | None
    zone_kind: str | None
    first_seen: datetime
    confirmed_at: datetime
    received_at: datetime
    updated_at: datetime
    location: PlacePublic
    description: str | None
    model: ModelRef | None
    frame_size: tuple[int, int] | None
    detections: list[DetectionRecord]
    plate: PlateReport | None = Field(
        default=None, description="parking cases: the plate as the edge box read it (status read or unread)"
    )
    evidence: list[EvidencePublic]
    reviewer: str | None
    reviewed_at: datetime | None
    reject_reason: str | None = Field(description="the reviewer's note on a rejection")
    reject_code: RejectReason | None = Field(default=None, description="why it was rejected (fixed list)")
    reviewed_boxes: list[ReviewedBox] | None = Field(
        default=None, description="the reviewer's boxes on the evidence frame; null = never edited"
    )
    boxes_by: str | None = None
    boxes_at: datetime | None = None
    department: str | None = Field(description="the department the case is routed to")
    dispatched_at: datetime | None
    due_at: datetime | None = Field(description="处置时限: the department must resolve it by then")
    resolved_at: datetime | None
    overdue: bool = Field(description="dispatched, unresolved and past due_at")
    history: list[CaseEventPublic] | None = Field(default=None, description="audit log (single-case view only)")


class CasePage(_Public):
    items: list[CasePublic]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last page")


class TransitionRequest(_Public):
    to: CaseStatus
    reason: Text | None = Field(default=None, min_length=1, max_length=500, description="free-text note")
    reject_code: RejectReason | None = Field(
        default=None,
        description="why a rejection: false_detection, not_a_violation, duplicate, camera_problem "
        "(decides what the case teaches the model; see docs/vending.md)",
    )
    violation_type: ViolationType | None = Field(
        default=None, description="reclassify while accepting: what the reviewer saw instead"
    )
    department: str | None = Field(
        default=None, max_length=64, description="dispatch to this department instead of the routed one"
    )

    @model_validator(mode="after")
    def _check(self) -> TransitionRequest:
        if self.to == CaseStatus.REJECTED and not self.reason and self.reject_code is None:
            raise ValueError("rejecting a case needs a reason: reject_code (and/or a reason note)")
        if self.reject_code is not None and self.to != CaseStatus.REJECTED:
            raise ValueError("reject_code is only allowed when rejecting")
        if self.violation_type is not None and self.to != CaseStatus.ACCEPTED:
            raise ValueError("violation_type (reclassification) is only allowed when accepting")
        if self.department is not None and self.to not in (CaseStatus.ACCEPTED, CaseStatus.DISPATCHED):
            raise ValueError("department is only allowed when accepting or dispatching")
        return self


class BoxesRequest(_Public):
    """The reviewer's boxes on a case's evidence frame (replaces any earlier edit)."""

    boxes: list[BoxEdit] = Field(max_length=MAX_BOXES)


class Health(_Public):
    status: str
    database: str
    evidence_store: str
    schema_revision: str | None


class DeliveryPublic(_Public):
    """One delivery to the city's platform (forwarding.py)."""

    id: int
    delivery_id: str = Field(description="sent as X-Streetwatch-Delivery: the receiver's idempotency key")
    case_id: int
    event: str
    status: Literal["pending", "delivered", "dead"]
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
