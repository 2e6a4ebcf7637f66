"""Review-page sessions: a signed cookie carrying a random session id, a row per session on the
server (`review_sessions`), and a CSRF token derived from the cookie. The API token itself never
travels in a cookie. Signing out revokes the row; revoking the token ends all its sessions."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from streetwatch.cases.models import ReviewSession, utcnow
from streetwatch.cases.tokens import Principal, principal_by_id

COOKIE_NAME = "sw_review"
SESSION_SECONDS = 12 * 3600


def _sign(key: bytes, payload: str) -> str:
    return hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()


def _id_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def make_cookie(key: bytes, session_id: str) -> str:
    return f"{session_id}.{_sign(key, session_id)}"


def read_cookie(key: bytes, value: str | None) -> str | None:
    """The session id of a well-signed cookie; None for anything else (checked before any lookup)."""
    if not value or value.count(".") != 1 or len(value) > 200:
        return None
    session_id, signature = value.split(".")
    if not hmac.compare_digest(signature, _sign(key, session_id)):
        return None
    return session_id


def open_session(session: Session, token_id: int, now: datetime | None = None) -> str:
    """A new session for this token; returns its id (for the cookie). Expired rows are swept here."""
    now = now or utcnow()
    session.execute(delete(ReviewSession).where(ReviewSession.expires_at < now))
    session_id = secrets.token_urlsafe(32)
    session.add(
        ReviewSession(
            id_hash=_id_hash(session_id),
            token_id=token_id,
            created_at=now,
            expires_at=now + timedelta(seconds=SESSION_SECONDS),
        )
    )
    return session_id


def session_principal(session: Session, session_id: str, now: datetime | None = None) -> Principal | None:
    """Who a live session belongs to: None when it is unknown, signed out, expired, or its token revoked."""
    row = session.scalar(select(ReviewSession).where(ReviewSession.id_hash == _id_hash(session_id)))
    if row is None or row.revoked_at is not None or row.expires_at <= (now or utcnow()):
        return None
    return principal_by_id(session, row.token_id)


def close_session(session: Session, session_id: str) -> None:
    session.execute(
        update(ReviewSession)
        .where(ReviewSession.id_hash == _id_hash(session_id), ReviewSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def csrf_token(key: bytes, cookie: str) -> str:
    return _sign(key, f"csrf:{cookie}")[:32]


def check_csrf(key: bytes, cookie: str, given: str) -> bool:
    return hmac.compare_digest(csrf_token(key, cookie), given or "")


def notice_signature(key: bytes, message: str) -> str:
    """Signs a notice the service itself wrote into a redirect (`?error=...&sig=...`)."""
    return _sign(key, f"notice:{message}")[:32]


def check_notice(key: bytes, message: str, signature: str | None) -> bool:
    return hmac.compare_digest(notice_signature(key, message), signature or "")
