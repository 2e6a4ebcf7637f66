"""The whole agent with clips on: a bus parks in a real H.264 video, the case reaches the real case
service with an MP4 cut from the file's own packets, from before first seen to after the confirmation."""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path

import av
import pytest
from builders import wait_until
from live_cases import CaseService
from prometheus_client import CollectorRegistry, generate_latest
from test_agent import agent_config, bus_video, coco_model

from streetwatch.edge.agent import EdgeAgent
from streetwatch.edge.api import CameraPublic
from streetwatch.edge.metrics import StatusCollector
from streetwatch.edge.status import AgentStatus

pytestmark = pytest.mark.slow
__all__ = ["bus_video", "coco_model"]  # fixtures


def test_a_parking_case_carries_its_clip(
    tmp_path: Path, case_service: CaseService, coco_model: Path, bus_video: Path, new_camera
) -> None:
    camera_id = new_camera()
    config = agent_config(
        tmp_path, coco_model, bus_video, case_service.url, case_service.device, realtime=False,
        clip={"enabled": True, "before_s": 2.0, "after_s": 2.0},
    )  # fmt: skip
    config = config.model_copy(
        update={
            "cameras": [config.cameras[0].model_copy(update={"id": camera_id})],
            "stop_when_sources_end": True,
        }
    )
    agent = EdgeAgent(config)
    snapshots: list[AgentStatus] = []
    agent.pipeline.on_judged = lambda judged: snapshots.append(agent.status())
    assert agent.run() == 0
    [case] = case_service.cases(camera_id)
    [clip] = [e for e in case["evidence"] if e["role"] == "clip"]
    assert clip["content_type"] == "video/mp4" and (clip["width"], clip["height"]) == (640, 360)
    data = case_service.evidence_bytes(clip["url"])
    assert hashlib.sha256(data).hexdigest() == clip["sha256"]  # the clip the box described in the case
    assert not (tmp_path / "state" / "evidence" / case["event_id"]).exists()  # acknowledged: gone from the box
    path = tmp_path / "served.mp4"
    path.write_bytes(data)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = list(container.decode(stream))  # every frame decodes
    assert stream.codec_context.name == "h264" and frames[0].key_frame
    first_seen = datetime.fromisoformat(case["first_seen"])
    confirmed = datetime.fromisoformat(case["confirmed_at"])
    starts = datetime.fromisoformat(clip["captured_at"])
    # From the keyframe at or before first seen - 2 s (GOP 1 s) ...
    assert 2.0 <= (first_seen - starts).total_seconds() <= 2.0 + 1.0 + 0.05
    # ... to confirmation + 2 s: the span asked, plus at most one GOP at the start.
    asked = (confirmed - first_seen).total_seconds() + 4.0
    assert asked - 0.25 <= len(frames) / 5 <= asked + 1.0 + 0.25  # 5 fps; sampling at 0.2 s
    # /cameras and /metrics say what the ring holds and how many clips were cut (the last snapshot
    # taken while the agent ran).
    [status] = snapshots[-1].cameras
    shown = CameraPublic.of(status).clip
    assert shown is not None and (shown.cut, shown.missed) == (1, 0)
    assert 0 < shown.buffer_bytes <= config.cameras[0].clip.buffer_bytes and shown.buffer_s > 0
    registry = CollectorRegistry()
    registry.register(StatusCollector(lambda: snapshots[-1]))
    metrics = generate_latest(registry).decode()
    assert f'streetwatch_edge_clips_total{{camera="{camera_id}",outcome="cut"}} 1.0' in metrics


def test_a_parking_case_from_a_real_rtsp_camera_carries_its_clip(
    tmp_path: Path, case_service: CaseService, coco_model: Path, new_camera
) -> None:
    """The same bus, live from a real RTSP server at its real rate (rule time is arrival time)."""
    import threading

    from edge_builders import free_port
    from rtsp_server import RtspServer, annexb_units
    from videos import bus_parks_video

    # The bus comes at 8 s: FFmpeg hands over the first second or two of a session in one burst
    # (what it read to probe the stream), and in that burst arrival time is not picture time.
    video = bus_parks_video(tmp_path / "bus.mp4", seconds=30, appears_at=8)
    server = RtspServer(annexb_units(video), 5, free_port())
    server.start()
    camera_id = new_camera()
    config = agent_config(
        tmp_path, coco_model, video, case_service.url, case_service.device,
        clip={"enabled": True, "before_s": 2.0, "after_s": 2.0},
    )  # fmt: skip
    camera = config.cameras[0].model_copy(update={"id": camera_id, "source": server.url})
    config = config.model_copy(update={"cameras": [camera]})
    agent = EdgeAgent(config)
    runner = threading.Thread(target=agent.run, daemon=True)
    runner.start()
    try:
        cases = wait_until(lambda: case_service.cases(camera_id), "a case from the camera", 60, poll_s=0.3)
    finally:
        agent.stop()
        runner.join(30)
        server.stop()
    [case] = cases
    [clip] = [e for e in case["evidence"] if e["role"] == "clip"]
    path = tmp_path / "served.mp4"
    path.write_bytes(case_service.evidence_bytes(clip["url"]))
    with av.open(str(path)) as container:
        frames = list(container.decode(container.streams.video[0]))
    assert frames[0].key_frame
    first_seen = datetime.fromisoformat(case["first_seen"])
    confirmed = datetime.fromisoformat(case["confirmed_at"])
    starts = datetime.fromisoformat(clip["captured_at"])
    # Wall times of a live stream are arrival times: allow one GOP and some delivery jitter.
    assert 2.0 - 0.5 <= (first_seen - starts).total_seconds() <= 2.0 + 1.0 + 0.5
    asked = (confirmed - first_seen).total_seconds() + 4.0
    assert asked - 0.75 <= len(frames) / 5 <= asked + 1.0 + 0.75
