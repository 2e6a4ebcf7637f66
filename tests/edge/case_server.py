"""A small, real HTTP case server for the sender tests: the contract's intake with its idempotency
semantics (201 new, 200 same key + same body, 409 same key + other body, 422 bad case), evidence
matched by sha256. Its store outlives the server, so a test can stop and restart it on one port."""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from pydantic import ValidationError

from streetwatch.contract import API_PREFIX, IDEMPOTENCY_HEADER, CaseReport


@dataclass
class Store:
    cases: dict[str, bytes] = field(default_factory=dict)  # idempotency key -> canonical body
    requests: int = 0
    created: int = 0
    replayed: int = 0
    drop_responses: int = 0  # process the next n requests, then close without answering
    lock: threading.Lock = field(default_factory=threading.Lock)


def _parse_multipart(content_type: str, body: bytes) -> tuple[str | None, list[bytes]]:
    message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    case_json, files = None, []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        if name == "case":
            case_json = payload.decode()
        elif name == "evidence":
            files.append(payload)
    return case_json, files


def make_handler(store: Store, token: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _reply(self, status: int, payload: dict[str, object]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with store.lock:
                store.requests += 1
            if self.path != f"{API_PREFIX}/cases":
                return self._reply(404, {"detail": "not found"})
            if self.headers.get("Authorization") != f"Bearer {token}":
                return self._reply(401, {"detail": "bad token"})
            case_json, files = _parse_multipart(self.headers.get("Content-Type", ""), body)
            if case_json is None:
                return self._reply(422, {"detail": "no case part"})
            try:
                report = CaseReport.model_validate_json(case_json)
            except ValidationError as exc:
                return self._reply(422, {"detail": str(exc)})
            key = self.headers.get(IDEMPOTENCY_HEADER)
            if key != str(report.event_id):
                return self._reply(422, {"detail": "Idempotency-Key must equal case.event_id"})
            hashes = sorted(hashlib.sha256(f).hexdigest() for f in files)
            if hashes != sorted(e.sha256 for e in report.evidence):
                return self._reply(422, {"detail": "evidence parts do not match the evidence list"})
            canonical = report.model_dump_json().encode()
            with store.lock:
                known = store.cases.get(key)
                if known is None:
                    store.cases[key] = canonical
                    store.created += 1
                    status = 201
                elif known == canonical:
                    store.replayed += 1
                    status = 200
                else:
                    status = 409
                drop = store.drop_responses > 0
                if drop:
                    store.drop_responses -= 1
            if drop:  # the case is stored, but the answer is lost on the way back
                self.close_connection = True
                self.connection.close()
                return None
            return self._reply(status, {"id": key, "status": status})

    return Handler


class CaseServer:
    """Start/stop/restart on a fixed loopback port; `store` survives restarts (it is the 'database')."""

    def __init__(self, port: int, token: str = "secret-token-1") -> None:
        self.port, self.token, self.store = port, token, Store()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), make_handler(self.store, self.token))
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
