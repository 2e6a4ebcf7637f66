from __future__ import annotations

from pathlib import Path

import pytest

from streetwatch.errors import InputError
from streetwatch.training.evaluate import evaluate


def test_eval_agrees_with_ultralytics_val(teacher_onnx: Path, scored_set: Path, tmp_path: Path) -> None:
    from streetwatch.training.ultralytics_env import yolo

    ours = evaluate(teacher_onnx, scored_set, split="test", save_dir=tmp_path / "ours")
    theirs = yolo(teacher_onnx, task="detect").val(
        data=str(scored_set),
        split="test",
        imgsz=320,
        batch=1,
        conf=0.001,
        iou=0.7,
        workers=0,
        plots=False,
        verbose=False,
        project=str(tmp_path),
        name="val",
    )
    assert 0.3 < ours.map50 < 0.99  # a real, imperfect score: agreement below means something
    assert abs(ours.map50 - theirs.box.map50) <= 0.01
    assert abs(ours.map50_95 - theirs.box.map) <= 0.01
    per_class = ours.by_name()
    for index, ap50 in zip(theirs.box.ap_class_index, theirs.box.ap50, strict=True):
        assert abs(per_class[theirs.names[int(index)]].map50 - ap50) <= 0.01
    # Plots and the report land in save_dir.
    for name in ("PR_curve.png", "confusion_matrix.png", "confusion_matrix_normalized.png", "report.json"):
        assert (tmp_path / "ours" / name).is_file()
    assert ours.false_alarms.negative_images > 0  # some real images have no teacher detections
    assert "false alarms at conf>0.25" in ours.table()


def test_false_alarm_rate_counts_negative_images(teacher_onnx: Path, scored_set: Path) -> None:
    strict = evaluate(teacher_onnx, scored_set, split="test", operating_conf=0.99)
    loose = evaluate(teacher_onnx, scored_set, split="test", operating_conf=0.01)
    assert strict.false_alarms.images_with_detection == 0 and strict.false_alarms.rate == 0.0
    assert loose.false_alarms.images_with_detection > 0
    assert loose.false_alarms.rate == loose.false_alarms.images_with_detection / loose.false_alarms.negative_images
    assert sum(loose.false_alarms.by_class.values()) >= loose.false_alarms.images_with_detection


def test_eval_refuses_classes_the_model_lacks(tiny_onnx: Path, scored_set: Path) -> None:
    with pytest.raises(InputError, match="classes the model does not know: person"):
        evaluate(tiny_onnx, scored_set, split="test")


def test_eval_refuses_missing_split(tiny_onnx: Path, synthetic_yaml: Path) -> None:
    with pytest.raises(InputError, match="no 'holdout' split; it has train, val, test"):
        evaluate(tiny_onnx, synthetic_yaml, split="holdout")


def test_agreement_with_itself_is_total_and_names_must_overlap(teacher_onnx: Path, scored_set: Path) -> None:
    from streetwatch.training.agreement import agreement, agreement_table
    from streetwatch.training.data_files import load_data_spec

    images = load_data_spec(scored_set).images("test")
    rows = agreement(teacher_onnx, teacher_onnx, images, ["person", "car", "garbage"])
    assert [r.name for r in rows] == ["person", "car"]  # garbage: the teacher has no such class
    assert all(r.recall == 1.0 and r.precision == 1.0 and r.reference_boxes > 0 for r in rows)
    stricter = agreement(teacher_onnx, teacher_onnx, images[:1], ["car"], conf=0.25)
    assert stricter[0].matched == stricter[0].reference_boxes
    assert "recall" in agreement_table(rows)
    with pytest.raises(InputError, match="no class among garbage is known to both models"):
        agreement(teacher_onnx, teacher_onnx, images, ["garbage"])
