"""The reviewer's boxes on a case's evidence frame: saved on the case, with who/when in the audit log.

A box left exactly as the model filed it stays a machine box; a drawn, moved, resized or
re-classed one is a human box (`streetwatch.verdicts.resolve_boxes` decides, from the filed
detections). Each save replaces the previous edit and adds one `boxes` event to the history.
It works in the caller's session (the request's unit of work, see service.py).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from streetwatch.cases.lifecycle import CaseStatus
from streetwatch.cases.models import Case, CaseEvent, utcnow
from streetwatch.cases.schemas import CasePublic
from streetwatch.cases.service import CaseServiceError, ErrorCode, get_case
from streetwatch.cases.tokens import Principal, TokenKind
from streetwatch.contract import DetectionRecord
from streetwatch.verdicts import BoxEdit, BoxEditError, ReviewedBox, describe_edit, machine_boxes, resolve_boxes


def save_boxes(session: Session, case_id: int, edits: list[BoxEdit], actor: Principal) -> CasePublic:
    if actor.kind is not TokenKind.REVIEWER:
        message = f"only reviewer tokens may edit boxes; this is a {actor.kind} token"
        raise CaseServiceError(403, message, code=ErrorCode.REVIEWERS_ONLY)
    now = utcnow()
    case = session.get(Case, case_id, with_for_update=True)
    if case is None:
        raise CaseServiceError(404, f"no case {case_id}", code=ErrorCode.NO_CASE)
    if case.source != "edge" or not case.evidence:
        raise CaseServiceError(409, f"case {case_id} has no evidence frame to draw boxes on", code=ErrorCode.NO_FRAME)
    filed = [DetectionRecord.model_validate(d) for d in case.detections]
    frame = (case.frame_width, case.frame_height) if case.frame_width and case.frame_height else None
    try:
        boxes = resolve_boxes(edits, filed, frame)
    except BoxEditError as exc:
        raise CaseServiceError(422, f"case {case_id}: {exc}", code=ErrorCode.INVALID_BOXES) from None
    before = (
        [ReviewedBox.model_validate(b) for b in case.reviewed_boxes]
        if case.reviewed_boxes is not None
        else machine_boxes(filed)
    )
    case.reviewed_boxes = [b.model_dump(mode="json", by_alias=True) for b in boxes]
    case.boxes_by, case.boxes_at, case.updated_at = actor.subject, now, now
    status = CaseStatus(case.status)
    session.add(
        CaseEvent(
            case_id=case_id,
            at=now,
            actor=actor.subject,
            actor_kind=actor.kind.value,
            action="boxes",
            from_status=status.value,
            to_status=status.value,
            reason=describe_edit(before, boxes, len(filed))[:500],
        )
    )
    return get_case(session, case_id)
