"""`/api/v1/cases`: filing (devices), reading and lifecycle transitions (reviewers), evidence."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Request, Response
from fastapi.responses import FileResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from streetwatch.cases.api.deps import Caller, DbSession, Reviewer, StateDep, end_reads
from streetwatch.cases.evidence import sha256_hex
from streetwatch.cases.lifecycle import CaseStatus
from streetwatch.cases.models import utcnow
from streetwatch.cases.schemas import CasePage, CasePublic, TransitionRequest
from streetwatch.cases.service import (
    CaseFilter,
    CaseServiceError,
    EvidenceFile,
    FilingResult,
    ImageLimits,
    authorise_filing,
    evidence_of,
    file_case,
    get_case,
    list_cases,
    transition,
)
from streetwatch.cases.state import AppState
from streetwatch.cases.tokens import Principal
from streetwatch.contract import IDEMPOTENCY_HEADER, CaseReport, bounded_utc
from streetwatch.models.taxonomy import ViolationType

router = APIRouter(prefix="/cases", tags=["cases"])

ERROR = {
    "content": {
        "application/json": {"schema": {"type": "object", "properties": {"detail": {}, "code": {"type": "string"}}}}
    }
}  # `code`: streetwatch.cases.service.ErrorCode, where the refusal has one
MULTIPART_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["case", "evidence"],
                    "properties": {
                        "case": {"type": "string", "description": "CaseReport JSON (streetwatch.contract)"},
                        "evidence": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "description": "one JPEG per evidence entry, matched by sha256",
                        },
                        "clip": {
                            "type": "string",
                            "format": "binary",
                            "description": "the MP4 that case.clip describes (optional)",
                        },
                    },
                }
            }
        },
    }
}


@router.post(
    "",
    status_code=201,
    summary="File a case (edge devices)",
    response_model=CasePublic,
    openapi_extra=MULTIPART_BODY,
    responses={
        200: {"description": "same Idempotency-Key and body replayed: the case filed before", "model": CasePublic},
        401: ERROR,
        403: ERROR,
        409: ERROR,
        413: ERROR,
        415: ERROR,
        422: ERROR,
        507: {**ERROR, "description": "the evidence store is full: nothing was filed, send the case again later"},
    },
)
async def create_case(
    request: Request,
    response: Response,
    state: StateDep,
    session: DbSession,
    caller: Caller,
    idempotency_key: Annotated[str | None, Header(alias=IDEMPOTENCY_HEADER, max_length=100)] = None,
) -> CasePublic:
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        raise CaseServiceError(
            415,
            f"expected multipart/form-data with parts `case` and `evidence`; got {content_type or 'no content type'!r}",
        )
    await run_in_threadpool(end_reads, session)  # the token is checked; the upload may take a while
    settings = state.settings
    form = await request.form(
        max_files=settings.max_evidence_count + 2, max_fields=2, max_part_size=settings.max_case_json_bytes
    )
    unexpected = sorted({key for key in form if key not in ("case", "evidence", "clip")})
    if unexpected:
        raise CaseServiceError(
            422, f"unexpected multipart parts {unexpected}; expected `case`, `evidence` and optionally `clip`"
        )
    case_parts = form.getlist("case")
    if len(case_parts) != 1:
        raise CaseServiceError(422, f"expected exactly one `case` part; got {len(case_parts)}")
    case_part = case_parts[0]
    if isinstance(case_part, UploadFile):
        raw_case = await case_part.read(settings.max_case_json_bytes + 1)
    else:
        raw_case = case_part.encode()
    if len(raw_case) > settings.max_case_json_bytes:
        raise CaseServiceError(413, f"the `case` part is larger than {settings.max_case_json_bytes} bytes")
    uploads: list[bytes] = []
    for index, part in enumerate(form.getlist("evidence")):
        if not isinstance(part, UploadFile):
            raise CaseServiceError(422, f"evidence part {index} is a text field; expected a file (JPEG)")
        data = await part.read(settings.max_evidence_bytes + 1)
        if len(data) > settings.max_evidence_bytes:
            raise CaseServiceError(413, f"evidence part {index} is larger than {settings.max_evidence_bytes} bytes")
        uploads.append(data)
    clip_parts = form.getlist("clip")
    if len(clip_parts) > 1 or (clip_parts and not isinstance(clip_parts[0], UploadFile)):
        raise CaseServiceError(422, f"expected at most one `clip` part, a file (MP4); got {len(clip_parts)} part(s)")
    clip: bytes | None = None
    if clip_parts:
        clip = await clip_parts[0].read(settings.max_clip_bytes + 1)  # type: ignore[union-attr]
        if len(clip) > settings.max_clip_bytes:
            raise CaseServiceError(413, f"the `clip` part is larger than {settings.max_clip_bytes} bytes")
    try:
        result = await run_in_threadpool(_file, state, session, caller, raw_case, uploads, clip, idempotency_key)
    except CaseServiceError as exc:
        if exc.status == 507:
            state.metrics.evidence_store_full.inc()
        raise
    outcome = "created" if result.created else "replayed"
    state.metrics.filings.labels(result.case.violation_type.value, outcome).inc()
    if result.created:
        state.metrics.evidence_bytes.inc(sum(len(u) for u in uploads) + len(clip or b""))
    response.status_code = 201 if result.created else 200
    response.headers["Location"] = f"{request.url.path}/{result.case.id}"
    return result.case


def _file(
    state: AppState,
    session: Session,
    caller: Principal,
    raw_case: bytes,
    uploads: list[bytes],
    clip: bytes | None,
    idempotency_key: str | None,
) -> FilingResult:
    report = parse_report(raw_case)
    authorise_filing(caller, report)
    event_id = str(report.event_id)
    if idempotency_key is not None and idempotency_key.strip().lower() != event_id:
        raise CaseServiceError(
            422, f"{IDEMPOTENCY_HEADER} must equal case.event_id ({event_id}); got {idempotency_key[:100]!r}"
        )
    if len(uploads) > state.settings.max_evidence_count:
        raise CaseServiceError(413, f"{len(uploads)} evidence parts; the limit is {state.settings.max_evidence_count}")
    by_hash = {sha256_hex(data): data for data in uploads}  # each upload hashed once, here
    wanted = {ref.sha256 for ref in report.evidence} | {r.public_sha256 for r in report.evidence if r.public_sha256}
    extra = sorted(set(by_hash) - wanted)
    missing = sorted(wanted - set(by_hash))
    if extra or missing:
        problems = []
        if missing:
            problems.append(f"case.evidence lists sha256 {', '.join(missing)} but no uploaded part has it")
        if extra:
            problems.append(f"uploaded parts with sha256 {', '.join(extra)} are not in case.evidence")
        raise CaseServiceError(422, "; ".join(problems))
    if report.clip is not None and clip is None:
        raise CaseServiceError(422, f"case.clip names sha256 {report.clip.sha256} but no `clip` part was uploaded")
    if report.clip is None and clip is not None:
        raise CaseServiceError(422, "a `clip` part was uploaded but the case has no `clip` entry describing it")
    clip_sha = sha256_hex(clip) if clip is not None else None
    if report.clip is not None and clip_sha != report.clip.sha256:
        raise CaseServiceError(422, f"the `clip` part has sha256 {clip_sha}; case.clip names {report.clip.sha256}")
    settings = state.settings
    limits = ImageLimits(
        max_bytes=settings.max_evidence_bytes,
        max_pixels=settings.max_image_pixels,
        max_clip_bytes=settings.max_clip_bytes,
        max_clip_seconds=settings.max_clip_seconds,
    )
    return file_case(session, state.store, caller, report, by_hash, limits, state.catalogue, clip)


def parse_report(raw: bytes, now: datetime | None = None) -> CaseReport:
    """The case JSON, checked against the contract and against this server's clock. pydantic's own
    JSON parser has a nesting limit (Python's json recursed until RecursionError, a 500)."""
    try:
        return CaseReport.model_validate_json(raw, context={"now": now or datetime.now(UTC)})
    except ValidationError as exc:
        if any(e["type"] == "json_invalid" for e in exc.errors()):
            reason = "; ".join(e["msg"] for e in exc.errors())
            raise CaseServiceError(422, f"the `case` part is not JSON: {reason}") from None
        detail = [
            {"loc": ["case", *e["loc"]], "msg": e["msg"], "type": e["type"]}
            for e in exc.errors(include_url=False, include_input=False)
        ]
        raise CaseServiceError(422, detail) from None


def _statuses(values: list[str]) -> tuple[str, ...]:
    wanted = [v.strip() for value in values for v in value.split(",") if v.strip()]
    valid = {s.value for s in CaseStatus}
    unknown = [v for v in wanted if v not in valid]
    if unknown:
        raise CaseServiceError(422, f"unknown status {unknown[0]!r}; expected one of {', '.join(valid)}")
    return tuple(wanted)


def _bbox(value: str | None) -> tuple[float, float, float, float] | None:
    if value is None:
        return None
    try:
        parts = tuple(float(p) for p in value.split(","))
    except ValueError:
        parts = ()
    if len(parts) != 4:
        raise CaseServiceError(422, f"bbox must be min_lon,min_lat,max_lon,max_lat; got {value!r}")
    min_lon, min_lat, max_lon, max_lat = parts
    if not (-180 <= min_lon <= max_lon <= 180 and -90 <= min_lat <= max_lat <= 90):
        raise CaseServiceError(422, f"bbox must have min <= max within lon [-180, 180], lat [-90, 90]; got {value!r}")
    return min_lon, min_lat, max_lon, max_lat


@router.get(
    "", summary="List cases, newest first", response_model=CasePage, responses={401: ERROR, 403: ERROR, 422: ERROR}
)
async def read_cases(
    session: DbSession,
    _reviewer: Reviewer,
    violation_type: ViolationType | None = None,
    camera_id: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[list[str] | None, Query(description="reported, accepted, ...; repeat or comma-separate")] = None,
    since: Annotated[datetime | None, Query(description="confirmed_at >= since")] = None,
    until: Annotated[datetime | None, Query(description="confirmed_at < until")] = None,
    bbox: Annotated[str | None, Query(description="min_lon,min_lat,max_lon,max_lat", max_length=200)] = None,
    source: Annotated[str | None, Query(pattern="^(edge|open311)$")] = None,
    department: Annotated[str | None, Query(max_length=64)] = None,
    overdue: Annotated[bool, Query(description="only dispatched cases past their deadline")] = False,
    q: Annotated[
        str | None, Query(max_length=100, description="search address, grid, camera, zone, device, plate")
    ] = None,
    plate: Annotated[
        str | None,
        Query(max_length=16, description="plate number or its start (粤B12345, 粤B); case, dots and spaces ignored"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=100)] = None,
) -> CasePage:
    for moment, name in ((since, "since"), (until, "until")):
        if moment is not None and moment.tzinfo is None:
            raise CaseServiceError(
                422, f"{name} needs a time zone (e.g. 2026-01-01T00:00:00Z); got {moment.isoformat()}"
            )
        if moment is not None:
            try:
                bounded_utc(moment)
            except ValueError as exc:
                raise CaseServiceError(422, f"{name}: {exc}") from None
    flt = CaseFilter(
        violation_type=violation_type.value if violation_type else None,
        camera_id=camera_id,
        statuses=_statuses(status or []),
        since=since,
        until=until,
        bbox=_bbox(bbox),
        source=source,
        department=department,
        overdue_at=utcnow() if overdue else None,
        text=q.strip() if q and q.strip() else None,
        plate=plate.strip() if plate and plate.strip() else None,
    )
    return await run_in_threadpool(lambda: list_cases(session, flt, limit=limit, cursor=cursor))


CaseId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get(
    "/{case_id}",
    summary="One case with its audit log",
    response_model=CasePublic,
    responses={401: ERROR, 403: ERROR, 404: ERROR},
)
async def read_case(case_id: CaseId, session: DbSession, _reviewer: Reviewer) -> CasePublic:
    return await run_in_threadpool(get_case, session, case_id)


@router.post(
    "/{case_id}/transitions",
    summary="Move a case along its lifecycle (accept, reject with a reason, reclassify, dispatch, ...)",
    response_model=CasePublic,
    responses={401: ERROR, 403: ERROR, 404: ERROR, 409: ERROR, 422: ERROR},
)
async def post_transition(
    case_id: CaseId, body: TransitionRequest, state: StateDep, session: DbSession, reviewer: Reviewer
) -> CasePublic:
    case = await run_in_threadpool(transition, session, case_id, body, reviewer, state.rules)
    state.metrics.transitions.labels(body.to.value).inc()
    return case


@router.get(
    "/{case_id}/evidence/{sha256}",
    summary="Download one evidence image or clip (reviewers; every original sent is in the case's audit log)",
    response_class=FileResponse,
    responses={
        200: {"content": {"image/jpeg": {}, "video/mp4": {}}},
        206: {"description": "a byte range of a clip"},
        401: ERROR,
        403: ERROR,
        404: ERROR,
    },
)
async def download_evidence(
    case_id: CaseId,
    sha256: Annotated[str, Path(pattern="^[0-9a-f]{64}$")],
    state: StateDep,
    session: DbSession,
    reviewer: Reviewer,
) -> FileResponse:
    row = await run_in_threadpool(evidence_of, session, case_id, sha256, reviewer)
    return evidence_response(state, row)


def evidence_response(state: AppState, row: EvidenceFile) -> FileResponse:
    """The image file. An original is never cached (`no-store`): each view is a request, so each is
    audited; a public copy may be cached by anyone."""
    path = state.store.path(row.sha256, row.content_type)
    if not path.is_file():
        raise CaseServiceError(404, f"evidence {row.sha256} is recorded but missing from the evidence store")
    cache = "public, max-age=31536000, immutable" if row.public else "private, no-store"
    return FileResponse(
        path,
        media_type=row.content_type,
        headers={"Cache-Control": cache, "X-Content-Type-Options": "nosniff", "ETag": f'"{row.sha256}"'},
    )
