"""Review-page sessions: a signed cookie naming the reviewer's token id, and a CSRF token derived
from it. The token itself never travels in a cookie; revoking it ends the session."""

from __future__ import annotations

import hashlib
import hmac
import time

COOKIE_NAME = "sw_review"
SESSION_SECONDS = 12 * 3600


def _sign(key: bytes, payload: str) -> str:
    return hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()


def make_cookie(key: bytes, token_id: int, now: float | None = None) -> str:
    expires = int((now or time.time()) + SESSION_SECONDS)
    payload = f"{token_id}.{expires}"
    return f"{payload}.{_sign(key, payload)}"


def read_cookie(key: bytes, value: str | None, now: float | None = None) -> int | None:
    """The token id of a valid, unexpired cookie; None for anything else."""
    if not value or value.count(".") != 2:
        return None
    token_id, expires, signature = value.split(".")
    if not hmac.compare_digest(signature, _sign(key, f"{token_id}.{expires}")):
        return None
    if not (token_id.isdigit() and expires.isdigit()) or int(expires) < (now or time.time()):
        return None
    return int(token_id)


def csrf_token(key: bytes, cookie: str) -> str:
    return _sign(key, f"csrf:{cookie}")[:32]


def check_csrf(key: bytes, cookie: str, given: str) -> bool:
    return hmac.compare_digest(csrf_token(key, cookie), given or "")
