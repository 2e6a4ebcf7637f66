"""Rows of the forwarding queue, written by `service.transition` in the transaction that accepts a
case; `forwarding.Forwarder` sends them."""

from __future__ import annotations

import uuid
from datetime import datetime

from streetwatch.cases.models import Delivery

EVENT_ACCEPTED = "case.accepted"


def new_delivery(case_id: int, event: str, now: datetime) -> Delivery:
    return Delivery(
        delivery_id=str(uuid.uuid4()),
        case_id=case_id,
        event=event,
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
