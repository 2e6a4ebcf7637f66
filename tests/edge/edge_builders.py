"""Builders for edge tests: a minimal valid config, observations from scripted detections."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from streetwatch.edge.config import EdgeConfig
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
