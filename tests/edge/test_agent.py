"""The whole agent on real video files made from real images, with the COCO teacher model, filing
into the real case service on 127.0.0.1; plus the local API, a dead camera beside a live one, a corrupt model."""

from __future__ import annotations

import hashlib
import threading
import time
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from edge_builders import config_dict, free_port
from live_cases import CaseService
from videos import bus_parks_video

from streetwatch.edge.agent import EdgeAgent
from streetwatch.edge.config import EdgeConfig
from streetwatch.edge.pipeline import Judged
from streetwatch.errors import ModelError

REPO = Path(__file__).resolve().parents[2]
COCO = REPO / "models" / "releases" / "coco-teacher" / "yolov8n-coco.onnx"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def coco_model() -> Path:
    if not COCO.is_file():
        pytest.skip("the COCO teacher release is not in models/releases/coco-teacher")
    return COCO


@pytest.fixture(scope="module")
def bus_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return bus_parks_video(tmp_path_factory.mktemp("video") / "bus.mp4")


def agent_config(
    tmp_path: Path, model: Path, video: Path, server_url: str, token: str = "secret-token-1", **camera: object
) -> EdgeConfig:
    data = config_dict(tmp_path / "state")
    data["device"].update({"case_service_url": server_url, "token": token})  # type: ignore[union-attr]
    data["model"] = {"path": str(model), "conf": 0.3, "threads": 2}
    cam = data["cameras"][0]  # type: ignore[index]
    cam.update(
        {
            "source": str(video),
            "zones": [
                {"id": "curb", "type": "no_parking", "polygon": [[250, 250], [640, 250], [640, 360], [250, 360]]}
            ],
            "health": {"frozen_after_s": None, "moved_after_s": None},
            **camera,
        }
    )
    data["rules"] = {"time_scale": 0.02, "illegal_parking": {"max_gap_s": 300}}  # dwell 300 s -> 6 s
    data["sender"] = {"backoff_initial_s": 0.1, "backoff_max_s": 0.5}
    data["reconnect"] = {"initial_s": 0.2, "max_s": 1, "stall_timeout_s": 2}
    data["api"] = {"port": 0}
    return EdgeConfig.model_validate(data)


def test_a_bus_that_parks_is_filed_once_with_evidence(
    tmp_path: Path, case_service: CaseService, coco_model: Path, bus_video: Path
) -> None:
    config = agent_config(tmp_path, coco_model, bus_video, case_service.url, case_service.device, realtime=False)
    dead = config.cameras[0].model_copy(update={"id": "cam-dead", "source": "rtsp://127.0.0.1:9/none"})
    config = config.model_copy(update={"cameras": [config.cameras[0], dead], "stop_when_sources_end": True})
    agent = EdgeAgent(config)
    judged: list[Judged] = []
    agent.pipeline.on_judged = judged.append  # what the capacity benchmark counts
    remaining = agent.run()
    assert remaining == 0
    # One parked bus, one case, although it stayed on after the case.
    [case] = case_service.cases("cam-1")
    # Every judged frame was reported once, in capture order, with the one event that filed the case.
    mine = [j for j in judged if j.camera_id == "cam-1"]
    assert len(mine) == agent.cameras["cam-1"].judged
    assert all(j.decided >= j.captured for j in mine)
    assert [str(e.event_id) for j in mine for e in j.events] == [case["event_id"]]
    assert sum(not j.inferred for j in mine) == agent.cameras["cam-1"].skipper.skipped  # type: ignore[union-attr]
    assert agent.cameras["cam-1"].worker.source is not None and agent.cameras["cam-1"].worker.source.packets > 0
    assert case["violation_type"] == "illegal_parking" and case["source"] == "edge"
    assert case["zone_id"] == "curb" and case["camera_id"] == "cam-1" and case["device_id"] == "box-1"
    assert case["model"]["name"] == "coco-teacher"
    assert {d["class"] for d in case["detections"]} == {"bus"}
    elapsed = (
        datetime.fromisoformat(case["confirmed_at"]) - datetime.fromisoformat(case["first_seen"])
    ).total_seconds()
    assert 6.0 <= elapsed <= 9.0  # 300 s dwell x time_scale 0.02, on the file's own clock
    roles = [e["role"] for e in case["evidence"]]
    assert roles[:4] == ["first_seen", "first_seen_clean", "confirmation", "confirmation_clean"]
    # A parking case always says what became of the plate; this bus's is not legible: unread, no guess,
    # with the crop of the plate-like box that was found (if one was) for the reviewer.
    assert case["plate"]["status"] == "unread" and case["plate"]["text"] is None
    assert roles[4:] == (["plate"] if case["plate"]["box"] else [])
    # The service holds the evidence the box hashed; acknowledged, the box keeps no original.
    assert not (tmp_path / "state" / "evidence" / case["event_id"]).exists()
    for ref in case["evidence"]:
        assert hashlib.sha256(case_service.evidence_bytes(ref["url"])).hexdigest() == ref["sha256"]
    # The dead camera kept failing and reconnecting without holding up the live one.
    assert agent.cameras["cam-dead"].worker.state.reconnects >= 1
    assert agent.cameras["cam-1"].worker.state.frames >= 12
    # Sampled by need (parking every 10 s x 0.02 = 0.2 s) and, once the bus stands still, judged
    # with the previous detections: fewer inferences, the same single case.
    runtime = agent.cameras["cam-1"]
    assert runtime.config.sample_fps == pytest.approx(5.0)
    assert runtime.skipper is not None and 0 < runtime.skipper.skipped < runtime.judged


