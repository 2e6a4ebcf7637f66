"""Deliver outbox items to the case service: one at a time, urgent first, `Idempotency-Key` = event id.

The request body is rebuilt from what the outbox stored (the same JSON text, the same JPEG bytes),
so a resend after a timeout or a restart is byte-for-byte the same request and the service answers
200 with the case it already has: one event is never two cases.

Outcomes: 201/200 -> sent. 5xx, 408, 429, 401/403 (a token being rotated) and network errors ->
retried with exponential backoff and jitter. Any other 4xx (the service says the case itself is
wrong; sending it again cannot help) -> rejected, kept on disk for inspection, logged.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable

import httpx

from streetwatch.backoff import Backoff
from streetwatch.contract import API_PREFIX, IDEMPOTENCY_HEADER
from streetwatch.edge.outbox import Outbox, OutboxItem

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({401, 403, 408, 425, 429})


class Sender:
    def __init__(
        self,
        outbox: Outbox,
        *,
        base_url: str,
        token: str,
        timeout_s: float = 30.0,
        backoff: Backoff | None = None,
        on_result: Callable[[str, str], None] | None = None,
        seed: int | None = None,
    ) -> None:
        self.outbox = outbox
        self.url = base_url.rstrip("/") + API_PREFIX + "/cases"
        self.backoff = backoff or Backoff()
        self.on_result = on_result or (lambda outcome, violation: None)
        self._client = httpx.Client(timeout=timeout_s, headers={"Authorization": f"Bearer {token}"})
        self._rng = random.Random(seed)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- one attempt -------------------------------------------------------------------------------
    def send_one(self, item: OutboxItem) -> str:
        """Try to deliver one item; returns 'sent', 'retry' or 'rejected' (and records it in the outbox)."""
        try:
            files = [("evidence", (p.name, p.read_bytes(), "image/jpeg")) for p in item.evidence]
            if item.clip is not None:
                files.append(("clip", (item.clip.name, item.clip.read_bytes(), "video/mp4")))
        except FileNotFoundError as exc:
            self.outbox.mark_rejected(item.event_id, f"evidence file missing: {exc.filename}")
            return "rejected"
        try:
            response = self._client.post(
                self.url,
                data={"case": item.case_json},
                files=files,
                headers={IDEMPOTENCY_HEADER: item.event_id},
            )
        except httpx.HTTPError as exc:
            return self._retry(item, f"{type(exc).__name__}: {exc}")
        status = response.status_code
        if status in (200, 201):
            self.outbox.mark_sent(item.event_id)
            log.info("case %s delivered (%d)%s", item.event_id, status, " [urgent]" if item.urgent else "")
            return "sent"
        detail = response.text[:300]
        if status >= 500 or status in RETRY_STATUSES:
            return self._retry(item, f"HTTP {status}: {detail}")
        self.outbox.mark_rejected(item.event_id, f"HTTP {status}: {detail}")
        log.error("case %s rejected by the case service (HTTP %d): %s", item.event_id, status, detail)
        return "rejected"

    def _retry(self, item: OutboxItem, error: str) -> str:
        delay = self.backoff.delay(item.attempts + 1, self._rng)
        self.outbox.mark_retry(item.event_id, delay, error)
        log.warning("case %s not delivered (%s); retry in %.1f s", item.event_id, error, delay)
        return "retry"

    def drain_once(self, stop: threading.Event | None = None) -> float | None:
        """Send everything due now; returns seconds until the next retry is due (None: nothing pending)."""
        while stop is None or not stop.is_set():
            item, wait_s = self.outbox.next_due()
            if item is None:
                return wait_s
            outcome = self.send_one(item)
            self.on_result(outcome, item.violation.value)
        return None

    def drain(self, timeout_s: float) -> int:
        """On shutdown: keep delivering (waiting out short retry delays) until empty or `timeout_s`; returns
        how many remain pending (they stay in the outbox and go out on the next start)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            wait = self.drain_once()
            if wait is None:
                break
            if time.monotonic() + wait > deadline:
                break
            time.sleep(wait)
        return self.outbox.depth()

    # -- the thread --------------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="sender", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                wait = self.drain_once(self._stop)
            except Exception:  # never let one bad row kill delivery of the others
                log.exception("sender loop error")
                wait = 5.0
            self.outbox.wakeup.wait(timeout=60.0 if wait is None else min(wait, 60.0))
            self.outbox.wakeup.clear()

    def stop(self) -> None:
        """Stop the background thread (an attempt in flight finishes); `drain()` may still be called."""
        self._stop.set()
        self.outbox.wakeup.set()
        if self._thread is not None:
            self._thread.join(timeout=(self._client.timeout.read or 30.0) + 5.0)

    def close(self) -> None:
        self._client.close()
