"""The agent's parts on their own: the model opened once, metrics collected from status snapshots at
scrape time, and the import directions (the API never imports the agent, the outbox only the contract)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import pytest
from prometheus_client import generate_latest

from streetwatch.edge.config import ModelConfig
from streetwatch.edge.detectors import open_detector
from streetwatch.edge.metrics import EdgeMetrics
from streetwatch.edge.status import AgentStatus, CameraStatus

REPO = Path(__file__).resolve().parents[2]
COCO = REPO / "models" / "releases" / "coco-teacher" / "yolov8n-coco.onnx"
BUS = REPO / "tests" / "data" / "images" / "bus.jpg"


def test_a_model_with_thresholds_for_classes_it_lacks_is_opened_once(monkeypatch: pytest.MonkeyPatch) -> None:
    if not COCO.is_file():
        pytest.skip("the COCO teacher release is not in models/releases/coco-teacher")
    import streetwatch.inference.detector as detector_module

    real_open = detector_module.open_model
    opened: list[Path] = []

    def counting_open(path, **kw):  # the real loader, counted
        opened.append(Path(path))
        return real_open(path, **kw)

    monkeypatch.setattr(detector_module, "open_model", counting_open)
    frame = cv2.imread(str(BUS))
    plain = open_detector(ModelConfig(path=COCO, conf=0.3, threads=1))
    # `garbage` is a taxonomy class the COCO model does not have: ignored, not an error, no reopen.
    strict = open_detector(ModelConfig(path=COCO, conf=0.3, threads=1, class_conf={"person": 0.99, "garbage": 0.1}))
    assert opened == [COCO, COCO]  # one session per detector
    person = plain.names.index("person")
    assert (plain.detect(frame).class_id == person).sum() >= 2
    assert (strict.detect(frame).class_id == person).sum() == 0


def camera(camera_id: str, **kw: object) -> CameraStatus:
    values: dict[str, object] = dict(
        id=camera_id,
        source_kind="rtsp",
        connected=True,
        ended=False,
        healthy=True,
        problems={},
        fps=1.0,
        frames=10,
        frames_judged=9,
        frames_skipped=2,
        frames_dropped=1,
        frames_decoded=10,
        decode="gop 1.00 s",
        reconnects=0,
        last_error=None,
        seconds_since_frame=0.5,
        cases=0,
        zones=("curb",),
        model="m.onnx",
        rules_that_cannot_fire=(),
        health_events={},
    )
    values.update(kw)
    return CameraStatus(**values)  # type: ignore[arg-type]


def test_metrics_are_read_from_the_status_at_each_scrape() -> None:
    current = [AgentStatus((camera("cam-1"),), outbox_depth=0, uptime_s=1.0, case_outcomes={})]
    metrics = EdgeMetrics(lambda: current[0])
    first = generate_latest(metrics.registry).decode()
    assert 'streetwatch_edge_frames_total{camera="cam-1"} 9.0' in first
    assert 'streetwatch_edge_frames_skipped_total{camera="cam-1"} 2.0' in first
    assert 'streetwatch_edge_camera_up{camera="cam-1"} 1.0' in first
    assert "streetwatch_edge_outbox_depth 0.0" in first
    current[0] = AgentStatus(
        (
            camera("cam-1", connected=False, fps=0.0, reconnects=3, frames_judged=12),
            camera("cam-2", healthy=False, problems={"frozen": "no change"}, health_events={"frozen": 2}),
        ),
        outbox_depth=4,
        uptime_s=2.0,
        case_outcomes={("illegal_parking", "filed"): 5, ("illegal_parking", "sent"): 1},
    )
    metrics.latency.observe(0.3)
    second = generate_latest(metrics.registry).decode()
    for line in (
        'streetwatch_edge_frames_total{camera="cam-1"} 12.0',
        'streetwatch_edge_camera_up{camera="cam-1"} 0.0',
        'streetwatch_edge_reconnects_total{camera="cam-1"} 3.0',
        'streetwatch_edge_camera_healthy{camera="cam-2"} 0.0',
        'streetwatch_edge_health_events_total{camera="cam-2",problem="frozen"} 2.0',
        'streetwatch_edge_cases_total{outcome="filed",violation="illegal_parking"} 5.0',
        'streetwatch_edge_cases_total{outcome="sent",violation="illegal_parking"} 1.0',
        "streetwatch_edge_outbox_depth 4.0",
        "streetwatch_edge_frame_to_decision_seconds_count 1.0",
    ):
        assert line in second


def imported_by(module: str) -> set[str]:
    code = f"import sys, {module}; print(' '.join(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(result.stdout.split())


def test_the_api_reads_a_view_and_never_imports_the_agent() -> None:
    assert "streetwatch.edge.agent" not in imported_by("streetwatch.edge.api")


def test_the_outbox_and_sender_depend_on_the_filing_contract_not_on_evidence_drawing() -> None:
    loaded = imported_by("streetwatch.edge.sender")
    assert "streetwatch.edge.outbox" in loaded and "streetwatch.contract" in loaded
    assert not {"streetwatch.edge.evidence", "streetwatch.inference.draw", "cv2"} & loaded
