"""Builders for edge tests: a minimal valid config, observations from scripted detections."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from streetwatch.edge.config import CameraConfig, EdgeConfig
from streetwatch.edge.events import Observation
from streetwatch.inference.detections import Detections
from streetwatch.models.taxonomy import CLASS_NAMES

# A Wednesday, 10:00 in Shanghai (02:00 UTC).
T0_WALL = datetime(2026, 6, 3, 2, 0, tzinfo=UTC)


def config_dict(tmp: Path | str = "/tmp/edge-test-state", **overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "device": {"id": "box-1", "token": "secret-token-1", "case_service_url": "http://127.0.0.1:9"},
        "model": {"path": "model.onnx"},
        "storage": {"root": str(tmp)},
        "cameras": [
            {
                "id": "cam-1",
                "source": "clip.mp4",
                "location": {"lat": 31.2, "lon": 121.5, "address": "1 Nanjing Rd", "grid_code": "310101-001"},
                "zones": [
                    {"id": "curb", "type": "no_parking", "polygon": [[0, 0], [1000, 0], [1000, 1000], [0, 1000]]},
                ],
            }
        ],
    }
    base.update(overrides)
    return base


def make_config(**overrides: object) -> EdgeConfig:
    return EdgeConfig.model_validate(config_dict(**overrides))


def zone_camera(zone_type: str, **zone: object) -> list[dict[str, object]]:
    cam = config_dict()["cameras"][0]  # type: ignore[index]
    cam = dict(cam)
    cam["zones"] = [{"id": "z", "type": zone_type, "polygon": [[0, 0], [1000, 0], [1000, 1000], [0, 1000]], **zone}]
    return [cam]


FRAME = np.zeros((8, 8, 3), dtype=np.uint8)


def dets(*items: tuple[str, list[float], float]) -> Detections:
    """(class name, [x1, y1, x2, y2], confidence) -> Detections with taxonomy class ids."""
    if not items:
        return Detections.empty()
    return Detections(
        xyxy=np.array([b for _, b, _ in items], dtype=np.float32),
        confidence=np.array([c for _, _, c in items], dtype=np.float32),
        class_id=np.array([CLASS_NAMES.index(n) for n, _, _ in items], dtype=np.int64),
    )


def obs(t: float, detections: Detections, wall0: datetime = T0_WALL, camera_id: str = "cam-1") -> Observation:
    return Observation(camera_id, t, wall0 + timedelta(seconds=t), FRAME, detections)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def street_frame(sample_images: list[Path], size: tuple[int, int] = (640, 360)) -> np.ndarray:
    import cv2

    image = cv2.imread(str(next(p for p in sample_images if p.name == "bus.jpg")))
    return cv2.resize(image, size)


def make_event(frame: np.ndarray, urgent: bool = False, camera_id: str = "cam-1"):  # -> ViolationEvent
    """A confirmed violation on a real frame: open burning when urgent, else illegal parking."""
    from streetwatch.edge.events import Moment, ViolationEvent
    from streetwatch.models.taxonomy import ViolationType

    d = dets(("car", [50, 60, 200, 180], 0.8))
    first = Moment(t=0.0, wall=T0_WALL, frame=frame, detections=d)
    confirmed = Moment(t=300.0, wall=T0_WALL + timedelta(seconds=300), frame=frame, detections=d)
    violation = ViolationType.OPEN_BURNING if urgent else ViolationType.ILLEGAL_PARKING
    return ViolationEvent(camera_id, "curb", violation, "05-05", urgent, first, confirmed)


def evidence_builder():  # -> EvidenceBuilder
    """The real evidence builder, as a box with the tiny model would make it."""
    from zoneinfo import ZoneInfo

    from streetwatch.contract import ModelRef
    from streetwatch.edge.evidence import EvidenceBuilder

    return EvidenceBuilder(
        device_id="box-1",
        model=ModelRef(name="tiny", version="1", sha256="0" * 64),
        names=CLASS_NAMES,
        tz=ZoneInfo("Asia/Shanghai"),
    )


@dataclass
class EvidenceModel:
    """What the evidence worker reads of a loaded model: its evidence builder."""

    evidence: object = field(default_factory=evidence_builder)


@dataclass
class FilingCamera:
    """What the evidence worker reads of a camera (the pipeline's CameraRuntime has these fields)."""

    config: CameraConfig
    clips: object | None = None  # a ClipRecorder
    model: EvidenceModel = field(default_factory=EvidenceModel)
    cases: int = 0


def filing_camera(camera_id: str = "cam-1", clips: object | None = None) -> FilingCamera:
    """A camera of `make_config` as the evidence worker sees it, with the real evidence builder."""
    return FilingCamera(make_config().cameras[0].model_copy(update={"id": camera_id}), clips)


def make_bundle(frame: np.ndarray, urgent: bool = False, camera_id: str = "cam-1"):  # -> CaseBundle
    """A real case: a violation event on a real frame, through the real evidence builder."""
    camera = make_config().cameras[0].model_copy(update={"id": camera_id})
    return evidence_builder().build(make_event(frame, urgent, camera_id), camera)
