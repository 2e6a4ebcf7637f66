"""`/review`: the inspectors' pages. Server-rendered (jinja2 with the i18n extension), plain forms
that work without JavaScript; review.js adds keyboard shortcuts, box_editor.js the reviewer's box
editor. Chinese by default (`?lang=en` switches, remembered in a cookie); times in the city's time
zone. Sessions are signed cookies (see review_session)."""

from __future__ import annotations

import json
from datetime import date
from functools import cache
from pathlib import Path as FsPath
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import jinja2
from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from streetwatch.cases import date_input, review_session
from streetwatch.cases.api.deps import DbSession, StateDep, from_cookie
from streetwatch.cases.clips import CLIP_ROLE
from streetwatch.cases.error_messages import error_message
from streetwatch.cases.i18n import LANGUAGE_COOKIE, LANGUAGES, Locale, choose_language, translations
from streetwatch.cases.labels import (
    BASIS_LABELS,
    CLASS_LABELS,
    EVENT_LABELS,
    ROLE_LABELS,
    VIOLATION_LABELS,
    ZONE_KIND_LABELS,
    history_note,
)
from streetwatch.cases.lifecycle import ACTION_LABELS, STATUS_LABELS, TRANSITIONS, CaseStatus
from streetwatch.cases.models import utcnow
from streetwatch.cases.review_boxes import save_boxes
from streetwatch.cases.review_queries import review_page
from streetwatch.cases.schemas import BoxesRequest, CasePublic, TransitionRequest
from streetwatch.cases.script_messages import script_messages
from streetwatch.cases.service import CaseFilter, CaseServiceError, ErrorCode, get_case, transition
from streetwatch.cases.state import AppState
from streetwatch.cases.tokens import Principal, TokenKind, resolve_token
from streetwatch.models.taxonomy import CLASS_NAMES, ViolationType
from streetwatch.verdicts import REJECT_REASON_LABELS, RejectReason

router = APIRouter(prefix="/review", tags=["review"], include_in_schema=False)
TEMPLATES_DIR = FsPath(__file__).resolve().parent.parent / "templates"
CLEAN_ROLES = ("confirmation_clean", "first_seen_clean", "confirmation", "first_seen")
# Frames the detections were found on (the others already carry the edge box's drawings).
BOXED_ROLES = ("confirmation_clean",)
LANGUAGE_COOKIE_SECONDS = 365 * 24 * 3600
# Page actions -> the lifecycle target.
ACTIONS: dict[str, CaseStatus] = {
    "accept": CaseStatus.ACCEPTED,
    "reclassify": CaseStatus.ACCEPTED,
    "reject": CaseStatus.REJECTED,
    "dispatch": CaseStatus.DISPATCHED,
    "return": CaseStatus.DISPATCHED,
    "resolve": CaseStatus.RESOLVED,
    "verify": CaseStatus.VERIFIED,
    "close": CaseStatus.CLOSED,
}


@cache
def templates_for(language: str) -> Jinja2Templates:
    """One jinja environment per language, its gettext bound to that language's catalogue."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=jinja2.select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    return Jinja2Templates(env=env)


def locale_of(request: Request, state: AppState) -> Locale:
    language = choose_language(
        request.query_params.get("lang"), request.cookies.get(LANGUAGE_COOKIE), state.settings.language
    )
    return Locale(language, ZoneInfo(state.settings.timezone))


def _render(request: Request, state: AppState, name: str, context: dict[str, Any], status_code: int = 200) -> Response:
    loc = locale_of(request, state)
    params = {k: v for k, v in request.query_params.items() if k != "lang"}
    language_links = {
        lang: f"{request.url.path}?{urlencode(params | {'lang': lang})}" for lang in LANGUAGES if lang != loc.language
    }
    full = {
        "loc": loc,
        "status_labels": STATUS_LABELS,
        "action_labels": ACTION_LABELS,
        "violation_labels": VIOLATION_LABELS,
        "basis_labels": BASIS_LABELS,
        "language_links": language_links,
        "catalogue": state.catalogue,
        "workflow": state.workflow,
        "reject_reasons": [(r.value, loc.gettext(label)) for r, label in REJECT_REASON_LABELS.items()],
        "box_classes": list(CLASS_NAMES),
        "class_labels": {name: loc.gettext(label) for name, label in CLASS_LABELS.items()},
        "role_labels": {role: loc.gettext(label) for role, label in ROLE_LABELS.items()},
        "zone_kind_labels": {kind: loc.gettext(label) for kind, label in ZONE_KIND_LABELS.items()},
        "event_labels": EVENT_LABELS,
        "history_note": lambda h: history_note(loc, h.action, h.reason),
        "script_messages": script_messages(loc),
        **context,
    }
    response = templates_for(loc.language).TemplateResponse(request, name, full, status_code=status_code)
    if request.query_params.get("lang") in LANGUAGES:
        response.set_cookie(
            LANGUAGE_COOKIE, loc.language, max_age=LANGUAGE_COOKIE_SECONDS, samesite="lax", httponly=True, path="/"
        )
    return response


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _safe_next(value: str | None, fallback: str) -> str:
    """Only paths of this page: a form's `next` must never send the inspector elsewhere."""
    if value and value.startswith("/review") and "//" not in value and "\\" not in value:
        return value
    return fallback


