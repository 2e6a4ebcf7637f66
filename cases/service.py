"""Case operations shared by the API, the review page, Open311 and the CLI. No HTTP here: errors
are `CaseServiceError(status, detail)` and the web layer turns them into responses.

Every function works in the caller's `Session`: one unit of work per request (the API's
`DbSession` dependency commits it when the route returns, or rolls it back on an error; the CLI
uses `db.session_scope`). The routes never touch the ORM themselves. A function that refuses
(raises `CaseServiceError`) does so before it writes anything.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from streetwatch.cases.clips import CLIP_ROLE, CheckedClip, check_mp4
from streetwatch.cases.evidence import CheckedImage, EvidenceRejected, EvidenceStore, EvidenceStoreFull, check_jpeg
from streetwatch.cases.lifecycle import DEADLINE_RUNNING, CaseStatus, IllegalTransition, check_transition
from streetwatch.cases.models import Case, CaseEvent, Evidence, utcnow
from streetwatch.cases.outbox import EVENT_ACCEPTED, new_delivery
from streetwatch.cases.schemas import (
    CaseEventPublic,
    CasePage,
    CasePublic,
    EvidencePublic,
    PlacePublic,
    TransitionRequest,
)
from streetwatch.cases.service_codes import ServiceCatalogue
from streetwatch.cases.tokens import Principal, TokenKind
from streetwatch.cases.workflow import Workflow, is_overdue
from streetwatch.contract import API_PREFIX, CaseReport, DetectionRecord, ModelRef, PlateReport
from streetwatch.plate_format import normalise

ORIGINAL_VIEWED = "original"  # audit action: a reviewer was sent an original evidence image


class ErrorCode(StrEnum):
    """Stable ids of refusals a client may act on (the `code` beside `detail` in an API error body;
    the review page words each in its language: cases/error_messages.py)."""

    NOT_SIGNED_IN = "not_signed_in"
    REVIEWERS_ONLY = "reviewers_only"
    FORM_EXPIRED = "form_expired"
    NO_CASE = "no_case"
    STEP_NOT_ALLOWED = "step_not_allowed"
    CHANGED_MEANWHILE = "changed_meanwhile"
    UNKNOWN_DEPARTMENT = "unknown_department"
    NO_FRAME = "no_frame"
    INVALID_BOXES = "invalid_boxes"


class CaseServiceError(Exception):
    def __init__(
        self, status: int, detail: object, headers: Mapping[str, str] | None = None, code: ErrorCode | None = None
    ) -> None:
        super().__init__(str(detail))
        self.status = status
        self.detail = detail
        self.headers = dict(headers or {})
        self.code = code


# Session.info key: sha256s of the evidence files this unit of work wrote. If it then fails, those
# files are referenced by no case; the request's session tells the sweep to look (api/deps.py).
EVIDENCE_WRITTEN = "evidence_written"
STORE_FULL_RETRY_AFTER_S = 60


@dataclass(frozen=True)
class FilingResult:
    case: CasePublic
    created: bool


@dataclass(frozen=True)
class ImageLimits:
    """Limits on a filing's evidence: each image, and the clip."""

    max_bytes: int
    max_pixels: int
    max_clip_bytes: int = 64 * 1024 * 1024
    max_clip_seconds: float = 900


@dataclass(frozen=True)
class CaseFilter:
    violation_type: str | None = None
    camera_id: str | None = None
    statuses: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    bbox: tuple[float, float, float, float] | None = None  # min_lon, min_lat, max_lon, max_lat
    source: str | None = None
    ids: tuple[int, ...] = field(default_factory=tuple)
    codes: tuple[str, ...] = ()
    department: str | None = None
    overdue_at: datetime | None = None  # only cases overdue at this moment
    text: str | None = None  # search: address, grid, camera, zone, device, description, event id, plate
    plate: str | None = None  # a plate number or the start of one (normalised like the edge box's reads)


