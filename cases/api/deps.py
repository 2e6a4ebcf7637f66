"""Dependencies: the app state, and the caller resolved from a bearer token or a review cookie."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from streetwatch.cases import review_session
from streetwatch.cases.db import session_scope
from streetwatch.cases.service import CaseServiceError
from streetwatch.cases.state import AppState
from streetwatch.cases.tokens import Principal, TokenKind, principal_by_id, resolve_token

bearer = HTTPBearer(auto_error=False, description="device, reviewer or client token")


def get_state(request: Request) -> AppState:
    return request.app.state.cases


StateDep = Annotated[AppState, Depends(get_state)]
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


async def _from_bearer(state: AppState, credentials: HTTPAuthorizationCredentials | None) -> Principal | None:
    if credentials is None:
        return None

    def lookup() -> Principal | None:
        with session_scope(state.sessions) as session:
            return resolve_token(session, credentials.credentials)

    principal = await run_in_threadpool(lookup)
    if principal is None:
        raise CaseServiceError(401, "the bearer token is unknown or revoked")
    return principal


async def from_cookie(state: AppState, request: Request) -> Principal | None:
    token_id = review_session.read_cookie(state.signing_key, request.cookies.get(review_session.COOKIE_NAME))
    if token_id is None:
        return None

    def lookup() -> Principal | None:
        with session_scope(state.sessions) as session:
            return principal_by_id(session, token_id)

    return await run_in_threadpool(lookup)


async def require_caller(state: StateDep, credentials: Credentials) -> Principal:
    principal = await _from_bearer(state, credentials)
    if principal is None:
        raise CaseServiceError(401, "missing `Authorization: Bearer <token>` header")
    return principal


async def require_reviewer(state: StateDep, request: Request, credentials: Credentials) -> Principal:
    """Reviewer via bearer token (API clients) or via the review page's session cookie."""
    principal = await _from_bearer(state, credentials) or await from_cookie(state, request)
    if principal is None:
        raise CaseServiceError(401, "missing `Authorization: Bearer <reviewer token>` header")
    if principal.kind is not TokenKind.REVIEWER:
        raise CaseServiceError(403, f"this needs a reviewer token; this is a {principal.kind} token")
    return principal


Caller = Annotated[Principal, Depends(require_caller)]
Reviewer = Annotated[Principal, Depends(require_reviewer)]
