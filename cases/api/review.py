"""`/review`: the inspectors' page. Server-rendered (jinja2), plain forms that work without
JavaScript; review.js adds keyboard shortcuts, box_editor.js the reviewer's box editor. Sessions
are signed cookies (see review_session)."""

from __future__ import annotations

from pathlib import Path as FsPath
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from streetwatch.cases import review_session
from streetwatch.cases.api.deps import StateDep, from_cookie
from streetwatch.cases.db import session_scope
from streetwatch.cases.lifecycle import CaseStatus
from streetwatch.cases.review_boxes import save_boxes
from streetwatch.cases.schemas import BoxesRequest, TransitionRequest
from streetwatch.cases.service import CaseServiceError, review_queue, transition
from streetwatch.cases.tokens import TokenKind, resolve_token
from streetwatch.models.taxonomy import CLASS_NAMES, ViolationType
from streetwatch.verdicts import REJECT_REASON_LABELS, RejectReason

router = APIRouter(prefix="/review", tags=["review"], include_in_schema=False)
templates = Jinja2Templates(directory=FsPath(__file__).resolve().parent.parent / "templates")
CLEAN_ROLES = ("confirmation_clean", "first_seen_clean", "confirmation", "first_seen")


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, error: str | None = None) -> Response:
    return templates.TemplateResponse(request, "login.html", {"error": error})


@router.post("/login")
async def login(request: Request, state: StateDep, token: Annotated[str, Form(max_length=200)]) -> Response:
    def lookup():  # type: ignore[no-untyped-def]
        with session_scope(state.sessions) as session:
            return resolve_token(session, token.strip())

    principal = await run_in_threadpool(lookup)
    if principal is None or principal.kind is not TokenKind.REVIEWER:
        return templates.TemplateResponse(
            request, "login.html", {"error": "That is not a valid reviewer token."}, status_code=401
        )
    response = _redirect("/review")
    response.set_cookie(
        review_session.COOKIE_NAME,
        review_session.make_cookie(state.signing_key, principal.token_id),
        max_age=review_session.SESSION_SECONDS,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


@router.post("/logout")
async def logout() -> Response:
    response = _redirect("/review/login")
    response.delete_cookie(review_session.COOKIE_NAME, path="/")
    return response


@router.get("", response_class=HTMLResponse)
async def queue(request: Request, state: StateDep, done: str | None = None, error: str | None = None) -> Response:
    reviewer = await from_cookie(state, request)
    if reviewer is None or reviewer.kind is not TokenKind.REVIEWER:
        return _redirect("/review/login")
    cases = await run_in_threadpool(review_queue, state.sessions, state.settings.page_size)
    cookie = request.cookies[review_session.COOKIE_NAME]
    items = []
    for case in cases:
        shown = next((e for role in CLEAN_ROLES for e in case.evidence if e.role == role), None)
        items.append(
            {
                "case": case,
                "shown": shown,
                "others": [e for e in case.evidence if e is not shown],
                "detections_json": [d.model_dump(mode="json", by_alias=True) for d in case.detections],
                "boxes_json": None
                if case.reviewed_boxes is None
                else [b.model_dump(mode="json", by_alias=True) for b in case.reviewed_boxes],
            }
        )
    return templates.TemplateResponse(
        request,
        "review.html",
        {
            "reviewer": reviewer.subject,
            "items": items,
            "violation_types": [v.value for v in ViolationType],
            "reject_reasons": [(r.value, label) for r, label in REJECT_REASON_LABELS.items()],
            "box_classes": list(CLASS_NAMES),
            "csrf": review_session.csrf_token(state.signing_key, cookie),
            "done": done,
            "error": error,
        },
    )


@router.post("/cases/{case_id}")
async def act(
    request: Request,
    state: StateDep,
    case_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    action: Annotated[str, Form(pattern="^(accept|reject|reclassify)$")],
    csrf: Annotated[str, Form(max_length=64)],
    reason: Annotated[str | None, Form(max_length=500)] = None,
    violation_type: Annotated[ViolationType | None, Form()] = None,
    reject_code: Annotated[RejectReason | None, Form()] = None,
    boxes: Annotated[str | None, Form(max_length=200_000, description="BoxesRequest JSON from the editor")] = None,
) -> Response:
    reviewer = await from_cookie(state, request)
    cookie = request.cookies.get(review_session.COOKIE_NAME, "")
    if reviewer is None or reviewer.kind is not TokenKind.REVIEWER:
        return _redirect("/review/login")
    if not review_session.check_csrf(state.signing_key, cookie, csrf):
        raise CaseServiceError(403, "the form's CSRF token does not match this session; reload the page")
    reason = (reason or "").strip() or None
    if action == "reject" and reject_code is None:
        return _redirect(f"/review?error={quote(f'case {case_id}: choose why it is rejected')}")
    if action == "reclassify" and violation_type is None:
        return _redirect(f"/review?error={quote(f'case {case_id}: choose the violation type to reclassify as')}")
    target = CaseStatus.REJECTED if action == "reject" else CaseStatus.ACCEPTED
    body = TransitionRequest(
        to=target,
        reason=reason,
        reject_code=reject_code if action == "reject" else None,
        violation_type=violation_type if action == "reclassify" else None,
    )
    try:
        if boxes:  # unsaved edits from the box editor travel with the verdict
            try:
                edits = BoxesRequest.model_validate_json(boxes).boxes
            except ValueError as exc:
                raise CaseServiceError(422, f"case {case_id}: the edited boxes are not valid: {exc}") from None
            await run_in_threadpool(save_boxes, state.sessions, case_id, edits, reviewer)
        case = await run_in_threadpool(transition, state.sessions, case_id, body, reviewer)
    except CaseServiceError as exc:
        return _redirect(f"/review?error={quote(str(exc.detail))}")
    state.metrics.transitions.labels(target.value).inc()
    label = case.status.value + (f" as {case.reviewed_violation_type.value}" if case.reviewed_violation_type else "")
    return _redirect(f"/review?done={quote(f'case {case_id} {label}')}")
