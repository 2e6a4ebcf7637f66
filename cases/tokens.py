"""Bearer tokens: created once and shown once, stored only as a sha256 digest.

Three kinds: `device` (files cases for its own cameras), `reviewer` (reads and reviews cases),
`client` (an Open311 application filing reports made by people, as its `api_key`).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from streetwatch.cases.models import ApiToken, utcnow
from streetwatch.errors import InputError


class TokenKind(StrEnum):
    DEVICE = "device"
    REVIEWER = "reviewer"
    CLIENT = "client"


@dataclass(frozen=True)
class Principal:
    """Who is calling: resolved from a token on each request."""

    token_id: int
    kind: TokenKind
    subject: str
    cameras: frozenset[str]


@dataclass(frozen=True)
class IssuedToken:
    token: str  # shown once, never stored
    record_id: int
    prefix: str


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, kind: TokenKind, subject: str, cameras: list[str] | None = None) -> IssuedToken:
    from pydantic import TypeAdapter, ValidationError

    from streetwatch.contract import Identifier  # the same identifier rule as the filing contract

    cameras = sorted(set(cameras or []))
    if kind is TokenKind.DEVICE and not cameras:
        raise InputError(f"a device token needs at least one camera (--cameras cam1,cam2) for device {subject!r}")
    if kind is not TokenKind.DEVICE and cameras:
        raise InputError(f"only device tokens carry cameras; got cameras for a {kind} token")
    checker = TypeAdapter(Identifier)
    for value in [subject, *cameras] if kind is TokenKind.DEVICE else cameras:
        try:
            checker.validate_python(value)
        except ValidationError:
            raise InputError(
                f"{value!r} is not a valid device/camera id: expected letters, digits, '.', '_' or '-', "
                "at most 64 characters, starting with a letter or digit"
            ) from None
    if not subject.strip() or len(subject) > 100:
        raise InputError(f"a token needs a name of 1-100 characters; got {subject!r}")
    token = f"sw{kind.value[0]}_{secrets.token_urlsafe(32)}"
    record = ApiToken(
        kind=kind.value,
        subject=subject,
        token_hash=hash_token(token),
        prefix=token[:10],
        cameras=cameras,
        created_at=utcnow(),
    )
    session.add(record)
    session.flush()
    return IssuedToken(token=token, record_id=record.id, prefix=record.prefix)


def resolve_token(session: Session, token: str) -> Principal | None:
    if not token or len(token) > 200:
        return None
    record = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    if record is None or record.revoked_at is not None:
        return None
    return Principal(record.id, TokenKind(record.kind), record.subject, frozenset(record.cameras))


def principal_by_id(session: Session, token_id: int) -> Principal | None:
    record = session.get(ApiToken, token_id)
    if record is None or record.revoked_at is not None:
        return None
    return Principal(record.id, TokenKind(record.kind), record.subject, frozenset(record.cameras))


def list_tokens(session: Session) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).order_by(ApiToken.id)))


def revoke_token(session: Session, token_id: int) -> ApiToken:
    record = session.get(ApiToken, token_id)
    if record is None:
        raise InputError(f"no token with id {token_id}; see `streetwatch cases token list`")
    if record.revoked_at is None:
        record.revoked_at = utcnow()
    return record
