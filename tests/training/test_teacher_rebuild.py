"""The rebuilt YOLOv8n: parity with the TFLite graph, BatchNorm that survives training, an ultralytics checkpoint."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from teacher_support import Recovered, recover_for_tests
from teacher_support import teacher_tflite as _teacher_tflite

BUS = Path(__file__).resolve().parents[1] / "data" / "images" / "bus.jpg"


@pytest.fixture(scope="module")
def teacher_tflite(shared_data: Path) -> Path:
    return _teacher_tflite(shared_data)


@pytest.fixture(scope="module")
def recovered(teacher_tflite: Path, shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Recovered:
    """One rebuild for the module (about 10 s of the module's time)."""
    return recover_for_tests(teacher_tflite, shared_data, tmp_path_factory.mktemp("teacher"))


def test_every_conv_paired_once_in_graph_order(recovered: Recovered) -> None:
    ops = [op for op, _ in recovered.report.pairs]
    modules = [name for _, name in recovered.report.pairs]
    assert len(ops) == len(set(ops)) == 64
    assert len(modules) == len(set(modules)) == 64
    pairs = dict((name, op) for op, name in recovered.report.pairs)
    # The head is emitted P5, P4, P3 in the file: the P3 box branch comes last among the box convs.
    assert pairs["model.22.cv2.2.0.conv"] < pairs["model.22.cv2.1.0.conv"] < pairs["model.22.cv2.0.0.conv"]
    dfl = recovered.model.model[-1].dfl.conv.weight.detach().numpy().ravel()
    np.testing.assert_array_equal(dfl, np.arange(16, dtype=np.float32))


@pytest.fixture(scope="module")
def parity_inputs(shared_data: Path) -> np.ndarray:
    from streetwatch.training.teacher.images import load_batch_nhwc, spread, street_images

    streets = spread(street_images(shared_data)[1::2], 2)  # not calibration images (those are the even ones)
    return load_batch_nhwc([BUS, *streets], 640)  # (3, 640, 640, 3)


def _outputs(model, inputs: np.ndarray, mode: str, teacher_tflite: Path) -> tuple[list, list]:
    from streetwatch.training.teacher.rebuild import raw_output
    from streetwatch.training.teacher.tflite_run import TfliteRunner

    runner = TfliteRunner(teacher_tflite, mode)  # type: ignore[arg-type]
    ours = [raw_output(model, x[None].transpose(0, 3, 1, 2))[0] for x in inputs]
    theirs = [runner.run(x[None])[0] for x in inputs]
    return ours, theirs


def test_raw_output_matches_the_float_rerun_of_the_tflite_graph(
    recovered, parity_inputs: np.ndarray, teacher_tflite: Path
) -> None:
    from streetwatch.training.teacher.parity import decode, detection_agreement, raw_diff

    ours, theirs = _outputs(recovered.model, parity_inputs, "float", teacher_tflite)
    diff = raw_diff(ours, theirs)
    assert diff.max_abs_box_px < 0.05, diff
    assert diff.max_abs_score < 1e-3, diff
    assert diff.min_cosine > 0.999999, diff
    agreement = detection_agreement([decode(r, 0.25) for r in ours], [decode(r, 0.25) for r in theirs], 0.9, 0.25)
    assert agreement.a_boxes > 5
    assert agreement.matched == agreement.a_boxes == agreement.b_boxes, agreement


def test_interpreter_quantises_activations_yet_detections_agree(
    recovered, parity_inputs: np.ndarray, teacher_tflite: Path
) -> None:
    from streetwatch.training.teacher.parity import decode, detection_agreement, raw_diff

    ours, theirs = _outputs(recovered.model, parity_inputs, "interpreter", teacher_tflite)
    diff = raw_diff(ours, theirs)
    assert diff.max_abs_score > 1e-3  # not the float function: why the float re-run is the reference
    assert diff.min_cosine > 0.999, diff
    agreement = detection_agreement([decode(r, 0.25) for r in ours], [decode(r, 0.25) for r in theirs], 0.9, 0.25)
    assert agreement.precision > 0.8 and agreement.recall > 0.8, agreement


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float((a * b).sum() / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_batchnorm_recalibration_keeps_eval_and_makes_training_mode_agree(
    recovered: Recovered, shared_data: Path
) -> None:
    from streetwatch.training.teacher.images import load_batch_nhwc, spread, street_images
    from streetwatch.training.teacher.rebuild import identity_batchnorm, raw_output, train_vs_eval_error

    assert recovered.report.eval_change_after_calibration < 0.02  # px on raw boxes, float rounding only
    batch = load_batch_nhwc(spread(street_images(shared_data)[1::2], 6), 640).transpose(0, 3, 1, 2)
    naive = identity_batchnorm(recovered.model)
    np.testing.assert_allclose(raw_output(naive, batch[:1]), raw_output(recovered.model, batch[:1]), atol=0.02)
    calibrated, identity = train_vs_eval_error(recovered.model, batch), train_vs_eval_error(naive, batch)
    assert calibrated < 0.15, calibrated  # measured about 0.09 (batch noise on the 20x20 level)
    assert identity > 2 * calibrated, (identity, calibrated)  # the trap the recalibration avoids
    # head_features works on a copy: the model's running statistics did not move.
    bn = recovered.model.model[0].bn
    assert float(bn.momentum) > 0 and not bn.training


def test_checkpoint_loads_and_predicts_with_ultralytics(recovered: Recovered) -> None:
    from streetwatch.training.ultralytics_env import yolo

    model = yolo(recovered.checkpoint)
    assert model.task == "detect"
    assert model.names[60] == "dining_table" and model.names[0] == "person" and len(model.names) == 80
    result = model.predict(str(BUS), conf=0.4, imgsz=640, device="cpu", verbose=False)[0]
    classes = result.boxes.cls.numpy().astype(int).tolist()
    assert classes.count(5) == 1, classes  # the bus
    assert classes.count(0) >= 3, classes  # the persons in front of it


def test_fine_tunes_with_another_class_count(recovered: Recovered, tmp_path: Path) -> None:
    import torch
    from builders import write_synthetic_yolo_dataset
    from ultralytics.nn.tasks import DetectionModel

    from streetwatch.training.ultralytics_env import yolo

    # What ultralytics' trainer does with `model=teacher.pt, data=<3 classes>`: rebuild from the yaml, load.
    fresh = DetectionModel(recovered.model.yaml, nc=3, verbose=False)
    fresh.load(torch.load(recovered.checkpoint, weights_only=False))
    ours = recovered.model.state_dict()
    skipped = {k for k, v in fresh.state_dict().items() if k not in ours or ours[k].shape != v.shape}
    assert skipped and all(k.startswith("model.22.cv3.") for k in skipped), sorted(skipped)
    assert not any(k.startswith("model.22.cv2.") for k in skipped)  # the box branch transfers
    transferred = [k for k in fresh.state_dict() if k not in skipped and "num_batches" not in k]
    for key in transferred:
        torch.testing.assert_close(fresh.state_dict()[key], ours[key], msg=key)

    data = write_synthetic_yolo_dataset(tmp_path / "data", n_images=4, size=64)
    model = yolo(recovered.checkpoint)
    model.train(
        data=str(data), epochs=1, imgsz=64, batch=4, workers=0, device="cpu", project=str(tmp_path / "runs"),
        name="ft", exist_ok=True, plots=False, val=False, amp=False, verbose=False,
    )  # fmt: skip
    trained = yolo(tmp_path / "runs" / "ft" / "weights" / "last.pt")
    assert len(trained.names) == 3
    backbone = trained.model.state_dict()["model.0.conv.weight"].float()
    # One epoch at a small learning rate moves the stem only a little: it started from the teacher.
    assert _cosine(backbone.numpy(), ours["model.0.conv.weight"].numpy()) > 0.99


def test_exports_to_onnx_with_release_metadata(recovered: Recovered, tmp_path: Path) -> None:
    import onnx
    import onnxruntime as ort

    from streetwatch.training.teacher.rebuild import raw_output
    from streetwatch.training.teacher.release import export_onnx

    out = export_onnx(recovered.checkpoint, tmp_path / "teacher.onnx", 160, dict(recovered.model.names))
    model = onnx.load(str(out))
    meta = {p.key: p.value for p in model.metadata_props}
    assert {"names", "imgsz", "stride", "task", "taxonomy_version", "model_name", "model_version"} <= set(meta)
    assert "'dining_table'" in meta["names"] and meta["taxonomy_version"] == "coco80"
    assert max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")) <= 19
    x = np.random.default_rng(0).random((1, 3, 160, 160), dtype=np.float32)
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    np.testing.assert_allclose(got, raw_output(recovered.model, x), atol=2e-3)
