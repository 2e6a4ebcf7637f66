"""Real images for BatchNorm calibration and parity, letterboxed exactly as the engine feeds its models."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from streetwatch.errors import InputError
from streetwatch.files import list_images
from streetwatch.inference.letterbox import LetterboxGeometry, letterbox_into


def shared_data_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """`--shared-data`, else $STREETWATCH_SHARED_DATA, else ../shared/data beside the checkout."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("STREETWATCH_SHARED_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2].parent / "shared" / "data"


def street_images(shared: Path, limit: int | None = None, *, stride: int = 1) -> list[Path]:
    """Street images of the shared data (garbage-cn: Chinese streets, alleys, estates), sorted, every `stride`-th."""
    folder = shared / "garbage-cn" / "images"
    if not folder.is_dir():
        raise InputError(f"street images not found: expected a folder {folder}")
    paths = list_images(folder)[::stride]
    return paths[:limit] if limit is not None else paths


def spread(paths: list[Path], count: int) -> list[Path]:
    """`count` paths spread evenly over a sorted list (not just the first few, which may be alike)."""
    if count >= len(paths):
        return list(paths)
    idx = np.linspace(0, len(paths) - 1, count).round().astype(int)
    return [paths[i] for i in idx]


def read_bgr(path: Path) -> npt.NDArray[np.uint8]:
    frame = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if frame is None:
        raise InputError(f"not a readable image: {path}")
    return frame


def letterbox_rgb01(frame_bgr: npt.NDArray[np.uint8], imgsz: int) -> npt.NDArray[np.float32]:
    """(H, W, 3) BGR uint8 -> (imgsz, imgsz, 3) RGB float32 in [0, 1], letterboxed as ultralytics does."""
    geometry = LetterboxGeometry.compute(frame_bgr.shape[:2], (imgsz, imgsz))
    canvas = np.empty((imgsz, imgsz, 3), dtype=np.uint8)
    letterbox_into(frame_bgr, canvas, geometry)
    return canvas[..., ::-1].astype(np.float32) / np.float32(255.0)


def load_batch_nhwc(paths: list[Path], imgsz: int) -> npt.NDArray[np.float32]:
    """(N, imgsz, imgsz, 3) RGB 0-1: the TFLite input layout. `.transpose(0, 3, 1, 2)` gives PyTorch's."""
    return np.stack([letterbox_rgb01(read_bgr(p), imgsz) for p in paths])
