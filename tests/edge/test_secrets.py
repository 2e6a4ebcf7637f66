"""Camera passwords never leave the box: not in logs, errors, `/cameras`, metrics, cases or evidence.

The end-to-end test runs the real agent (`streetwatch edge run`, a subprocess, its stderr as a
journal would keep it) with three password-protected cameras: an HTTP stream that demands Basic
auth and then serves a real H.264 video of a bus that parks (so a case is filed with the real case
service), an RTSP camera on a port nobody listens on, and an RTSP server that answers every
request with 401. Then every place a password could end up is searched for it.
"""

from __future__ import annotations

import base64
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import httpx
import pytest
import yaml
from edge_builders import config_dict, free_port
from live_cases import CaseService
from videos import bus_parks_video

from streetwatch.redact import mask_secrets, mask_url

REPO = Path(__file__).resolve().parents[2]
COCO = REPO / "models" / "releases" / "coco-teacher" / "yolov8n-coco.onnx"
PASSWORD = "Secret123"


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("rtsp://admin:Secret123@10.0.0.5:554/stream2", "rtsp://admin:***@10.0.0.5:554/stream2"),
        ("rtsp://admin:p@ss:w/rd@10.0.0.5/s", "rtsp://admin:***@10.0.0.5/s"),  # @ : / inside the password
        ("http://TOKEN123@cam/live.ts", "http://***@cam/live.ts"),
        ("http://cam/snap.jpg?user=admin&password=Secret123&ch=1", "http://cam/snap.jpg?user=admin&password=***&ch=1"),
        ("http://cam/live?Api-Key=abc", "http://cam/live?Api-Key=***"),
        ("rtsp://10.0.0.5/stream2", "rtsp://10.0.0.5/stream2"),
        ("videos/street.mp4", "videos/street.mp4"),
        ("usb:0", "usb:0"),
    ],
)
def test_mask_url(url: str, masked: str) -> None:
    assert mask_url(url) == masked
    assert mask_secrets(f"cannot open {url}: refused") == f"cannot open {masked}: refused"


def test_mask_secrets_leaves_ordinary_text_alone() -> None:
    text = "mail ops@example.org; a=b; rtsp://10.0.0.5/x ok"
    assert mask_secrets(text) == text
    # FFmpeg quotes the URL it failed on.
    assert mask_secrets("[Errno 111] Connection refused: 'rtsp://u:Secret123@127.0.0.1:9/x'") == (
        "[Errno 111] Connection refused: 'rtsp://u:***@127.0.0.1:9/x'"
    )


# -- password-protected cameras on 127.0.0.1 ------------------------------------------------------
class _PacedStream(BaseHTTPRequestHandler):
    """Basic auth like an IP camera, then the video at about its own bitrate (a live stream)."""

    body: bytes = b""
    seconds: float = 1.0
    expected = "Basic " + base64.b64encode(f"admin:{PASSWORD}".encode()).decode()
    authorised: ClassVar[list[bool]] = []

    def do_GET(self) -> None:
        if self.headers.get("Authorization") != self.expected:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="camera"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.authorised.append(True)
        self.send_response(200)
        self.send_header("Content-Type", "video/mp2t")
        self.end_headers()
        chunk = max(1, int(len(self.body) / self.seconds / 10))  # ten chunks per second of video
        try:
            for start in range(0, len(self.body), chunk):
                self.wfile.write(self.body[start : start + chunk])
                self.wfile.flush()
                time.sleep(0.1)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Rtsp401(socketserver.StreamRequestHandler):
    """An RTSP server that refuses every request with 401 (wrong password, as a camera says it)."""

    def handle(self) -> None:
        self.connection.settimeout(5)
        try:
            while True:
                cseq = "1"
                while (line := self.rfile.readline()) not in (b"\r\n", b"\n", b""):
                    if line.lower().startswith(b"cseq:"):
                        cseq = line.split(b":", 1)[1].strip().decode()
                if not line:
                    return
                self.wfile.write(
                    f'RTSP/1.0 401 Unauthorized\r\nCSeq: {cseq}\r\nWWW-Authenticate: Basic realm="cam"\r\n\r\n'.encode()
                )
        except (TimeoutError, OSError):
            return


