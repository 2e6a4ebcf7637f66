"""A city platform's receiving end, as a real process, with failures injected on demand.

    python forward_receiver.py PORT SECRET PLAN_FILE RECORD_FILE

Each request takes the next step of the JSON list in PLAN_FILE (read once at start; empty = "ok"):
- "ok": check the signature, keep the delivery (once per delivery id), answer 200;
- an int such as 500 or 400: answer that status without keeping anything;
- "lost": keep the delivery, then close the connection without an answer (a lost response);
- "slow:S": keep the delivery, then wait S seconds before answering (longer than the sender waits).
A bad signature is answered with 401. RECORD_FILE gets one JSON line per request:
{"delivery_id", "case_id", "step", "kept"} - `kept` is true only the first time an id is kept, so
the platform holds each case once however often it is sent. Ids kept earlier (by a previous run of
this receiver on the same RECORD_FILE) are remembered, as a real platform's database would.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from streetwatch.cases.forwarding import DELIVERY_HEADER, SIGNATURE_HEADER, verify

PORT, SECRET, PLAN_FILE, RECORD_FILE = int(sys.argv[1]), sys.argv[2].encode(), Path(sys.argv[3]), Path(sys.argv[4])
plan: list[object] = json.loads(PLAN_FILE.read_text()) if PLAN_FILE.is_file() else []
lock = threading.Lock()
kept: set[str] = set()
if RECORD_FILE.is_file():
    kept = {r["delivery_id"] for r in map(json.loads, RECORD_FILE.read_text().splitlines()) if r["kept"]}


def record(delivery_id: str, case_id: object, step: object, keep: bool) -> None:
    with lock:
        first = keep and delivery_id not in kept
        if first:
            kept.add(delivery_id)
        with RECORD_FILE.open("a") as out:
            out.write(json.dumps({"delivery_id": delivery_id, "case_id": case_id, "step": step, "kept": first}) + "\n")


class Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with lock:
            step = plan.pop(0) if plan else "ok"
        delivery_id = self.headers.get(DELIVERY_HEADER, "")
        if not verify(SECRET, self.headers.get(SIGNATURE_HEADER, ""), body, time.time()):
            self.send_response(401)
            self.end_headers()
            return
        case_id = json.loads(body)["case"]["id"]
        if isinstance(step, int):
            record(delivery_id, case_id, step, keep=False)
            self.send_response(step)
            self.end_headers()
            self.wfile.write(b"injected failure")
            return
        record(delivery_id, case_id, step, keep=True)
        if step == "lost":
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if isinstance(step, str) and step.startswith("slow:"):
            time.sleep(float(step.split(":")[1]))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"received": true}')

    def log_message(self, *args: object) -> None:
        pass


ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