def test_a_camera_with_its_own_model_runs_and_files_with_it(
    tmp_path: Path, case_service: CaseService, coco_model: Path, tiny_onnx: Path, bus_video: Path
) -> None:
    """The box runs the tiny 3-class model; cam-3 names the COCO release as its own. Batches never mix
    models: cam-3's bus is seen (only COCO knows buses) and filed under the COCO model's name, and
    whatever cam-2 files names the tiny model."""
    config = agent_config(tmp_path, tiny_onnx, bus_video, case_service.url, case_service.device, realtime=False)
    box_camera = config.cameras[0].model_copy(update={"id": "cam-2"})
    own = config.model.model_copy(update={"path": coco_model})
    coco_camera = config.cameras[0].model_copy(update={"id": "cam-3", "model": own})
    config = config.model_copy(update={"cameras": [box_camera, coco_camera], "stop_when_sources_end": True})
    agent = EdgeAgent(config)
    assert len(agent.models) == 2
    assert "bus" in agent.names_for("cam-3") and "bus" not in agent.names_for("cam-2")
    assert agent.run() == 0
    [case] = case_service.cases("cam-3")
    assert case["model"]["name"] == "coco-teacher"
    assert case["model"]["sha256"] == hashlib.sha256(coco_model.read_bytes()).hexdigest()
    assert {d["class"] for d in case["detections"]} == {"bus"}
    for other in case_service.cases("cam-2"):
        assert other["model"]["sha256"] == hashlib.sha256(tiny_onnx.read_bytes()).hexdigest()
        assert "bus" not in {d["class"] for d in other["detections"]}
    assert agent.cameras["cam-2"].worker.state.frames >= 12 and agent.cameras["cam-3"].worker.state.frames >= 12


def test_local_api_and_clean_stop(tmp_path: Path, coco_model: Path, bus_video: Path) -> None:
    nobody = f"http://127.0.0.1:{free_port()}"  # no case service listens there: cases stay in the outbox
    zones = [
        {"id": "curb", "type": "no_parking", "polygon": [[250, 250], [640, 250], [640, 360], [250, 360]]},
        # Drawn for a 1080p picture; this camera sends 640x360: only the live frame can tell.
        {"id": "beyond", "type": "no_parking", "polygon": [[1300, 0], [1900, 0], [1900, 700]]},
    ]
    config = agent_config(tmp_path, coco_model, bus_video, nobody, realtime=True, loop=True, sample_fps=2, zones=zones)
    agent = EdgeAgent(config)
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(agent.run()))
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while (agent.api_port is None or agent.cameras["cam-1"].latest is None) and time.monotonic() < deadline:
            time.sleep(0.1)
        base = f"http://127.0.0.1:{agent.api_port}"
        health = httpx.get(f"{base}/healthz").json()
        assert health["cameras"] == 1
        cameras = httpx.get(f"{base}/cameras").json()
        assert cameras[0]["id"] == "cam-1" and cameras[0]["connected"] is True
        assert cameras[0]["source_kind"] == "file" and cameras[0]["model"] == coco_model.name
        assert cameras[0]["rules_that_cannot_fire"] == ["beyond"]  # known once a frame has been judged
        snap = httpx.get(f"{base}/cameras/cam-1/snapshot.jpg")
        assert snap.status_code == 200 and snap.content[:2] == b"\xff\xd8"  # the zone off the picture is no 500
        assert httpx.get(f"{base}/cameras/nope/snapshot.jpg").status_code == 404
        metrics = httpx.get(f"{base}/metrics").text
        for name in (
            'streetwatch_edge_fps{camera="cam-1"}',
            "streetwatch_edge_inference_seconds_count",
            "streetwatch_edge_outbox_depth",
            "streetwatch_edge_frames_total",
        ):
            assert name in metrics
    finally:
        agent.stop()
        thread.join(timeout=60)
    assert not thread.is_alive()
    assert len(result) == 1  # run() returned after draining


def test_corrupt_or_wrong_model_is_refused(tmp_path: Path, coco_model: Path, bus_video: Path) -> None:
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(coco_model.read_bytes()[:4096])
    config = agent_config(tmp_path, broken, bus_video, "http://127.0.0.1:9")
    with pytest.raises(ModelError, match="not a loadable ONNX model"):
        EdgeAgent(config)
    pinned = config.model.model_copy(update={"path": coco_model, "sha256": "0" * 64})
    with pytest.raises(ModelError, match="sha256 mismatch"):
        EdgeAgent(config.model_copy(update={"model": pinned}))