@pytest.fixture
def cameras(tmp_path: Path) -> Iterator[dict[str, str]]:
    video = bus_parks_video(tmp_path / "bus.ts", seconds=16)
    _PacedStream.body, _PacedStream.seconds, _PacedStream.authorised = video.read_bytes(), 16.0, []
    http = ThreadingHTTPServer(("127.0.0.1", 0), _PacedStream)
    rtsp = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Rtsp401)
    rtsp.daemon_threads = True
    for server in (http, rtsp):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    with socket.socket() as s:  # a port that refuses: bound for a moment, then closed
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    try:
        yield {
            "cam-1": f"http://admin:{PASSWORD}@127.0.0.1:{http.server_address[1]}/live.ts",
            "cam-2": f"rtsp://admin:{PASSWORD}@127.0.0.1:{closed}/stream2",
            "cam-3": f"rtsp://admin:{PASSWORD}@127.0.0.1:{rtsp.server_address[1]}/stream1",
        }
    finally:
        http.shutdown()
        rtsp.shutdown()


@pytest.mark.slow
def test_no_password_anywhere_after_failing_cameras(
    tmp_path: Path, case_service: CaseService, new_camera, cameras: dict[str, str]
) -> None:
    if not COCO.is_file():
        pytest.skip("the COCO teacher release is not in models/releases/coco-teacher")
    ids = {name: new_camera() for name in cameras}
    data = config_dict(tmp_path / "state")
    data["device"].update({"case_service_url": case_service.url, "token": case_service.device})  # type: ignore[union-attr]
    data["model"] = {"path": str(COCO), "conf": 0.3, "threads": 2}
    template = data["cameras"][0]  # type: ignore[index]
    data["cameras"] = [
        {
            **template,
            "id": ids[name],
            "source": url,
            "zones": [
                {"id": "curb", "type": "no_parking", "polygon": [[250, 250], [640, 250], [640, 360], [250, 360]]}
            ],
            "health": {"frozen_after_s": None, "moved_after_s": None},
        }
        for name, url in cameras.items()
    ]
    data["rules"] = {"time_scale": 0.02, "illegal_parking": {"max_gap_s": 300}}  # dwell 300 s -> 6 s
    data["reconnect"] = {"initial_s": 0.2, "max_s": 1, "stall_timeout_s": 10}
    data["sender"] = {"backoff_initial_s": 0.1, "backoff_max_s": 0.5}
    port = free_port()
    data["api"] = {"port": port}
    config = tmp_path / "edge.yaml"
    config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    log = tmp_path / "edge.log"
    base = f"http://127.0.0.1:{port}"
    with open(log, "wb") as sink:
        agent = subprocess.Popen(
            [sys.executable, "-m", "streetwatch", "edge", "run", str(config)], stdout=sink, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 120
        cams: list[dict[str, object]] = []
        while time.monotonic() < deadline:
            assert agent.poll() is None, log.read_text(errors="replace")
            try:
                cams = httpx.get(f"{base}/cameras", timeout=5).json()
            except httpx.HTTPError:
                time.sleep(0.5)
                continue
            by_id = {c["id"]: c for c in cams}
            failing = [by_id[ids[n]] for n in ("cam-2", "cam-3")]
            if all(c["reconnects"] >= 2 and c["last_error"] for c in failing) and case_service.cases(ids["cam-1"]):
                break
            time.sleep(0.5)
        else:
            pytest.fail(f"no case from the HTTP camera or no failures in time: {cams}\n{log.read_text()}")
        metrics = httpx.get(f"{base}/metrics", timeout=5).text
        healthz = httpx.get(f"{base}/healthz", timeout=5).text
    finally:
        agent.send_signal(signal.SIGTERM)
        try:
            agent.wait(timeout=60)
        except subprocess.TimeoutExpired:
            agent.kill()
    assert _PacedStream.authorised, "the HTTP camera never saw the right password: the test proves nothing"
    [case] = case_service.cases(ids["cam-1"])
    by_id = {c["id"]: c for c in cams}
    # The errors are still useful: they name the camera URL, with the password masked.
    assert "rtsp://admin:***@127.0.0.1" in str(by_id[ids["cam-2"]]["last_error"])
    assert "rtsp://admin:***@127.0.0.1" in str(by_id[ids["cam-3"]]["last_error"])
    journal = log.read_text(errors="replace")
    assert "rtsp://admin:***@" in journal  # the reconnect warnings were logged, masked
    places = {
        "agent log (stdout+stderr)": journal,
        "/cameras": str(cams),
        "/metrics": metrics,
        "/healthz": healthz,
        "case JSON": str(case),
        "case service log": case_service.log.read_text(errors="replace"),
    }
    for name, text in places.items():
        assert PASSWORD not in text, f"the camera password appears in {name}"
    # Everything the box stored (outbox database, WAL, evidence) and the service's own files.
    for root in (tmp_path / "state", case_service.data_dir):
        for path in root.rglob("*"):
            if path.is_file():
                assert PASSWORD.encode() not in path.read_bytes(), f"the camera password is stored in {path}"
