"""The main job end to end, small: real processes on 127.0.0.1 (`streetwatch cases serve`,
`streetwatch edge run`), a real H.264 clip made from a real street photo, the shipped ONNX model.

The edge box is killed (SIGKILL) while its case is in flight — the case service has committed it,
the box never got the answer — then restarted: it resends the same event, and there is still
exactly one case, with the evidence the box hashed.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from builders import wait_until
from fault_proxy import FaultProxy

from streetwatch.demo.processes import free_port, wait_healthy
from streetwatch.demo.scenes import SCENES, ArrivingCar, write_clip
from streetwatch.models.registry import default_model_path

pytestmark = pytest.mark.slow
DEMO_IMAGES = Path(__file__).resolve().parents[2] / "examples" / "demo" / "images"


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "streetwatch", *args]


@pytest.fixture()
def case_service(tmp_path: Path) -> Iterator[tuple[str, str, str]]:
    """A live case service on SQLite; yields (base_url, device token, reviewer token)."""
    data = tmp_path / "cases"

    def token(*args: str) -> str:
        out = subprocess.run(
            _cli("cases", "token", "create", "--data-dir", str(data), *args), capture_output=True, text=True, check=True
        )
        return out.stdout.strip().splitlines()[-1]

    device = token("--device", "box-1", "--cameras", "cam-1")
    reviewer = token("--reviewer", "inspector")
    port = free_port()
    log = tmp_path / "cases.log"
    with open(log, "wb") as sink:
        server = subprocess.Popen(
            _cli("cases", "serve", "--data-dir", str(data), "--port", str(port), "--dev"),
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_healthy(f"http://127.0.0.1:{port}/healthz", server, log)
        yield f"http://127.0.0.1:{port}", device, reviewer
    finally:
        server.terminate()
        server.wait(20)


def _edge_config(tmp_path: Path, url: str, clip: Path, state: Path) -> Path:
    config = tmp_path / f"edge-{clip.stem}.yaml"
    config.write_text(f"""
device: {{id: box-1, token_env: STREETWATCH_DEVICE_TOKEN, case_service_url: "{url}", request_timeout_s: 5}}
model: {{path: "{default_model_path()}", conf: 0.3, threads: 2}}
rules:
  time_scale: 0.02                        # 300 s of dwell in 6 s of video
  illegal_parking: {{max_gap_s: 250}}
cameras:
  - id: cam-1
    source: "{clip}"
    realtime: false                       # as fast as it decodes; rule time is media time
    sample_fps: 1.0
    location: {{lat: 31.2286, lon: 121.4452, address: "Test Rd 1", grid_code: "t-1"}}
    health: {{frozen_after_s: null}}
    zones:
      - {{id: curb, type: no_parking, polygon: [[300, 450], [640, 450], [640, 641], [300, 641]]}}
storage: {{root: "{state}", max_bytes: 104857600}}
sender: {{backoff_initial_s: 0.3, backoff_max_s: 1}}
api: {{port: 0}}
stop_when_sources_end: true
drain_timeout_s: 15
""")
    return config


def _outbox_rows(state: Path) -> list[tuple[str, str]]:
    db = state / "outbox.sqlite3"
    if not db.exists():
        return []
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
        try:
            return conn.execute("SELECT event_id, state FROM outbox").fetchall()
        except sqlite3.OperationalError:  # schema not created yet
            return []


def _cases(url: str, reviewer: str) -> list[dict]:
    response = httpx.get(f"{url}/api/v1/cases", headers={"Authorization": f"Bearer {reviewer}"}, timeout=10)
    response.raise_for_status()
    return response.json()["items"]


def test_case_filed_once_with_its_evidence_across_a_kill_mid_delivery(
    tmp_path: Path, case_service: tuple[str, str, str]
) -> None:
    url, device_token, reviewer = case_service
    arriving = tmp_path / "arriving.mp4"
    write_clip(SCENES["parking"].frames(DEMO_IMAGES, 16.0), arriving)
    empty_scene = ArrivingCar("parking-street.jpg", car_box=(330, 298, 640, 637), empty_seconds=99, drive_seconds=1)
    empty = tmp_path / "empty.mp4"
    write_clip(empty_scene.frames(DEMO_IMAGES, 4.0), empty)
    state = tmp_path / "edge-state"
    env = {**os.environ, "STREETWATCH_DEVICE_TOKEN": device_token}
    upstream_port = int(url.rsplit(":", 1)[1])

    with FaultProxy(upstream_port) as proxy:
        proxy_url = proxy.url
        proxy.plan.extend(["swallow"] * 1000)  # every delivery attempt: filed by the service, answer lost
        # Phase 1: the car arrives and stays; the case reaches the service, the answer never comes back.
        with open(tmp_path / "edge-1.log", "wb") as sink:
            edge = subprocess.Popen(
                _cli("edge", "run", str(_edge_config(tmp_path, proxy_url, arriving, state))),
                env=env,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        try:
            wait_until(lambda: len(_cases(url, reviewer)) == 1, "the case to reach the case service", 90, poll_s=0.3)
            edge.send_signal(signal.SIGKILL)  # a power cut: no drain, no goodbye
            edge.wait(10)
        finally:
            if edge.poll() is None:
                edge.kill()
        rows = _outbox_rows(state)
        assert [r[1] for r in rows] == ["pending"], f"outbox after the kill: {rows}"
        event_id = rows[0][0]

        # Phase 2: restarted on a street with no new car; pending cases are resent with the same key.
        proxy.plan.clear()  # answers get through again
        posts_before = proxy.case_posts
        second = subprocess.run(
            _cli("edge", "run", str(_edge_config(tmp_path, proxy_url, empty, state))),
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert second.returncode == 0, second.stdout[-2000:] + second.stderr[-2000:]
        assert proxy.case_posts > posts_before, "the restarted box did not resend its pending case"
        assert _outbox_rows(state) == [(event_id, "sent")]

    cases = _cases(url, reviewer)
    assert len(cases) == 1, "one violation, one case, whatever the retries"
    case = cases[0]
    assert case["event_id"] == event_id
    assert case["violation_type"] == "illegal_parking" and case["camera_id"] == "cam-1"
    assert {d["class"] for d in case["detections"]} & {"car", "bus", "truck"}
    roles = {e["role"] for e in case["evidence"]}
    assert roles - {"plate"} == {"first_seen", "first_seen_clean", "confirmation", "confirmation_clean"}
    assert case["plate"]["status"] in ("read", "unread")  # a parking case always says
    # Privacy by default: every frame has its public copy, which anyone may fetch.
    for item in case["evidence"]:
        if item["role"] != "plate":
            assert item["public_url"], item["role"]
            assert httpx.get(f"{url}{item['public_url']}", timeout=10).status_code == 200
    # Acknowledged, so the box no longer keeps the originals; its own record of what it hashed remains.
    assert not (state / "evidence" / event_id).exists()
    with sqlite3.connect(f"file:{state / 'outbox.sqlite3'}?mode=ro", uri=True, timeout=5) as conn:
        [(case_json,)] = conn.execute("SELECT case_json FROM outbox WHERE event_id = ?", (event_id,)).fetchall()
    box_files = {e["sha256"] for e in json.loads(case_json)["evidence"]}
    for item in case["evidence"]:
        body = httpx.get(f"{url}{item['url']}", headers={"Authorization": f"Bearer {reviewer}"}, timeout=10)
        assert body.status_code == 200 and body.headers["content-type"] == "image/jpeg"
        assert hashlib.sha256(body.content).hexdigest() == item["sha256"]
        assert item["sha256"] in box_files, "the service holds exactly the JPEGs the box hashed"