def report_digest(report: CaseReport) -> str:
    """The idempotency fingerprint: the case JSON in canonical form (evidence hashes included)."""
    canonical = json.dumps(report.model_dump(mode="json", by_alias=True), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def authorise_filing(principal: Principal, report: CaseReport) -> None:
    if principal.kind is not TokenKind.DEVICE:
        raise CaseServiceError(403, f"only device tokens may file cases; this is a {principal.kind} token")
    if report.device_id != principal.subject:
        raise CaseServiceError(
            403, f"this token belongs to device {principal.subject!r}; the case names device {report.device_id!r}"
        )
    if report.camera_id not in principal.cameras:
        raise CaseServiceError(
            403,
            f"device {principal.subject!r} may file for cameras {', '.join(sorted(principal.cameras))}; "
            f"the case names camera {report.camera_id!r}",
        )


def find_replay(session: Session, event_id: str, digest: str) -> FilingResult | None:
    """An earlier filing with this key: 200 with it when the body is the same, 409 when it is not."""
    case = session.scalar(select(Case).where(Case.event_id == event_id))
    if case is None:
        return None
    if case.body_sha256 != digest:
        raise CaseServiceError(
            409,
            f"Idempotency-Key {event_id} was already used for case {case.id} with a different body; "
            "a new event needs a new key",
        )
    return FilingResult(to_public(case), created=False)


def checked_images(report: CaseReport, uploads: Mapping[str, bytes], limits: ImageLimits) -> list[CheckedImage]:
    """Each evidence entry's upload (by the sha256 the caller computed once), checked as a JPEG."""
    images: dict[str, CheckedImage] = {}
    for ref in report.evidence:
        for digest, what in ((ref.sha256, ref.role.value), (ref.public_sha256, f"{ref.role.value} public copy")):
            if digest is None or digest in images:
                continue
            try:
                images[digest] = check_jpeg(
                    uploads[digest],
                    sha256=digest,
                    label=f"evidence {what} ({digest[:12]}…)",
                    max_bytes=limits.max_bytes,
                    max_pixels=limits.max_pixels,
                )
            except EvidenceRejected as exc:
                raise CaseServiceError(exc.status, str(exc)) from None
        if ref.public_sha256 is not None:
            original, public = images[ref.sha256], images[ref.public_sha256]
            if (original.width, original.height) != (public.width, public.height):
                raise CaseServiceError(
                    422,
                    f"evidence {ref.role.value}: the public copy is {public.width}x{public.height}, the frame "
                    f"{original.width}x{original.height}; a public copy is the same frame with regions hidden",
                )
    return list(images.values())


def checked_clip_of(report: CaseReport, clip: bytes | None, limits: ImageLimits) -> CheckedClip | None:
    """The `clip` part checked as an MP4 that agrees with what `case.clip` says of it."""
    ref = report.clip
    if ref is None or clip is None:
        return None
    try:
        checked = check_mp4(
            clip,
            label=f"clip ({ref.sha256[:12]}…)",
            max_bytes=limits.max_clip_bytes,
            max_seconds=limits.max_clip_seconds,
        )
    except EvidenceRejected as exc:
        raise CaseServiceError(exc.status, str(exc)) from None
    if checked.codec != ref.codec:
        raise CaseServiceError(422, f"case.clip.codec is {ref.codec} but the MP4's video track is {checked.codec}")
    if (checked.width, checked.height) != (ref.width, ref.height):
        raise CaseServiceError(
            422,
            f"case.clip says {ref.width}x{ref.height} but the MP4's video track is {checked.width}x{checked.height}",
        )
    return checked


def file_case(
    session: Session,
    store: EvidenceStore,
    principal: Principal,
    report: CaseReport,
    uploads: Mapping[str, bytes],
    limits: ImageLimits,
    catalogue: ServiceCatalogue,
    clip: bytes | None = None,
) -> FilingResult:
    """File one case: `uploads` are the evidence parts by their sha256 (matched to `report.evidence`
    by the caller). A replay of a filed case answers with it, before any image is decoded (they were
    checked when it was first filed). Otherwise the images are checked and stored, then the case is
    inserted. The UNIQUE event_id decides concurrent filings of one event: the loser's INSERT fails,
    its unit of work is rolled back (it wrote nothing else) and it answers with the winner's case."""
    event_id = str(report.event_id)
    digest = report_digest(report)
    replay = find_replay(session, event_id, digest)
    if replay is not None:
        return replay
    images = checked_images(report, uploads, limits)
    checked_clip = checked_clip_of(report, clip, limits)
    by_sha = {image.sha256: image for image in images}
    written: list[str] = session.info.setdefault(EVIDENCE_WRITTEN, [])
    for image in [*images, *([checked_clip] if checked_clip is not None else [])]:
        try:
            if store.put(image):
                written.append(image.sha256)
        except EvidenceStoreFull as exc:
            # Retryable: the edge box keeps the case and sends it again (sender.py retries 5xx).
            raise CaseServiceError(
                507,
                f"{exc.strerror}; the case was not filed, send it again later",
                headers={"Retry-After": str(STORE_FULL_RETRY_AFTER_S)},
            ) from None
    now = utcnow()
    code = catalogue.resolve(
        report.violation_type.value, (d.class_name for d in report.detections), report.zone_kind
    ).code
    case = Case(
        event_id=event_id,
        body_sha256=digest,
        source="edge",
        status=CaseStatus.REPORTED.value,
        violation_type=report.violation_type.value,
        standard_code=code,
        filed_code=report.standard_code if report.standard_code != code else None,
        urgent=report.urgent,
        device_id=report.device_id,
        camera_id=report.camera_id,
        zone_id=report.zone_id,
        zone_kind=report.zone_kind,
        first_seen=report.first_seen,
        confirmed_at=report.confirmed_at,
        received_at=now,
        updated_at=now,
        lat=report.location.lat,
        lon=report.location.lon,
        address=report.location.address,
        grid_code=report.location.grid_code,
        model_name=report.model.name,
        model_version=report.model.version,
        model_sha256=report.model.sha256,
        frame_width=report.frame_size[0] if report.frame_size else None,
        frame_height=report.frame_size[1] if report.frame_size else None,
        detections=[d.model_dump(mode="json", by_alias=True) for d in report.detections],
        **_plate_columns(report.plate),
    )
    case.evidence = [
        Evidence(
            role=ref.role.value,
            sha256=ref.sha256,
            public_sha256=ref.public_sha256,
            content_type=by_sha[ref.sha256].content_type,
            size_bytes=len(by_sha[ref.sha256].data),
            width=by_sha[ref.sha256].width,
            height=by_sha[ref.sha256].height,
            captured_at=ref.captured_at,
        )
        for ref in report.evidence
    ]
    if checked_clip is not None and report.clip is not None:
        case.evidence.append(
            Evidence(
                role=CLIP_ROLE,
                sha256=checked_clip.sha256,
                content_type=checked_clip.content_type,
                size_bytes=len(checked_clip.data),
                width=checked_clip.width,
                height=checked_clip.height,
                captured_at=report.clip.starts_at,
            )
        )
    try:
        session.add(case)
        session.flush()
    except IntegrityError:
        session.rollback()
        replay = find_replay(session, event_id, digest)
        if replay is None:  # the conflicting row vanished: not an idempotency race
            raise
        return replay
    session.add(_event(case.id, principal, "filed", None, CaseStatus.REPORTED, None, None))
    return FilingResult(to_public(case), created=True)


def file_open311_request(
    session: Session,
    principal: Principal,
    *,
    violation_type: str,
    service_code: str,
    lat: float | None,
    lon: float | None,
    address: str | None,
    description: str | None,
    grid_code: str | None = None,
    reporter: dict[str, str],
) -> CasePublic:
    """A report made by a person through an Open311 client: no evidence, no model, status reported."""
    now = utcnow()
    case = Case(
        event_id=str(uuid.uuid4()),
        body_sha256=hashlib.sha256(f"{service_code}|{lat}|{lon}|{description}".encode()).hexdigest(),
        source="open311",
        status=CaseStatus.REPORTED.value,
        violation_type=violation_type,
        standard_code=service_code,
        urgent=False,
        first_seen=now,
        confirmed_at=now,
        received_at=now,
        updated_at=now,
        lat=lat,
        lon=lon,
        address=address,
        grid_code=grid_code,
        description=description,
        detections=[],
        reporter=reporter or None,
    )
    session.add(case)
    session.flush()
    session.add(_event(case.id, principal, "filed", None, CaseStatus.REPORTED, None, None))
    return to_public(case)


def get_case(session: Session, case_id: int, *, with_history: bool = True) -> CasePublic:
    case = session.get(Case, case_id)
    if case is None:
        raise CaseServiceError(404, f"no case {case_id}")
    history = None
    if with_history:
        history = list(session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)))
    return to_public(case, history)


