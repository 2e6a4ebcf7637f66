"""Forwarding accepted cases to the city's platform (数字城管 / 12345) over HTTP.

- Durable: `transition` writes a `deliveries` row in the same transaction that accepts the case
  (a transactional outbox), so a crash between "accepted" and "sent" loses nothing.
- At least once, idempotent: each row has a `delivery_id` (UUID) sent as `X-Streetwatch-Delivery`;
  a retry (after a timeout, a lost response, a 5xx) sends the same id and the same body, so the
  receiver keeps the first and acknowledges the rest. The body is fixed at the first attempt.
- Signed: `X-Streetwatch-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>`;
  the receiver recomputes it with the shared secret and may refuse old timestamps (replays).
- Retries with exponential backoff and jitter (streetwatch.backoff); a 4xx other than 408/425/429
  means the receiver refuses this delivery and retrying cannot help: it is dead-lettered at once, as
  is one that used up its attempts. Dead deliveries are listed and re-queued by the API
  (`/api/v1/deliveries`).
- Several workers and replicas share the queue: a worker leases a row by compare-and-set on
  `locked_until`, so one attempt runs at a time per delivery.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from streetwatch.backoff import Backoff
from streetwatch.cases.db import session_scope
from streetwatch.cases.models import Delivery, utcnow
from streetwatch.cases.schemas import DeliveryPublic
from streetwatch.cases.service import CaseServiceError, get_case
from streetwatch.cases.service_codes import ServiceCatalogue
from streetwatch.cases.workflow import Workflow
from streetwatch.redact import mask_url

log = logging.getLogger(__name__)
DELIVERY_HEADER = "X-Streetwatch-Delivery"
EVENT_HEADER = "X-Streetwatch-Event"
SIGNATURE_HEADER = "X-Streetwatch-Signature"
RETRYABLE_4XX = frozenset({408, 425, 429})
BATCH = 20


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: bytes, header: str, body: bytes, now: float, tolerance_s: float = 300) -> bool:
    """What a receiver does with the signature header (the test receiver uses this very function)."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (ValueError, KeyError):
        return False
    if abs(now - timestamp) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), header)


@dataclass(frozen=True)
class ForwardConfig:
    url: str
    secret: bytes
    timeout_s: float
    max_attempts: int
    backoff: Backoff
    poll_s: float


