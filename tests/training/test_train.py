from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from streetwatch.errors import InputError
from streetwatch.training.config import TrainConfig
from streetwatch.training.train import RUN_RECORD, normalised_base, resume_training, run_training


def test_run_saves_weights_record_and_progress(synthetic_run: tuple[Path, str], synthetic_yaml: Path) -> None:
    run, log = synthetic_run
    assert (run / "weights" / "last.pt").is_file() and (run / "weights" / "best.pt").is_file()
    record = json.loads((run / RUN_RECORD).read_text())
    assert record["seed"] == 0
    assert record["config"]["epochs"] == 1 and record["config"]["imgsz"] == 64
    assert record["recipe"]["name"] == "street-camera-v1" and len(record["recipe"]["transforms"]) == 6
    assert len(record["data"]["sha256"]) == 64 and record["data"]["images"]["train"] == 8
    assert record["versions"]["ultralytics"]
    assert "epoch 1/1" in log and "mAP50" in log
    assert "epoch 2/1" not in log and "best.pt on val: mAP50" in log  # the final validation, told apart


def test_resume_continues_an_interrupted_run(synthetic_yaml: Path, tmp_path: Path) -> None:
    class Stop(Exception):
        pass

    def stop_after_first_epoch(trainer: Any) -> None:
        raise Stop

    config = TrainConfig(
        data=synthetic_yaml, base="yolov8n.yaml", epochs=2, imgsz=64, batch=4, workers=0, project=tmp_path, name="r"
    )
    with pytest.raises(Stop):
        run_training(config, out=io.StringIO(), callbacks={"on_fit_epoch_end": stop_after_first_epoch})
    run = tmp_path / "r"
    log = io.StringIO()
    assert resume_training(run, out=log) == run
    assert "epoch 2/2" in log.getvalue() and "epoch 1/2" not in log.getvalue()
    assert len(json.loads((run / RUN_RECORD).read_text())["resumed_at"]) == 1
    rows = (run / "results.csv").read_text().strip().splitlines()
    assert len(rows) == 3  # header + 2 epochs
    with pytest.raises(InputError, match="the run finished"):
        resume_training(run, out=io.StringIO())  # finished


def test_resume_needs_a_run(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"expected a run folder with weights/last\.pt"):
        resume_training(tmp_path)


def test_base_keeps_coco_knowledge_by_class_name(teacher_pt: Path, tmp_path: Path, synthetic_yaml: Path) -> None:
    """Fine-tuning from the COCO teacher: every layer transfers, class rows are remapped by name."""
    from streetwatch.training.ultralytics_env import yolo

    base = normalised_base(teacher_pt, tmp_path)
    names = yolo(base).model.names
    assert "dining_table" in names.values() and not [n for n in names.values() if " " in n]

    import torch
    from ultralytics.nn.tasks import DetectionModel

    source = yolo(base).model
    target = DetectionModel(source.yaml, nc=3, verbose=False)
    target.names = {0: "car", 1: "garbage", 2: "fire"}
    target.load(source, verbose=False)
    head, src_head = target.model[-1], source.model[-1]
    car = list(source.names.values()).index("car")
    # Backbone weights transferred, the car row of the class layer copied from COCO's car row.
    assert torch.equal(target.model[0].conv.weight, source.model[0].conv.weight)
    assert torch.equal(head.cv3[0][-1].weight[0], src_head.cv3[0][-1].weight[car])
