"""The OpenVINO runtime against onnxruntime on the same ONNX files and real images.

Parity: same boxes (within 1 px), scores (within 1e-3) and classes. Skips cleanly where the
`openvino` extra is not installed; the registry tests run everywhere.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from streetwatch.errors import InputError, ModelError
from streetwatch.inference import Detector
from streetwatch.inference.runtime_names import RUNTIME_CHOICES
from streetwatch.inference.runtimes import open_runtime, openvino_available
from streetwatch.models.registry import list_releases

needs_openvino = pytest.mark.skipif(not openvino_available(), reason="the openvino extra is not installed")


def _assert_same(reference: Detector, other: Detector, frames: list[np.ndarray]) -> int:
    compared = 0
    for i, frame in enumerate(frames):
        a, b = reference.detect(frame), other.detect(frame)
        assert len(a) == len(b), f"frame {i}: onnxruntime {len(a)} boxes, {other.runtime.name} {len(b)}"
        order_a = np.lexsort((a.xyxy[:, 0], a.class_id, -a.confidence))
        order_b = np.lexsort((b.xyxy[:, 0], b.class_id, -b.confidence))
        np.testing.assert_allclose(b.xyxy[order_b], a.xyxy[order_a], atol=1.0)
        np.testing.assert_allclose(b.confidence[order_b], a.confidence[order_a], atol=1e-3)
        assert b.class_id[order_b].tolist() == a.class_id[order_a].tolist()
        compared += len(a)
    return compared


@needs_openvino
def test_openvino_matches_onnxruntime_on_shipped_releases(sample_images: list[Path]) -> None:
    releases = list_releases()
    if not releases:
        pytest.skip("no model release shipped yet")
    frames = [cv2.imread(str(p)) for p in sample_images]
    frames.append(cv2.resize(frames[0], (1920, 1080)))  # a camera-sized frame as well
    for release in releases:
        ort_detector = Detector(release.onnx_path, conf=0.25, threads=2)
        ov_detector = Detector(release.onnx_path, conf=0.25, threads=2, runtime="openvino")
        assert ov_detector.runtime.name == "openvino"
        assert _assert_same(ort_detector, ov_detector, frames) > 0, release.name


@needs_openvino
def test_openvino_batches_match_single_frames(sample_images: list[Path]) -> None:
    """Each batch size compiles its own static shape; results must not depend on the batch."""
    releases = list_releases()
    if not releases:
        pytest.skip("no model release shipped yet")
    frames = [cv2.imread(str(p)) for p in sample_images[:3]]
    detector = Detector(releases[0].onnx_path, conf=0.25, threads=2, runtime="openvino")
    singles = [detector.detect(f) for f in frames]
    batched = detector.detect_batch(frames)
    for one, many in zip(singles, batched, strict=True):
        np.testing.assert_allclose(many.xyxy, one.xyxy, atol=1.0)
        np.testing.assert_allclose(many.confidence, one.confidence, atol=1e-3)


@pytest.mark.parametrize(
    ("name", "hint"),
    [("openvion", "did you mean 'openvino'?"), ("onnx-runtime", "did you mean 'onnxruntime'?"), ("tensorrt", "")],
)
def test_unknown_runtime_is_refused_with_the_nearest_name(tiny_onnx: Path, name: str, hint: str) -> None:
    with pytest.raises(InputError) as info:
        Detector(tiny_onnx, runtime=name)
    message = str(info.value)
    assert f"unknown runtime {name!r}" in message and ", ".join(RUNTIME_CHOICES) in message
    assert hint in message


def test_openvino_missing_extra_says_how_to_install(tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where the extra is absent, `import openvino` fails: a None entry in sys.modules makes it fail here too."""
    from streetwatch.inference.model_file import open_model

    monkeypatch.setitem(sys.modules, "openvino", None)
    assert not openvino_available()
    session, info = open_model(tiny_onnx)
    with pytest.raises(ModelError, match=r"streetwatch\[openvino\]"):
        open_runtime("openvino", info, None, session)


@needs_openvino
def test_edge_model_config_selects_the_runtime(monkeypatch: pytest.MonkeyPatch) -> None:
    from streetwatch.edge.config import ModelConfig
    from streetwatch.edge.detectors import open_detector
    from streetwatch.models.registry import default_model_path

    path = default_model_path()
    detector = open_detector(ModelConfig(path=path, runtime="openvino", class_conf={"car": 0.4}))
    assert detector.runtime.name == "openvino"
    assert open_detector(ModelConfig(path=path, runtime="onnxruntime")).runtime.name == "onnxruntime"
    assert ModelConfig(path=path).runtime == "auto"
    assert open_detector(ModelConfig(path=path)).runtime.name == "openvino"  # auto, the extra installed
    monkeypatch.setitem(sys.modules, "openvino", None)  # auto without the extra: onnxruntime
    assert open_detector(ModelConfig(path=path)).runtime.name == "onnxruntime"


@needs_openvino
def test_the_shipped_int8_ir_runs_on_openvino_and_finds_what_fp32_finds(sample_images: list[Path]) -> None:
    """street-v1.1's INT8 file (an OpenVINO IR, passed the gate) loads pinned by its manifest sha256,
    carries the release's classes, and on real images finds the boxes fp32 finds (IoU >= 0.5, same class)."""
    from streetwatch.inference.boxes import iou_matrix
    from streetwatch.models.registry import find_release

    release = find_release("street-v1.1")
    [int8] = [f for f in release.manifest.files if f.precision == "int8"]
    path = release.folder / int8.file
    detector = Detector(path, conf=0.4, sha256=int8.sha256, runtime="auto")
    assert detector.runtime.name == "openvino" and detector.names == release.classes
    fp32 = Detector(release.onnx_path, conf=0.4)
    matched = total = 0
    for image in sample_images:
        frame = cv2.imread(str(image))
        a, b = fp32.detect(frame), detector.detect(frame)
        total += len(a)
        if len(a) and len(b):
            iou = iou_matrix(a.xyxy.astype(np.float64), b.xyxy.astype(np.float64))
            same = a.class_id[:, None] == b.class_id[None, :]
            matched += int(((iou >= 0.5) & same).any(axis=1).sum())
    assert total >= 5 and matched >= 0.8 * total, f"{matched} of {total} fp32 boxes found by INT8"
    with pytest.raises(InputError, match="runs on runtime 'openvino'"):
        Detector(path, runtime="onnxruntime")