def find_case(session: Session, case_id: int) -> CasePublic | None:
    """The case without its history, or None (Open311 answers its own 404)."""
    case = session.get(Case, case_id)
    return None if case is None else to_public(case)


@dataclass(frozen=True)
class EvidenceFile:
    sha256: str
    content_type: str
    public: bool  # a public copy (or a frame that was its own public copy: nothing in it to hide)
    role: str


def _public_row(session: Session, case_id: int, sha256: str) -> Evidence | None:
    return session.scalar(
        select(Evidence).where(Evidence.case_id == case_id, Evidence.public_sha256 == sha256).limit(1)
    )


def public_copy(session: Session, case_id: int, sha256: str) -> EvidenceFile:
    """A public copy of one of the case's frames, for anyone; an original is never one (404)."""
    row = _public_row(session, case_id, sha256)
    if row is None:
        raise CaseServiceError(404, f"case {case_id} has no public image {sha256}")
    return EvidenceFile(sha256, row.content_type, public=True, role=row.role)


def evidence_of(session: Session, case_id: int, sha256: str, viewer: Principal) -> EvidenceFile:
    """One of the case's images for a reviewer. An original (not a public copy) is written to the
    audit log: who saw which image of the case, when (the unit of work commits it with the answer)."""
    if viewer.kind is not TokenKind.REVIEWER:
        raise CaseServiceError(403, f"original evidence is for reviewer tokens; this is a {viewer.kind} token")
    public = _public_row(session, case_id, sha256)
    if public is not None:
        return EvidenceFile(sha256, public.content_type, public=True, role=public.role)
    row = session.scalar(select(Evidence).where(Evidence.case_id == case_id, Evidence.sha256 == sha256).limit(1))
    if row is None:
        raise CaseServiceError(404, f"case {case_id} has no evidence {sha256}")
    status = session.scalar(select(Case.status).where(Case.id == case_id))
    note = f"{row.role} {sha256[:16]}"
    session.add(_event(case_id, viewer, ORIGINAL_VIEWED, None, CaseStatus(status), note, None))
    return EvidenceFile(row.sha256, row.content_type, public=False, role=row.role)


