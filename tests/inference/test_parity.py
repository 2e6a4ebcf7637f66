"""Our engine against ultralytics' own predict on the same ONNX file and real images."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from streetwatch.inference import Detector
from streetwatch.models.registry import list_releases


def _assert_parity(model: Path, images: list[Path], conf: float) -> int:
    from streetwatch.training.ultralytics_env import yolo

    # One threshold for both engines: ultralytics knows nothing of a release's per-class thresholds.
    ours = Detector(model, conf=conf, iou=0.7, release_thresholds=False)
    theirs = yolo(model, task="detect")
    compared = 0
    for path in images:
        frame = cv2.imread(str(path))
        mine = ours.detect(frame)
        result = theirs.predict(frame, conf=conf, iou=0.7, imgsz=list(ours.imgsz), verbose=False, device="cpu")[0]
        ref_xyxy = result.boxes.xyxy.numpy()
        ref_conf = result.boxes.conf.numpy()
        ref_cls = result.boxes.cls.numpy().astype(int)
        assert len(mine) == len(ref_xyxy), f"{path.name}: {len(mine)} boxes vs ultralytics {len(ref_xyxy)}"
        order_mine = np.lexsort((mine.xyxy[:, 0], -mine.confidence))
        order_ref = np.lexsort((ref_xyxy[:, 0], -ref_conf))
        np.testing.assert_allclose(mine.xyxy[order_mine], ref_xyxy[order_ref], atol=1.0)
        np.testing.assert_allclose(mine.confidence[order_mine], ref_conf[order_ref], atol=1e-3)
        assert mine.class_id[order_mine].tolist() == ref_cls[order_ref].tolist()
        compared += len(mine)
    return compared


def test_parity_with_ultralytics_predict_tiny_model(tiny_onnx: Path, sample_images: list[Path]) -> None:
    assert _assert_parity(tiny_onnx, sample_images, conf=0.001) > 0


def test_parity_with_ultralytics_predict_shipped_release(sample_images: list[Path]) -> None:
    releases = list_releases()
    if not releases:
        pytest.skip("no model release shipped yet")
    for release in releases:
        assert _assert_parity(release.onnx_path, sample_images, conf=0.25) > 0, release.name