class Forwarder:
    """Sends due deliveries; `run_once` is one pass (tests call it), `start` runs passes in a thread."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        config: ForwardConfig,
        catalogue: ServiceCatalogue,
        workflow: Workflow,
        client: httpx.Client | None = None,
    ) -> None:
        self.factory = factory
        self.config = config
        self.catalogue = catalogue
        self.workflow = workflow
        self.client = client or httpx.Client(timeout=config.timeout_s)
        self.rng = random.Random()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # Long enough that an attempt in flight is never taken over by another worker.
        self.lease = timedelta(seconds=config.timeout_s + 30)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="forwarder", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.config.timeout_s + 5)
        self.client.close()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                busy = self.run_once()
            except Exception:  # the database may be away for a moment; the queue is still there after
                log.exception("forwarding pass failed; trying again")
                busy = 0
            if not busy:
                self._stop.wait(self.config.poll_s)

    def run_once(self) -> int:
        """Attempt every due delivery this worker can lease; returns how many were attempted."""
        now = utcnow()
        with session_scope(self.factory) as session:
            due = list(
                session.scalars(
                    select(Delivery.id)
                    .where(
                        Delivery.status == "pending",
                        Delivery.next_attempt_at <= now,
                        or_(Delivery.locked_until.is_(None), Delivery.locked_until < now),
                    )
                    .order_by(Delivery.next_attempt_at, Delivery.id)
                    .limit(BATCH)
                )
            )
        attempted = 0
        for row_id in due:
            if self._stop.is_set():
                break
            claimed = self._claim(row_id)
            if claimed is not None:
                self._attempt(claimed)
                attempted += 1
        return attempted

    def _claim(self, row_id: int) -> Delivery | None:
        now = utcnow()
        with session_scope(self.factory) as session:
            result = session.execute(
                update(Delivery)
                .where(
                    Delivery.id == row_id,
                    Delivery.status == "pending",
                    or_(Delivery.locked_until.is_(None), Delivery.locked_until < now),
                )
                .values(locked_until=now + self.lease, attempts=Delivery.attempts + 1)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                return None  # another worker has it
            row = session.get(Delivery, row_id)
            assert row is not None
            if row.payload is None:
                row.payload = self._payload(session, row)
            session.flush()
            session.expunge(row)
            return row

    def _payload(self, session: Session, row: Delivery) -> dict[str, object]:
        case = get_case(session, row.case_id, with_history=False)
        vt = (case.reviewed_violation_type or case.violation_type).value
        service = self.catalogue.for_case(vt, case.standard_code)
        category = self.catalogue.category_of(service)
        department = self.workflow.department(case.department)
        return {
            "delivery_id": row.delivery_id,
            "event": row.event,
            "event_code": service.code,
            "event_name": service.name,
            "category_code": category.code if category else None,
            "category_name": category.name if category else None,
            "department": {"id": department.id, "name": department.name} if department else None,
            "case": json.loads(case.model_dump_json()),
        }

    def _attempt(self, row: Delivery) -> None:
        body = json.dumps(row.payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            DELIVERY_HEADER: row.delivery_id,
            EVENT_HEADER: row.event,
            SIGNATURE_HEADER: sign(self.config.secret, int(time.time()), body),
        }
        try:
            response = self.client.post(self.config.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            self._failed(row, f"{type(exc).__name__}: {exc}", retry=True)
            return
        if 200 <= response.status_code < 300:
            self._finish(row, status="delivered", error=None)
        elif 400 <= response.status_code < 500 and response.status_code not in RETRYABLE_4XX:
            self._failed(row, f"HTTP {response.status_code}: {response.text[:200]}", retry=False)
        else:
            self._failed(row, f"HTTP {response.status_code}: {response.text[:200]}", retry=True)

    def _failed(self, row: Delivery, error: str, *, retry: bool) -> None:
        if retry and row.attempts < self.config.max_attempts:
            delay = self.config.backoff.delay(row.attempts, self.rng)
            log.warning(
                "delivery %s of case %d to %s failed (attempt %d): %s; again in %.1f s",
                row.delivery_id, row.case_id, mask_url(self.config.url), row.attempts, error, delay,
            )  # fmt: skip
            self._finish(row, status="pending", error=error, next_at=utcnow() + timedelta(seconds=delay))
            return
        log.error("delivery %s of case %d dead-lettered after %d attempts: %s", row.delivery_id, row.case_id,
                  row.attempts, error)  # fmt: skip
        self._finish(row, status="dead", error=error)

    def _finish(self, row: Delivery, *, status: str, error: str | None, next_at: datetime | None = None) -> None:
        now = utcnow()
        values: dict[str, object] = {"status": status, "locked_until": None, "last_error": error and error[:500]}
        if status == "delivered":
            values["delivered_at"] = now
        if next_at is not None:
            values["next_attempt_at"] = next_at
        with session_scope(self.factory) as session:
            session.execute(update(Delivery).where(Delivery.id == row.id).values(**values))


def forwarder_from_settings(factory, settings, catalogue, workflow) -> Forwarder | None:  # type: ignore[no-untyped-def]
    if settings.forward_url is None:
        return None
    secret = settings.forward_secret.get_secret_value().encode() if settings.forward_secret else b""
    config = ForwardConfig(
        url=settings.forward_url,
        secret=secret,
        timeout_s=settings.forward_timeout_s,
        max_attempts=settings.forward_max_attempts,
        backoff=Backoff(initial_s=settings.forward_backoff_initial_s, max_s=settings.forward_backoff_max_s),
        poll_s=settings.forward_poll_s,
    )
    return Forwarder(factory, config, catalogue, workflow)


# -- the queue as the API shows it (one request's session) ------------------------------------------
def list_deliveries(session: Session, status: str | None, case_id: int | None, limit: int) -> list[DeliveryPublic]:
    statement = select(Delivery).order_by(Delivery.id.desc()).limit(limit)
    if status is not None:
        statement = statement.where(Delivery.status == status)
    if case_id is not None:
        statement = statement.where(Delivery.case_id == case_id)
    return [DeliveryPublic.model_validate(row, from_attributes=True) for row in session.scalars(statement)]


def retry_delivery(session: Session, row_id: int) -> DeliveryPublic:
    """A dead delivery back in the queue: same delivery id, same body, attempts counted afresh."""
    result = session.execute(
        update(Delivery)
        .where(Delivery.id == row_id, Delivery.status == "dead")
        .values(status="pending", attempts=0, next_attempt_at=utcnow(), locked_until=None)
    )
    row = session.get(Delivery, row_id)
    if row is None:
        raise CaseServiceError(404, f"no delivery {row_id}")
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise CaseServiceError(409, f"delivery {row_id} is {row.status}; only dead deliveries are retried")
    session.refresh(row)
    return DeliveryPublic.model_validate(row, from_attributes=True)