def public_path(case_id: int, sha256: str) -> str:
    """Where anyone fetches a public copy (Open311's `media_url` is this, made absolute)."""
    return f"/open311/v2/media/{case_id}/{sha256}.jpg"


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"v1:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        version, _, value = text.partition(":")
        if version != "v1":
            raise ValueError(version)
        last_id = int(value)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise CaseServiceError(422, f"cursor {cursor[:40]!r} is not one this service issued") from None
    return last_id


def filtered(query: Select[tuple[Case]], flt: CaseFilter) -> Select[tuple[Case]]:
    if flt.violation_type:
        query = query.where(func.coalesce(Case.reviewed_violation_type, Case.violation_type) == flt.violation_type)
    if flt.camera_id:
        query = query.where(Case.camera_id == flt.camera_id)
    if flt.statuses:
        query = query.where(Case.status.in_(flt.statuses))
    if flt.since:
        query = query.where(Case.confirmed_at >= flt.since)
    if flt.until:
        query = query.where(Case.confirmed_at < flt.until)
    if flt.bbox:
        min_lon, min_lat, max_lon, max_lat = flt.bbox
        query = query.where(Case.lon.between(min_lon, max_lon), Case.lat.between(min_lat, max_lat))
    if flt.source:
        query = query.where(Case.source == flt.source)
    if flt.ids:
        query = query.where(Case.id.in_(flt.ids))
    if flt.codes:
        query = query.where(Case.standard_code.in_(flt.codes))
    if flt.department:
        query = query.where(Case.department == flt.department)
    if flt.overdue_at is not None:
        running = [s.value for s in DEADLINE_RUNNING]
        query = query.where(Case.status.in_(running), Case.due_at < flt.overdue_at)
    if flt.plate:
        query = query.where(Case.plate_text.like(_escape_like(normalise(flt.plate)) + "%", escape="\\"))
    if flt.text:
        pattern = "%" + _escape_like(flt.text) + "%"
        columns = (Case.address, Case.grid_code, Case.camera_id, Case.zone_id, Case.device_id, Case.description)
        plate = Case.plate_text.like("%" + _escape_like(normalise(flt.text)) + "%", escape="\\")
        query = query.where(
            or_(*(c.ilike(pattern, escape="\\") for c in columns), plate, Case.event_id == flt.text.lower())
        )
    return query


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _plate_columns(plate: PlateReport | None) -> dict[str, object]:
    if plate is None:
        return {}
    return {
        "plate_status": plate.status.value,
        "plate_text": plate.text,
        "plate_kind": plate.kind.value if plate.kind else None,
        "plate_confidence": plate.confidence,
        "plate_frame": plate.frame.value if plate.frame else None,
        "plate_box": list(plate.box) if plate.box else None,
    }


