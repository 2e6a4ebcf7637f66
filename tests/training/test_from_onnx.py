"""A trainable checkpoint rebuilt from a release ONNX file gives the ONNX file's outputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

from streetwatch.errors import ModelError
from streetwatch.training.from_onnx import checkpoint_from_onnx
from streetwatch.training.onnx_files import image_blob
from streetwatch.training.ultralytics_env import yolo


def test_rebuilt_checkpoint_matches_the_onnx(
    tiny_pt: Path, tiny_onnx: Path, sample_images: list[Path], tmp_path: Path
) -> None:
    result = checkpoint_from_onnx(tiny_onnx, tiny_pt, sample_images[:4], tmp_path / "rebuilt.pt")
    assert result.max_abs_diff < 1e-2 and result.imgsz == 128
    model = yolo(result.checkpoint).model.float().eval()
    assert [model.names[i] for i in range(3)] == ["car", "garbage", "fire"]
    session = ort.InferenceSession(str(tiny_onnx), providers=["CPUExecutionProvider"])
    blob = image_blob(sample_images[-1], (128, 128))  # not a calibration image
    want = session.run(None, {session.get_inputs()[0].name: blob})[0]
    with torch.no_grad():
        got = model(torch.from_numpy(blob))[0].numpy()
    # fp16 storage of the checkpoint (ultralytics saves half) bounds the agreement
    assert np.abs(got[:, 4:] - want[:, 4:]).max() < 0.02  # class scores
    assert np.abs(got[:, :4] - want[:, :4]).max() < 1.0  # box coordinates in pixels of a 128 px input
    # Train-mode BatchNorm on calibration-like images stays close: the statistics were measured.
    bn = next(m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d))
    assert float(bn.running_var.min()) > 0 and not torch.allclose(bn.running_mean, torch.zeros_like(bn.running_mean))


def test_refuses_a_model_of_another_architecture(tiny_onnx: Path, sample_images: list[Path], tmp_path: Path) -> None:
    teacher = Path(__file__).resolve().parents[2] / "models" / "releases" / "coco-teacher" / "yolov8n-coco.pt"
    with pytest.raises(ModelError, match="shape"):
        checkpoint_from_onnx(tiny_onnx, teacher, sample_images[:1], tmp_path / "x.pt")
