"""SQLAlchemy 2 models. Migrations (cases/migrations) are the source of the schema; these map it.

Idempotency rests on the database: `cases.event_id` is UNIQUE, so concurrent replays of one key
on several replicas make exactly one row, whatever process wins.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Integer, String, Text, TypeDecorator
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite hands back naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class Case(Base):
    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)  # the idempotency key
    body_sha256: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(16))  # edge | open311
    status: Mapped[str] = mapped_column(String(16), index=True)
    violation_type: Mapped[str] = mapped_column(String(32), index=True)
    reviewed_violation_type: Mapped[str | None] = mapped_column(String(32))
    standard_code: Mapped[str] = mapped_column(String(32))  # the city's event code, chosen by the service
    filed_code: Mapped[str | None] = mapped_column(String(32))  # the code the edge box sent, kept for the audit
    zone_kind: Mapped[str | None] = mapped_column(String(64))
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    device_id: Mapped[str | None] = mapped_column(String(64))
    camera_id: Mapped[str | None] = mapped_column(String(64), index=True)
    zone_id: Mapped[str | None] = mapped_column(String(64))
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lat: Mapped[float | None] = mapped_column(Float)  # None: a person's report gave only an address
    lon: Mapped[float | None] = mapped_column(Float)
    address: Mapped[str | None] = mapped_column(String(300))
    grid_code: Mapped[str | None] = mapped_column(String(64))
    description: Mapped[str | None] = mapped_column(Text)
    model_name: Mapped[str | None] = mapped_column(String(100))
    model_version: Mapped[str | None] = mapped_column(String(50))
    model_sha256: Mapped[str | None] = mapped_column(String(64))
    frame_width: Mapped[int | None] = mapped_column(Integer)
    frame_height: Mapped[int | None] = mapped_column(Integer)
    detections: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    reporter: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # Open311 contact details; never public
    reviewer: Mapped[str | None] = mapped_column(String(100))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    reject_reason: Mapped[str | None] = mapped_column(String(500))  # the reviewer's note
    reject_code: Mapped[str | None] = mapped_column(String(32))  # streetwatch.verdicts.RejectReason
    # The reviewer's boxes on the evidence frame (ReviewedBox JSON); null = never edited.
    reviewed_boxes: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    boxes_by: Mapped[str | None] = mapped_column(String(100))
    boxes_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    department: Mapped[str | None] = mapped_column(String(64), index=True)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)  # 处置时限 from dispatch
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The parked vehicle's plate as the edge box read it (streetwatch.contract.PlateReport).
    plate_status: Mapped[str | None] = mapped_column(String(8))  # read | unread; null: not read
    plate_text: Mapped[str | None] = mapped_column(String(8), index=True)
    plate_kind: Mapped[str | None] = mapped_column(String(16))
    plate_confidence: Mapped[float | None] = mapped_column(Float)
    plate_frame: Mapped[str | None] = mapped_column(String(32))  # the evidence role it was read on
    plate_box: Mapped[list[float] | None] = mapped_column(JSON)

    evidence: Mapped[list[Evidence]] = relationship(back_populates="case", order_by="Evidence.id", lazy="selectin")
    events: Mapped[list[CaseEvent]] = relationship(back_populates="case", order_by="CaseEvent.id", lazy="raise")

    @property
    def effective_violation_type(self) -> str:
        return self.reviewed_violation_type or self.violation_type


class Evidence(Base):
    __tablename__ = "evidence"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    # The frame's public copy (people, other plates hidden by the edge box); null: none was filed.
    public_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    content_type: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    captured_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    case: Mapped[Case] = relationship(back_populates="evidence")


class CaseEvent(Base):
    """The audit log: who did what to a case, when and why."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(100))
    actor_kind: Mapped[str] = mapped_column(String(16))  # device | reviewer | client | system
    action: Mapped[str] = mapped_column(String(16))  # filed | transition | boxes | original (a view of one)
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(500))
    violation_type: Mapped[str | None] = mapped_column(String(32))  # set when the reviewer reclassified

    case: Mapped[Case] = relationship(back_populates="events")


class ApiToken(Base):
    """Bearer tokens, stored as sha256 of the token (tokens are 256-bit random, so no slow hash is needed)."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))  # device | reviewer | client
    subject: Mapped[str] = mapped_column(String(100), index=True)  # device id, reviewer or client name
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))  # shown in listings to tell tokens apart
    cameras: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ReviewSession(Base):
    """A signed-in review page. The cookie carries a random id; only its sha256 is stored, and
    signing out sets `revoked_at`, so a copied cookie stops working at once on every replica."""

    __tablename__ = "review_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("api_tokens.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Delivery(Base):
    """The forwarding queue (a transactional outbox): one row per case event for the city's platform,
    written in the transaction that accepted the case, so an accepted case is never left unsent."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    delivery_id: Mapped[str] = mapped_column(String(36), unique=True)  # the receiver's idempotency key
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(32))  # case.accepted
    status: Mapped[str] = mapped_column(String(16), index=True)  # pending | delivered | dead
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # fixed at the first attempt, resent as is
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)  # a worker's lease on the row
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
