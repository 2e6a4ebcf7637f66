"""Fixtures for training tests: a synthetic run, and a real detector with a labelled set it can be scored on.

A YOLOv8n trained for seconds on synthetic rectangles detects nothing, so metric tests (eval vs
ultralytics val, the INT8 gate) use the COCO teacher checkpoint exported at 320 px, scored on real
street images labelled from its own confident detections, jittered and thinned: its mAP is high but
not perfect, so a wrong match, letterbox or AP step shows as a difference.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from train_builders import synthetic_data

from streetwatch.training.config import TrainConfig

REPO_ROOT = Path(__file__).resolve().parents[2]
TEACHER_PT = REPO_ROOT / "models" / "releases" / "coco-teacher" / "yolov8n-coco.pt"


@pytest.fixture(scope="session")
def synthetic_yaml(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthetic_data(tmp_path_factory.mktemp("synthetic"))


@pytest.fixture(scope="session")
def synthetic_run(synthetic_yaml: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A real `run_training` run: 1 epoch at 64 px from the YOLOv8n YAML; returns (run folder, its log)."""
    pytest.importorskip("ultralytics")
    from streetwatch.training.train import run_training

    project = tmp_path_factory.mktemp("runs")
    config = TrainConfig(
        data=synthetic_yaml, base="yolov8n.yaml", epochs=1, imgsz=64, batch=4, workers=0, project=project, name="syn"
    )
    log = io.StringIO()
    run = run_training(config, out=log)
    return run, log.getvalue()


@pytest.fixture(scope="session")
def teacher_pt() -> Path:
    if not TEACHER_PT.is_file():
        pytest.skip(f"COCO teacher checkpoint not built yet ({TEACHER_PT.relative_to(REPO_ROOT)})")
    return TEACHER_PT


@pytest.fixture(scope="session")
def teacher_onnx(teacher_pt: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from streetwatch.training.ultralytics_env import yolo

    staged = tmp_path_factory.mktemp("teacher") / "teacher.pt"
    shutil.copyfile(teacher_pt, staged)
    return Path(yolo(staged).export(format="onnx", imgsz=320, simplify=True, batch=1))


@pytest.fixture(scope="session")
def scored_set(
    teacher_onnx: Path, shared_data: Path, sample_images: list[Path], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """Real images labelled from the teacher's detections (conf > 0.3), jittered, 20 % dropped; a data.yaml."""
    from streetwatch.inference.detector import Detector

    rng = np.random.default_rng(0)
    root = tmp_path_factory.mktemp("scored")
    (root / "images" / "test").mkdir(parents=True)
    (root / "labels" / "test").mkdir(parents=True)
    sources = list(sample_images) + sorted((shared_data / "garbage-cn" / "images").glob("*.jpg"))[:18]
    detector = Detector(teacher_onnx, conf=0.3)
    for i, source in enumerate(sources):
        frame = cv2.imread(str(source))
        h, w = frame.shape[:2]
        det = detector.detect(frame)
        lines = []
        for box, cls in zip(det.xyxy, det.class_id, strict=True):
            if rng.random() < 0.2:
                continue
            bw, bh = box[2] - box[0], box[3] - box[1]
            x1, y1, x2, y2 = box + rng.normal(0, 0.06, 4) * np.array([bw, bh, bw, bh])
            x1, x2 = np.clip([x1, x2], 0, w)
            y1, y2 = np.clip([y1, y2], 0, h)
            if x2 - x1 > 2 and y2 - y1 > 2:
                lines.append(
                    f"{cls} {(x1 + x2) / 2 / w:.6f} {(y1 + y2) / 2 / h:.6f} {(x2 - x1) / w:.6f} {(y2 - y1) / h:.6f}"
                )
        shutil.copyfile(source, root / "images" / "test" / f"{i:03d}.jpg")
        if lines:
            (root / "labels" / "test" / f"{i:03d}.txt").write_text("\n".join(lines) + "\n")
    names = "\n".join(f"  {k}: {v}" for k, v in enumerate(detector.names))
    data_yaml = root / "data.yaml"
    data_yaml.write_text(f"path: {root}\ntrain: images/test\nval: images/test\ntest: images/test\nnames:\n{names}\n")
    return data_yaml
