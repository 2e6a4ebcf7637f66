"""The engine on real ONNX sessions: a tiny model trained here, and the COCO release when shipped."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from streetwatch.errors import InputError, ModelError
from streetwatch.inference import Detector
from streetwatch.inference.letterbox import LetterboxGeometry


def test_letterbox_geometry_matches_ultralytics_rounding() -> None:
    g = LetterboxGeometry.compute((1080, 1920), (640, 640))
    assert g.resized_wh == (640, 360) and (g.top, g.left) == (140, 0)
    g = LetterboxGeometry.compute((481, 640), (640, 640))  # odd padding: 159 rows split 79 / 80
    assert g.resized_wh == (640, 481) and g.top == 79


def test_reads_names_imgsz_and_layout_from_metadata(tiny_onnx: Path) -> None:
    detector = Detector(tiny_onnx)
    assert detector.names == ("car", "garbage", "fire")
    assert detector.imgsz == (128, 128)
    assert detector.info.layout == "raw"
    assert detector.info.batch == 1


def test_boxes_are_in_source_pixels_and_clipped(tiny_onnx: Path, sample_images: list[Path]) -> None:
    detector = Detector(tiny_onnx, conf=0.001)
    image = cv2.imread(str(sample_images[0]))
    wide = cv2.resize(image, (1920, 1080))
    detections = detector.detect(wide)
    assert len(detections) > 0
    assert (detections.xyxy >= 0).all()
    assert (detections.xyxy[:, [0, 2]] <= 1920).all() and (detections.xyxy[:, [1, 3]] <= 1080).all()
    assert detections.xyxy[:, 2].max() > 128  # mapped back beyond the 128-px input


def test_batch_equals_single_for_fixed_and_dynamic_models(
    tiny_onnx: Path, tiny_onnx_dynamic: Path, sample_images: list[Path]
) -> None:
    frames = [cv2.imread(str(p)) for p in sample_images[:3]]
    for model in (tiny_onnx, tiny_onnx_dynamic):
        detector = Detector(model, conf=0.01)
        singles = [detector.detect(f) for f in frames]
        batch = detector.detect_batch(frames)
        assert detector.info.batch == (None if model == tiny_onnx_dynamic else 1)
        for a, b in zip(singles, batch, strict=True):
            np.testing.assert_allclose(a.xyxy, b.xyxy, atol=1e-3)
            assert a.class_id.tolist() == b.class_id.tolist()


def test_class_filter_and_per_class_threshold(tiny_onnx: Path, sample_images: list[Path]) -> None:
    frame = cv2.imread(str(sample_images[0]))
    everything = Detector(tiny_onnx, conf=0.001).detect(frame)
    only_fire = Detector(tiny_onnx, conf=0.001, classes=["fire"]).detect(frame)
    assert set(only_fire.class_id.tolist()) <= {2}
    assert len(only_fire) <= len(everything)
    strict_car = Detector(tiny_onnx, conf=0.001, class_conf={"car": 0.99}).detect(frame)
    assert not ((strict_car.class_id == 0) & (strict_car.confidence <= 0.99)).any()
    with pytest.raises(InputError, match="unknown class 'tree'"):
        Detector(tiny_onnx, classes=["tree"])


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (np.zeros((10, 10), np.uint8), r"expected shape \(H, W, 3\)"),
        (np.zeros((10, 10, 3), np.float32), "expected dtype uint8"),
        (np.zeros((0, 10, 3), np.uint8), "empty frame"),
        ("not an image", "expected a numpy array"),
    ],
)
def test_bad_frames_are_refused_clearly(tiny_onnx: Path, frame: object, message: str) -> None:
    with pytest.raises(InputError, match=message):
        Detector(tiny_onnx).detect(frame)  # type: ignore[arg-type]


def test_refuses_truncated_model_wrong_checksum_and_non_detectors(tiny_onnx: Path, tmp_path: Path) -> None:
    truncated = tmp_path / "truncated.onnx"
    truncated.write_bytes(tiny_onnx.read_bytes()[:5000])
    with pytest.raises(ModelError, match="not a loadable ONNX model"):
        Detector(truncated)
    with pytest.raises(ModelError, match="sha256 mismatch"):
        Detector(tiny_onnx, sha256="0" * 64)
    with pytest.raises(ModelError, match="model file not found"):
        Detector(tmp_path / "missing.onnx")
    not_detector = tmp_path / "identity.onnx"
    _write_identity_model(not_detector)
    with pytest.raises(ModelError, match=r"expected an image input of shape \[B, 3, H, W\]"):
        Detector(not_detector)


def _write_identity_model(path: Path) -> None:
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 10])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, str(path))


def test_fast_blob_path_equals_reference_letterbox(sample_images: list[Path]) -> None:
    from streetwatch.inference.detector import to_blob
    from streetwatch.inference.letterbox import letterbox_into, letterbox_to_blob

    blob = np.zeros((3, 640, 640), np.float32)
    for shape in [(1080, 1920), (481, 640), (640, 640), (300, 1000)]:
        frame = cv2.resize(cv2.imread(str(sample_images[0])), (shape[1], shape[0]))
        geometry = LetterboxGeometry.compute(shape, (640, 640))
        reference = np.empty((1, 640, 640, 3), np.uint8)
        letterbox_into(frame, reference[0], geometry)
        letterbox_to_blob(frame, blob, geometry, pad=True)
        np.testing.assert_allclose(blob, to_blob(reference)[0], atol=1e-6)
