"""Dependencies: the app state, one database session per request, and the caller resolved from a
bearer token or a review cookie."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from streetwatch.cases import review_session
from streetwatch.cases.service import EVIDENCE_WRITTEN, CaseServiceError, ErrorCode
from streetwatch.cases.state import AppState
from streetwatch.cases.tokens import Principal, TokenKind, resolve_token

bearer = HTTPBearer(auto_error=False, description="device, reviewer or client token")


def get_state(request: Request) -> AppState:
    return request.app.state.cases


StateDep = Annotated[AppState, Depends(get_state)]
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def request_session(state: StateDep) -> Iterator[Session]:
    """The request's unit of work: committed when the route returns, rolled back if it raises.

    `scope="function"` (below) ends it before the response is sent, so a client never sees an
    answer for a write that then fails to commit. Every dependency and the route share this one
    session (FastAPI caches a dependency within a request)."""
    session = state.sessions()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        if session.info.get(EVIDENCE_WRITTEN):  # images stored for a case that was not committed
            state.sweeper.failed_filing()
        raise
    finally:
        session.close()


DbSession = Annotated[Session, Depends(request_session, scope="function")]


def end_reads(session: Session) -> None:
    """End the read-only transaction of the caller lookup before a long body read, so no pooled
    connection waits (idle in transaction, on PostgreSQL) while a client uploads; the session stays
    the request's and its next use begins the unit of work that writes."""
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("end_reads is for a session that has not written anything")
    session.commit()


async def _from_bearer(session: Session, credentials: HTTPAuthorizationCredentials | None) -> Principal | None:
    if credentials is None:
        return None
    principal = await run_in_threadpool(resolve_token, session, credentials.credentials)
    if principal is None:
        raise CaseServiceError(401, "the bearer token is unknown or revoked", code=ErrorCode.NOT_SIGNED_IN)
    return principal


async def from_cookie(state: AppState, session: Session, request: Request) -> Principal | None:
    session_id = review_session.read_cookie(state.signing_key, request.cookies.get(review_session.COOKIE_NAME))
    if session_id is None:
        return None
    return await run_in_threadpool(review_session.session_principal, session, session_id)


async def require_caller(session: DbSession, credentials: Credentials) -> Principal:
    principal = await _from_bearer(session, credentials)
    if principal is None:
        raise CaseServiceError(401, "missing `Authorization: Bearer <token>` header", code=ErrorCode.NOT_SIGNED_IN)
    return principal


async def require_reviewer(
    state: StateDep, session: DbSession, request: Request, credentials: Credentials
) -> Principal:
    """Reviewer via bearer token (API clients) or via the review page's session cookie."""
    principal = await _from_bearer(session, credentials) or await from_cookie(state, session, request)
    if principal is None:
        message = "missing `Authorization: Bearer <reviewer token>` header"
        raise CaseServiceError(401, message, code=ErrorCode.NOT_SIGNED_IN)
    if principal.kind is not TokenKind.REVIEWER:
        message = f"this needs a reviewer token; this is a {principal.kind} token"
        raise CaseServiceError(403, message, code=ErrorCode.REVIEWERS_ONLY)
    return principal


Caller = Annotated[Principal, Depends(require_caller)]
Reviewer = Annotated[Principal, Depends(require_reviewer)]
