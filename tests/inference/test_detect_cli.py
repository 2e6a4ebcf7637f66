"""`streetwatch detect` on real images, a folder and a real video file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from streetwatch.cli import main


def _detect_and_save(source: Path, model: Path, json_out: Path, save: Path) -> list[str]:
    """`detect` at a threshold low enough for the tiny model to find something, writing JSON and drawings."""
    args = ["detect", str(source), "--model", str(model), "--conf", "0.001"]
    return [*args, "--json", str(json_out), "--save", str(save)]


def _write_video(path: Path, frames: list[np.ndarray], fps: float = 5.0) -> None:
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    assert writer.isOpened()
    for frame in frames:
        writer.write(frame)
    writer.release()


def test_detect_image_json_and_save(tiny_onnx: Path, sample_images: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    code = main(_detect_and_save(sample_images[0], tiny_onnx, out, tmp_path / "annotated"))
    assert code == 0
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == 1 and records[0]["source"] == str(sample_images[0])
    assert records[0]["detections"] and {"class", "confidence", "box"} <= set(records[0]["detections"][0])
    annotated = cv2.imread(str(tmp_path / "annotated" / sample_images[0].name))
    original = cv2.imread(str(sample_images[0]))
    assert annotated.shape == original.shape and not np.array_equal(annotated, original)


def test_detect_folder_skips_corrupt_images(tiny_onnx: Path, sample_images: list[Path], tmp_path: Path) -> None:
    folder = tmp_path / "imgs"
    folder.mkdir()
    for p in sample_images[:2]:
        (folder / p.name).write_bytes(p.read_bytes())
    (folder / "broken.jpg").write_bytes(sample_images[0].read_bytes()[:200])
    out = tmp_path / "out.jsonl"
    assert main(["detect", str(folder), "--model", str(tiny_onnx), "--json", str(out), "--no-progress"]) == 0
    assert len(out.read_text().splitlines()) == 2


def test_detect_video_writes_annotated_video(tiny_onnx: Path, sample_images: list[Path], tmp_path: Path) -> None:
    frame = cv2.resize(cv2.imread(str(sample_images[0])), (320, 240))
    video = tmp_path / "street.mp4"
    _write_video(video, [frame] * 6)
    out = tmp_path / "video.jsonl"
    code = main([*_detect_and_save(video, tiny_onnx, out, tmp_path / "annotated"), "--no-progress"])
    assert code == 0
    assert [json.loads(line)["frame"] for line in out.read_text().splitlines()] == list(range(6))
    capture = cv2.VideoCapture(str(tmp_path / "annotated" / "street.mp4"))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 6


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["detect", "missing.jpg", "--model", "{model}"], "input not found: missing.jpg"),
        (["detect", "{image}", "--model", "missing.onnx"], "model file not found: missing.onnx"),
        (["detect", "{notes}", "--model", "{model}"], "unsupported input"),
        (["detect", "{image}", "--model", "{model}", "--classes", "tree"], "unknown class 'tree'"),
    ],
)
def test_user_errors_are_one_line_without_traceback(
    argv: list[str], message: str, tiny_onnx: Path, sample_images: list[Path], tmp_path: Path
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not an image")
    args = [a.format(model=tiny_onnx, image=sample_images[0], notes=notes) for a in argv]
    result = subprocess.run([sys.executable, "-m", "streetwatch", *args], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
