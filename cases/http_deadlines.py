"""Deadlines for receiving a request: the slow-client (slow-loris) guard uvicorn does not have.

uvicorn's only timer, `timeout_keep_alive`, runs between requests and is cancelled by every byte that
arrives, and a new connection has no timer at all: a client that opens a connection and sends one
header byte a minute (or nothing) holds it, and its socket, for ever; 3,000 of them were held open. ASGI
middleware cannot help, it runs only once the headers are complete. So the HTTP protocol itself keeps
two deadlines, in the manner of Apache's mod_reqtimeout (whose default is
`header=20-40,MinRate=500 body=20,MinRate=500`):

* headers: complete within `request_header_timeout_s` of the request's first byte (of the connection's
  start, for the first request), else `408` and the connection is closed;
* body: received within `request_body_timeout_s` of the headers, extended by one second per
  `request_body_min_rate` bytes that arrive, so a large upload over a slow but honest link goes on,
  while a trickle is cut. While the application is not reading (uvicorn paused the socket because its
  buffer is full) the body deadline waits: the slowness is ours, not the client's.

Once a request is fully received no deadline runs: a slow answer is the application's business.
The deadlines come from `ConnectionSettings` (the same environment the workers' settings come from),
read once per process.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time

import h11
from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import ServerState

from streetwatch.cases.settings import ConnectionSettings

log = logging.getLogger("streetwatch.cases.access")

PROTOCOL = "streetwatch.cases.http_deadlines:DeadlineH11Protocol"  # uvicorn's `http=` import string


@functools.cache
def process_settings() -> ConnectionSettings:
    return ConnectionSettings()


def _timeout_response(message: str) -> bytes:
    body = json.dumps({"detail": message}).encode()
    head = (
        "HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\nconnection: close\r\n"
        f"content-length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


class DeadlineH11Protocol(H11Protocol):
    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, object],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits = process_settings()
        self._deadline: asyncio.TimerHandle | None = None
        self._phase = ""  # "headers" | "body" | "" (no deadline)
        self._body_started = 0.0
        self._body_bytes = 0

    # -- the asyncio.Protocol interface --------------------------------------------------------------
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._expect_headers()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if not self._phase and self.conn.their_state is h11.IDLE:
            self._expect_headers()  # the first byte of the next request on a kept-alive connection
        before = self.conn.their_state
        super().data_received(data)
        state = self.conn.their_state
        if state is h11.SEND_BODY:
            if before is not h11.SEND_BODY:
                self._body_started, self._body_bytes = time.monotonic(), 0
            else:
                self._body_bytes += len(data)
            self._arm("body", self._body_deadline() - time.monotonic())
        elif state is not h11.IDLE:  # DONE, MUST_CLOSE, CLOSED, ERROR: nothing more to wait for
            self._disarm()

    # -- deadlines -----------------------------------------------------------------------------------
    def _expect_headers(self) -> None:
        self._arm("headers", self.limits.request_header_timeout_s)

    def _body_deadline(self) -> float:
        extension = self._body_bytes / self.limits.request_body_min_rate
        return self._body_started + self.limits.request_body_timeout_s + extension

    def _arm(self, phase: str, delay: float) -> None:
        self._disarm()
        self._phase = phase
        self._deadline = self.loop.call_later(max(0.0, delay), self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        self._phase = ""

    def _expired(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if self._phase == "body":
            if self.flow.read_paused:  # we are not reading: give the client the time back
                self._body_started = time.monotonic()
                self._arm("body", self._body_deadline() - time.monotonic())
                return
            if self._body_deadline() > time.monotonic():  # data arrived since the timer was set
                self._arm("body", self._body_deadline() - time.monotonic())
                return
        phase, self._phase = self._phase, ""
        limit = self.limits.request_header_timeout_s if phase == "headers" else self.limits.request_body_timeout_s
        log.warning("request %s not received in time; connection closed", phase, extra={"client": self.client})
        if phase == "headers" or self.cycle is None or not self.cycle.response_started:
            self.transport.write(
                _timeout_response(f"the request {phase} did not arrive within the time allowed ({limit:g} s)")
            )
        self.transport.close()
