"""Helpers for the teacher tests (tests/training/conftest.py belongs to the training tests)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

TFLITE = Path("weights") / "yolov8n_coco_int8.tflite"
YOLOX = Path("weights") / "yolox_nano_coco.onnx"
CALIBRATION_IMAGES = 12  # fewer than the release's 32: enough for stable statistics, fast on 2 cores


@dataclass
class Recovered:
    model: Any
    report: Any
    meta: Any
    checkpoint: Path


def teacher_tflite(shared_data: Path) -> Path:
    path = shared_data / TFLITE
    if not path.is_file():
        pytest.skip(f"teacher TFLite file not found at {path}")
    return path


def yolox_onnx(shared_data: Path) -> Path:
    path = shared_data / YOLOX
    if not path.is_file():
        pytest.skip(f"YOLOX-Nano ONNX not found at {path}")
    return path


def recover_for_tests(tflite: Path, shared_data: Path, workdir: Path) -> Recovered:
    pytest.importorskip("ultralytics")
    pytest.importorskip("ai_edge_litert")
    from streetwatch.training.teacher.images import load_batch_nhwc
    from streetwatch.training.teacher.rebuild import recover, save_checkpoint
    from streetwatch.training.teacher.release import calibration_images

    calibration = load_batch_nhwc(calibration_images(shared_data, CALIBRATION_IMAGES), 640).transpose(0, 3, 1, 2)
    model, report, meta = recover(tflite, calibration)
    checkpoint = save_checkpoint(model, report, meta, workdir / "teacher.pt")
    return Recovered(model, report, meta, checkpoint)
