"""`eval` per source and the operating-point rule."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from streetwatch.training.evaluate import evaluate, operating_point, source_of


def test_operating_point_rule() -> None:
    # Scores 0.9..0.3; right, right, right, wrong, right, wrong, wrong; 5 true boxes.
    conf = np.asarray([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3], np.float32)
    tp = np.asarray([True, True, True, False, True, False, False])
    point = operating_point(tp, conf, n_true=5, name="fire")
    assert point is not None and point.rule == "highest F1"
    assert point.precision == 4 / 5 and point.recall == 4 / 5 and point.f1 == pytest.approx(0.8)
    assert 0.4 < point.conf < 0.5  # keeps the 0.5 detection, drops 0.4
    assert operating_point(tp[:0], conf[:0], 3, "x") is None


def test_eval_reports_each_source(tiny_onnx: Path, sample_images: list[Path], tmp_path: Path) -> None:
    # Images named as `data export` names them: <source>__<name>; one fire box on a "cams" image.
    val = tmp_path / "images" / "val"
    labels = tmp_path / "labels" / "val"
    val.mkdir(parents=True)
    labels.mkdir(parents=True)
    for k, image in enumerate(sample_images[:4]):
        name = f"{'cams' if k % 2 else 'photos'}__{k}"
        shutil.copyfile(image, val / f"{name}.jpg")
        (labels / f"{name}.txt").write_text("2 0.5 0.5 0.3 0.3\n" if k == 1 else "")
    (tmp_path / "data.yaml").write_text(
        f"path: {tmp_path}\nval: images/val\nnames:\n  0: car\n  1: garbage\n  2: fire\n"
    )
    report = evaluate(tiny_onnx, tmp_path / "data.yaml", split="val")
    sources = {s.source: s for s in report.by_source}
    assert set(sources) == {"cams", "photos"} and sources["cams"].images == sources["photos"].images == 2
    assert sources["cams"].instances.get("fire") == 1 and "fire" not in sources["photos"].instances
    assert report.fire_free is not None and report.fire_free.negative_images == 3
    assert source_of(Path("x/garbage-cn__000001.jpg")) == "garbage-cn" and source_of(Path("a.jpg")) == ""
    assert "mAP50 by source" in report.table()
