"""Shared builders for tests: synthetic YOLO datasets and a tiny trained detector."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import cv2
import numpy as np

from streetwatch.inference.detections import Detections

TINY_NAMES = ("car", "garbage", "fire")
T = TypeVar("T")


def mock_detections(
    xyxy: list[list[float]], class_id: list[int] | None = None, confidence: list[float] | None = None
) -> Detections:
    n = len(xyxy)
    return Detections(
        xyxy=np.asarray(xyxy, dtype=np.float32).reshape(n, 4),
        confidence=np.asarray(confidence if confidence is not None else [0.9] * n, dtype=np.float32),
        class_id=np.asarray(class_id if class_id is not None else [0] * n, dtype=np.int64),
    )


def write_synthetic_yolo_dataset(root: Path, n_images: int = 8, size: int = 96, seed: int = 0) -> Path:
    """Images with solid rectangles (one colour per class) and matching YOLO labels; returns data.yaml."""
    rng = np.random.default_rng(seed)
    colors = [(40, 40, 220), (40, 200, 40), (0, 140, 255)]
    for split in ("train", "val"):
        (root / "images" / split).mkdir(parents=True, exist_ok=True)
        (root / "labels" / split).mkdir(parents=True, exist_ok=True)
        for i in range(n_images):
            image = np.full((size, size, 3), 128, np.uint8)
            image += rng.integers(0, 20, image.shape, dtype=np.uint8)
            lines = []
            for _ in range(rng.integers(1, 3)):
                cls = int(rng.integers(0, len(TINY_NAMES)))
                w, h = rng.integers(size // 5, size // 2, 2)
                x, y = rng.integers(0, size - w), rng.integers(0, size - h)
                cv2.rectangle(image, (int(x), int(y)), (int(x + w), int(y + h)), colors[cls], -1)
                lines.append(f"{cls} {(x + w / 2) / size:.6f} {(y + h / 2) / size:.6f} {w / size:.6f} {h / size:.6f}")
            cv2.imwrite(str(root / "images" / split / f"{i:03d}.jpg"), image)
            (root / "labels" / split / f"{i:03d}.txt").write_text("\n".join(lines) + "\n")
    data_yaml = root / "data.yaml"
    names = "\n".join(f"  {i}: {n}" for i, n in enumerate(TINY_NAMES))
    data_yaml.write_text(f"path: {root.resolve()}\ntrain: images/train\nval: images/val\nnames:\n{names}\n")
    return data_yaml


def train_tiny_model(workdir: Path, imgsz: int = 96, epochs: int = 1) -> Path:
    """A YOLOv8n from its YAML, trained a few steps on synthetic images; returns the .pt path."""
    from streetwatch.training.ultralytics_env import yolo

    data_yaml = write_synthetic_yolo_dataset(workdir / "synthetic")
    model = yolo("yolov8n.yaml")
    model.train(
        data=str(data_yaml),
        epochs=epochs,
        imgsz=imgsz,
        batch=4,
        workers=0,
        device="cpu",
        project=str(workdir / "runs"),
        name="tiny",
        exist_ok=True,
        plots=False,
        val=False,
        amp=False,
        seed=0,
        deterministic=True,
        verbose=False,
    )
    return workdir / "runs" / "tiny" / "weights" / "last.pt"


def export_onnx(pt_path: Path, imgsz: int, **kwargs: object) -> Path:
    from streetwatch.training.ultralytics_env import yolo

    return Path(yolo(pt_path).export(format="onnx", imgsz=imgsz, simplify=False, **kwargs))


def wait_until(predicate: Callable[[], T], what: str, timeout: float = 20.0, poll_s: float = 0.05) -> T:
    """Poll `predicate` until it returns something truthy and return that value; fail naming `what`
    after `timeout` seconds. `poll_s`: the pause between polls (longer where each poll asks a live server)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(poll_s)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