def _plate_of(case: Case) -> PlateReport | None:
    if case.plate_status is None:
        return None
    return PlateReport(
        status=case.plate_status,
        text=case.plate_text,
        kind=case.plate_kind,
        confidence=case.plate_confidence,
        frame=case.plate_frame,
        box=tuple(case.plate_box) if case.plate_box else None,
    )


def list_cases(session: Session, flt: CaseFilter, *, limit: int, cursor: str | None) -> CasePage:
    """Newest first; the cursor is the last id seen, so pages stay stable while cases arrive."""
    query = filtered(select(Case), flt).order_by(Case.id.desc()).limit(limit + 1)
    if cursor:
        query = query.where(Case.id < decode_cursor(cursor))
    rows = list(session.scalars(query))
    items = [to_public(c) for c in rows[:limit]]
    next_cursor = encode_cursor(rows[limit - 1].id) if len(rows) > limit else None
    return CasePage(items=items, next_cursor=next_cursor)


def newest_cases(session: Session, flt: CaseFilter, limit: int, offset: int = 0) -> list[CasePublic]:
    """The newest `limit` cases matching `flt` after skipping `offset` (Open311's request list, paged)."""
    query = filtered(select(Case), flt).order_by(Case.id.desc()).offset(offset).limit(limit)
    return [to_public(c) for c in session.scalars(query)]


@dataclass(frozen=True)
class CaseRules:
    """The city's tables a transition consults: event codes, departments and deadlines."""

    catalogue: ServiceCatalogue
    workflow: Workflow
    forward: bool = False  # queue accepted cases for the city's platform (forwarding.py sends them)


def transition(
    session: Session, case_id: int, request: TransitionRequest, actor: Principal, rules: CaseRules
) -> CasePublic:
    """Move a case along its lifecycle. Compare-and-set on the status, so two reviewers acting on
    one case at once cannot both win.

    立案 (accept) routes the case to its department; 派遣 (dispatch) starts the deadline; a
    reclassification re-codes the case from the city's table."""
    if actor.kind is not TokenKind.REVIEWER:
        raise CaseServiceError(
            403, f"only reviewer tokens may change a case; this is a {actor.kind} token", code=ErrorCode.REVIEWERS_ONLY
        )
    if request.department is not None and rules.workflow.department(request.department) is None:
        known = ", ".join(d.id for d in rules.workflow.departments)
        message = f"unknown department {request.department!r}; departments are {known}"
        raise CaseServiceError(422, message, code=ErrorCode.UNKNOWN_DEPARTMENT)
    case = session.get(Case, case_id)
    if case is None:
        raise CaseServiceError(404, f"no case {case_id}", code=ErrorCode.NO_CASE)
    current = CaseStatus(case.status)
    code, violation_type, department = case.standard_code, case.effective_violation_type, case.department
    classes = [DetectionRecord.model_validate(d).class_name for d in case.detections]
    zone_kind = case.zone_kind
    try:
        check_transition(current, request.to, request.reason or (request.reject_code and request.reject_code.value))
    except IllegalTransition as exc:
        raise CaseServiceError(409, f"case {case_id}: {exc}", code=ErrorCode.STEP_NOT_ALLOWED) from None
    now = utcnow()
    values: dict[str, object] = {"status": request.to.value, "updated_at": now}
    if request.to in (CaseStatus.ACCEPTED, CaseStatus.REJECTED):
        values |= {"reviewer": actor.subject, "reviewed_at": now}
        values["reject_reason"] = request.reason if request.to == CaseStatus.REJECTED else None
        values["reject_code"] = request.reject_code.value if request.reject_code is not None else None
        if request.violation_type is not None:
            values["reviewed_violation_type"] = violation_type = request.violation_type.value
            if case.source == "edge":
                values["standard_code"] = code = rules.catalogue.resolve(violation_type, classes, zone_kind).code
            else:  # a person's report has no detections: the type's default code
                values["standard_code"] = code = rules.catalogue.default_for(violation_type).code
    if request.to == CaseStatus.ACCEPTED:
        values["department"] = request.department or rules.workflow.route(code, violation_type).department
    if request.to == CaseStatus.DISPATCHED:
        if request.department is not None:
            values["department"] = request.department
        elif department is None:
            values["department"] = rules.workflow.route(code, violation_type).department
        values |= {"dispatched_at": now, "due_at": rules.workflow.deadline(code, violation_type, now)}
        values["resolved_at"] = None  # sent back after a failed 核查: the department starts again
    if request.to == CaseStatus.RESOLVED:
        values["resolved_at"] = now
    # The UPDATE's WHERE is the compare-and-set: another reviewer's change since the read above
    # (committed by another request) leaves no row to update. It also refreshes `case` in memory.
    result = session.execute(update(Case).where(Case.id == case_id, Case.status == current.value).values(**values))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        message = f"case {case_id} changed while this request was made; reload and retry"
        raise CaseServiceError(409, message, code=ErrorCode.CHANGED_MEANWHILE)
    if request.to == CaseStatus.ACCEPTED and rules.forward:  # same transaction: accepted means queued
        session.add(new_delivery(case_id, EVENT_ACCEPTED, now))
    vt = request.violation_type.value if request.violation_type else None
    note = request.reason
    if request.reject_code is not None:
        note = (f"{request.reject_code.value}: {note}" if note else request.reject_code.value)[:500]
    session.add(_event(case_id, actor, "transition", current, request.to, note, vt, at=now))
    return get_case(session, case_id)


