"""A release's per-class operating thresholds (ONNX metadata `class_thresholds`) apply by default."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import pytest

from streetwatch.cli import main
from streetwatch.errors import ModelError
from streetwatch.inference.detector import Detector
from streetwatch.training.onnx_files import set_metadata


def _with_thresholds(tiny_onnx: Path, folder: Path, thresholds: dict[str, float] | str) -> Path:
    target = folder / "thresholded.onnx"
    shutil.copyfile(tiny_onnx, target)
    raw = thresholds if isinstance(thresholds, str) else json.dumps(thresholds)
    set_metadata(target, {"class_thresholds": raw})
    return target


def _count(path: Path) -> int:
    return sum(len(json.loads(line)["detections"]) for line in path.read_text().splitlines())


def test_detect_uses_the_release_thresholds_without_a_flag(
    tiny_onnx: Path, sample_images: list[Path], tmp_path: Path
) -> None:
    # The tiny model's scores are low: at the default 0.25 it finds (almost) nothing; its
    # "release" says 0.001 for every class, so the same command without any flag finds more.
    thresholded = _with_thresholds(tiny_onnx, tmp_path, {"car": 0.001, "garbage": 0.001, "fire": 0.001})
    image = str(sample_images[0])
    plain, released, ignored = tmp_path / "plain.jsonl", tmp_path / "released.jsonl", tmp_path / "ignored.jsonl"
    assert main(["detect", image, "--model", str(tiny_onnx), "--json", str(plain), "--no-progress"]) == 0
    assert main(["detect", image, "--model", str(thresholded), "--json", str(released), "--no-progress"]) == 0
    flags = ["--no-release-thresholds", "--no-progress"]
    assert main(["detect", image, "--model", str(thresholded), "--json", str(ignored), *flags]) == 0
    assert _count(released) > _count(plain)
    assert _count(ignored) == _count(plain)


def test_detector_thresholds_order(tiny_onnx: Path, sample_images: list[Path], tmp_path: Path) -> None:
    frame = cv2.imread(str(sample_images[0]))
    thresholded = _with_thresholds(tiny_onnx, tmp_path, {"car": 0.001, "garbage": 0.999, "fire": 0.999})
    detector = Detector(thresholded)
    assert detector.info.thresholds == {"car": 0.001, "garbage": 0.999, "fire": 0.999}
    found = detector.detect(frame)
    reference = Detector(tiny_onnx, conf=0.001, classes=["car"]).detect(frame)
    assert len(found) == len(reference) > 0 and set(found.class_id.tolist()) == {0}
    # Configuration overrides the release per class; release_thresholds=False ignores it.
    assert len(Detector(thresholded, class_conf={"car": 0.999}).detect(frame)) == 0
    assert len(Detector(thresholded, release_thresholds=False, conf=0.999).detect(frame)) == 0


@pytest.mark.parametrize("raw", ["not json", '{"lorry": 0.5}', '{"car": 2}', "[0.5]"])
def test_bad_thresholds_metadata_is_refused(tiny_onnx: Path, tmp_path: Path, raw: str) -> None:
    with pytest.raises(ModelError, match="class_thresholds"):
        Detector(_with_thresholds(tiny_onnx, tmp_path, raw))