def _with(url: str, **params: object) -> str:
    return url + ("&" if "?" in url else "?") + urlencode({k: v for k, v in params.items() if v is not None})


NOTICE_DETAIL_CHARS = 400  # the raw API detail kept under a notice (a redirect's URL stays short)


def _signed_text(message: str, detail: str | None) -> str:
    return message if not detail else f"{message}\n{detail}"


def _with_error(state: AppState, url: str, message: str, detail: str | None = None, **params: object) -> str:
    """A redirect carrying a notice this service wrote, signed: the page shows `error` (and its
    secondary `detail`, the API's own words) only with a valid `sig`, so a link cannot put an
    attacker's words in the page's red alert."""
    detail = detail[:NOTICE_DETAIL_CHARS] if detail else None
    sig = review_session.notice_signature(state.signing_key, _signed_text(message, detail))
    return _with(url, error=message, detail=detail, sig=sig, **params)


def _notice(state: AppState, error: str | None, detail: str | None, sig: str | None) -> tuple[str | None, str | None]:
    """(message, detail) of a signed notice; (None, None) for none or a forged one."""
    if error and review_session.check_notice(state.signing_key, _signed_text(error, detail), sig):
        return error, detail or None
    return None, None


def _refusal(loc: Locale, case_id: int, exc: CaseServiceError) -> tuple[str, str]:
    """A refused action as the page tells it: a known message in the page's language, and the API's detail."""
    problem = error_message(loc, exc.code, exc.status)
    detail = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail, ensure_ascii=False, default=str)
    return loc.gettext("Case %(id)s not changed: %(problem)s") % {"id": case_id, "problem": problem}, detail


async def _reviewer(state: AppState, session: Session, request: Request) -> Principal | None:
    reviewer = await from_cookie(state, session, request)
    if reviewer is None or reviewer.kind is not TokenKind.REVIEWER:
        return None
    return reviewer


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, state: StateDep) -> Response:
    return _render(request, state, "login.html", {"error": None})