def _event(
    case_id: int,
    actor: Principal,
    action: str,
    from_status: CaseStatus | None,
    to_status: CaseStatus,
    reason: str | None,
    violation_type: str | None,
    at: datetime | None = None,
) -> CaseEvent:
    return CaseEvent(
        case_id=case_id,
        at=at or utcnow(),
        actor=actor.subject,
        actor_kind=actor.kind.value,
        action=action,
        from_status=from_status.value if from_status else None,
        to_status=to_status.value,
        reason=reason,
        violation_type=violation_type,
    )


def to_public(case: Case, history: list[CaseEvent] | None = None) -> CasePublic:
    model = None
    if case.model_name and case.model_version and case.model_sha256:
        model = ModelRef(name=case.model_name, version=case.model_version, sha256=case.model_sha256)
    frame = (case.frame_width, case.frame_height) if case.frame_width and case.frame_height else None
    return CasePublic(
        id=case.id,
        event_id=case.event_id,
        source=case.source,
        status=CaseStatus(case.status),
        violation_type=case.violation_type,
        reviewed_violation_type=case.reviewed_violation_type,
        standard_code=case.standard_code,
        filed_code=case.filed_code,
        urgent=case.urgent,
        device_id=case.device_id,
        camera_id=case.camera_id,
        zone_id=case.zone_id,
        zone_kind=case.zone_kind,
        first_seen=case.first_seen,
        confirmed_at=case.confirmed_at,
        received_at=case.received_at,
        updated_at=case.updated_at,
        location=PlacePublic(lat=case.lat, lon=case.lon, address=case.address, grid_code=case.grid_code),
        description=case.description,
        model=model,
        frame_size=frame,
        detections=[DetectionRecord.model_validate(d) for d in case.detections],
        plate=_plate_of(case),
        evidence=[
            EvidencePublic(
                role=e.role,
                sha256=e.sha256,
                content_type=e.content_type,
                size_bytes=e.size_bytes,
                width=e.width,
                height=e.height,
                captured_at=e.captured_at,
                url=f"{API_PREFIX}/cases/{case.id}/evidence/{e.sha256}",
                public_sha256=e.public_sha256,
                public_url=None if e.public_sha256 is None else public_path(case.id, e.public_sha256),
            )
            for e in case.evidence
        ],
        reviewer=case.reviewer,
        reviewed_at=case.reviewed_at,
        reject_reason=case.reject_reason,
        reject_code=case.reject_code,
        reviewed_boxes=case.reviewed_boxes,
        boxes_by=case.boxes_by,
        boxes_at=case.boxes_at,
        department=case.department,
        dispatched_at=case.dispatched_at,
        due_at=case.due_at,
        resolved_at=case.resolved_at,
        overdue=is_overdue(CaseStatus(case.status), case.due_at, utcnow()),
        history=None
        if history is None
        else [
            CaseEventPublic(
                at=h.at,
                actor=h.actor,
                actor_kind=h.actor_kind,
                action=h.action,
                from_status=h.from_status,
                to_status=h.to_status,
                reason=h.reason,
                violation_type=h.violation_type,
            )
            for h in history
        ],
    )