@router.post("/login")
async def login(
    request: Request, state: StateDep, session: DbSession, token: Annotated[str, Form(max_length=200)]
) -> Response:
    principal = await run_in_threadpool(resolve_token, session, token.strip())
    if principal is None or principal.kind is not TokenKind.REVIEWER:
        loc = locale_of(request, state)
        error = loc.gettext("That is not a valid reviewer token.")
        return _render(request, state, "login.html", {"error": error}, status_code=401)
    session_id = await run_in_threadpool(review_session.open_session, session, principal.token_id)
    response = _redirect("/review")
    response.set_cookie(
        review_session.COOKIE_NAME,
        review_session.make_cookie(state.signing_key, session_id),
        max_age=review_session.SESSION_SECONDS,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


@router.post("/logout")
async def logout(request: Request, state: StateDep, session: DbSession) -> Response:
    """Revoke the session on the server (a copied cookie stops working), then forget the cookie."""
    session_id = review_session.read_cookie(state.signing_key, request.cookies.get(review_session.COOKIE_NAME))
    if session_id is not None:
        await run_in_threadpool(review_session.close_session, session, session_id)
    response = _redirect("/review/login")
    response.delete_cookie(review_session.COOKIE_NAME, path="/")
    return response


def _shown(case: CasePublic) -> dict[str, Any]:
    shown = next((e for role in CLEAN_ROLES for e in case.evidence if e.role == role), None)
    return {
        "case": case,
        "shown": shown,
        "boxed": shown is not None and shown.role in BOXED_ROLES,
        # the plate: in the facts; the clip: its own player
        "others": [e for e in case.evidence if e is not shown and e.role not in ("plate", CLIP_ROLE)],
        "frames": [e for e in case.evidence if e.role not in ("plate", CLIP_ROLE)],
        "clip": next((e for e in case.evidence if e.role == CLIP_ROLE), None),
        "detections_json": [d.model_dump(mode="json", by_alias=True) for d in case.detections],
        "boxes_json": None
        if case.reviewed_boxes is None
        else [b.model_dump(mode="json", by_alias=True) for b in case.reviewed_boxes],
    }


@router.get("", response_class=HTMLResponse)
async def queue(
    request: Request,
    state: StateDep,
    session: DbSession,
    status: Annotated[str, Query(max_length=16)] = CaseStatus.REPORTED.value,
    violation_type: Annotated[str, Query(max_length=32)] = "",
    camera: Annotated[str, Query(max_length=64)] = "",
    department: Annotated[str, Query(max_length=64)] = "",
    date_from: Annotated[str, Query(alias="from", max_length=date_input.MAX_LENGTH)] = "",
    date_to: Annotated[str, Query(alias="to", max_length=date_input.MAX_LENGTH)] = "",
    overdue: Annotated[bool, Query()] = False,
    q: Annotated[str, Query(max_length=100)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    done: Annotated[int | None, Query(ge=1)] = None,
    error: Annotated[str | None, Query(max_length=500)] = None,
    detail: Annotated[str | None, Query(max_length=NOTICE_DETAIL_CHARS)] = None,
    sig: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """The list. The filter form sends every field, empty ones as ""; a value the page does not
    know is dropped with a message rather than answered with an error page."""
    reviewer = await _reviewer(state, session, request)
    if reviewer is None:
        return _redirect("/review/login")
    error, error_detail = _notice(state, error, detail, sig)
    loc = locale_of(request, state)
    problems: list[str] = []
    if status not in ("all", *(s.value for s in CaseStatus)):
        problems.append(loc.gettext("Unknown status filter; showing all."))
        status = "all"
    if violation_type and violation_type not in {v.value for v in ViolationType}:
        problems.append(loc.gettext("Unknown violation type %(value)s; showing all types.") % {"value": violation_type})
        violation_type = ""
    if department and state.workflow.department(department) is None:
        problems.append(loc.gettext("Unknown department %(value)s; showing all.") % {"value": department})
        department = ""
    days: list[date | None] = []
    for text in (date_from, date_to):
        try:
            days.append(date_input.parse_day(text) if text.strip() else None)
        except ValueError:
            hint = loc.gettext(date_input.PLACEHOLDER)
            message = loc.gettext("%(value)s is not a date (%(format)s); ignored.")
            problems.append(message % {"value": text, "format": hint})
            days.append(None)
    day_from, day_to = days
    if problems:
        error = " ".join([*problems, *([error] if error else [])])
    zone = ZoneInfo(state.settings.timezone)
    flt = CaseFilter(
        violation_type=violation_type or None,
        camera_id=camera.strip() or None,
        statuses=() if status == "all" else (status,),
        since=date_input.day_bounds(day_from, zone)[0] if day_from else None,
        until=date_input.day_bounds(day_to, zone)[1] if day_to else None,
        department=department or None,
        overdue_at=utcnow() if overdue else None,
        text=q.strip() or None,
    )
    result = await run_in_threadpool(review_page, session, flt, page, state.settings.page_size)
    cookie = request.cookies[review_session.COOKIE_NAME]
    filters = {
        "status": status,
        "violation_type": violation_type,
        "camera": camera,
        "department": department,
        "from": date_input.format_day(day_from) if day_from else "",
        "to": date_input.format_day(day_to) if day_to else "",
        "overdue": overdue,
        "q": q,
    }
    base_params = {k: v for k, v in filters.items() if v}
    here = "/review?" + urlencode(base_params | ({"page": result.page} if result.page > 1 else {}))

    def page_url(n: int) -> str:
        return "/review?" + urlencode(base_params | {"page": n})

    done_case = None
    if done is not None:
        try:
            done_case = await run_in_threadpool(lambda: get_case(session, done, with_history=False))
        except CaseServiceError:
            done_case = None
    return _render(
        request,
        state,
        "review.html",
        {
            "reviewer": reviewer.subject,
            "items": [_shown(c) for c in result.items],
            "result": result,
            "filters": filters,
            "date_placeholder": date_input.PLACEHOLDER,
            "date_example": date_input.format_day(date_input.today(zone)),
            "date_max_length": date_input.MAX_LENGTH,
            "statuses": list(CaseStatus),
            "violation_types": list(ViolationType),
            "here": here,
            "prev_url": page_url(result.page - 1) if result.page > 1 else None,
            "next_url": page_url(result.page + 1) if result.page < result.pages else None,
            "csrf": review_session.csrf_token(state.signing_key, cookie),
            "transitions": TRANSITIONS,
            "done_case": done_case,
            "error": error,
            "error_detail": error_detail,
        },
    )


@router.get("/cases/{case_id}", response_class=HTMLResponse)
async def case_page(
    request: Request,
    state: StateDep,
    session: DbSession,
    case_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    done: Annotated[int | None, Query(ge=1)] = None,
    error: Annotated[str | None, Query(max_length=500)] = None,
    detail: Annotated[str | None, Query(max_length=NOTICE_DETAIL_CHARS)] = None,
    sig: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    reviewer = await _reviewer(state, session, request)
    if reviewer is None:
        return _redirect("/review/login")
    try:
        case = await run_in_threadpool(get_case, session, case_id)
    except CaseServiceError as exc:
        if exc.status != 404:
            raise
        loc = locale_of(request, state)
        return _redirect(_with_error(state, "/review", loc.gettext("No case %(id)s.") % {"id": case_id}, status="all"))
    cookie = request.cookies[review_session.COOKIE_NAME]
    return _render(
        request,
        state,
        "case.html",
        {
            "reviewer": reviewer.subject,
            "item": _shown(case),
            "case": case,
            "boxed_roles": BOXED_ROLES,
            "violation_types": list(ViolationType),
            "here": f"/review/cases/{case_id}",
            "csrf": review_session.csrf_token(state.signing_key, cookie),
            "transitions": TRANSITIONS,
            "done_case": case if done == case_id else None,
            **dict(zip(("error", "error_detail"), _notice(state, error, detail, sig), strict=True)),
        },
    )


@router.post("/cases/{case_id}")
async def act(
    request: Request,
    state: StateDep,
    session: DbSession,
    case_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    action: Annotated[str, Form(pattern="^(" + "|".join(ACTIONS) + ")$")],
    csrf: Annotated[str, Form(max_length=64)],
    reason: Annotated[str | None, Form(max_length=500)] = None,
    violation_type: Annotated[ViolationType | None, Form()] = None,
    reject_code: Annotated[RejectReason | None, Form()] = None,
    boxes: Annotated[str | None, Form(max_length=200_000, description="BoxesRequest JSON from the editor")] = None,
    department: Annotated[str | None, Form(max_length=64)] = None,
    next: Annotated[str | None, Form(max_length=2000)] = None,
) -> Response:
    reviewer = await _reviewer(state, session, request)
    cookie = request.cookies.get(review_session.COOKIE_NAME, "")
    if reviewer is None:
        return _redirect("/review/login")
    if not review_session.check_csrf(state.signing_key, cookie, csrf):
        message = "the form's CSRF token does not match this session; reload the page"
        raise CaseServiceError(403, message, code=ErrorCode.FORM_EXPIRED)
    loc = locale_of(request, state)
    back = _safe_next(next, "/review")
    reason = (reason or "").strip() or None
    if action == "reject" and reject_code is None:
        return _redirect(
            _with_error(state, back, loc.gettext("Case %(id)s: choose why it is rejected.") % {"id": case_id})
        )
    if action == "return" and not reason:
        return _redirect(
            _with_error(state, back, loc.gettext("Case %(id)s: this step needs a reason.") % {"id": case_id})
        )
    if action == "reclassify" and violation_type is None:
        message = loc.gettext("Case %(id)s: choose the violation type to reclassify as.") % {"id": case_id}
        return _redirect(_with_error(state, back, message))
    target = ACTIONS[action]
    body = TransitionRequest(
        to=target,
        reason=reason,
        reject_code=reject_code if action == "reject" else None,
        violation_type=violation_type if action == "reclassify" else None,
        department=(department or None) if action in ("accept", "reclassify", "dispatch", "return") else None,
    )
    try:
        if boxes:  # unsaved edits from the box editor travel with the verdict
            try:
                edits = BoxesRequest.model_validate_json(boxes).boxes
            except ValueError as exc:
                message = f"case {case_id}: the edited boxes are not valid: {exc}"
                raise CaseServiceError(422, message, code=ErrorCode.INVALID_BOXES) from None
            await run_in_threadpool(save_boxes, session, case_id, edits, reviewer)
        await run_in_threadpool(transition, session, case_id, body, reviewer, state.rules)
    except CaseServiceError as exc:
        return _redirect(_with_error(state, back, *_refusal(loc, case_id, exc)))
    state.metrics.transitions.labels(target.value).inc()
    return _redirect(_with(back, done=case_id))
