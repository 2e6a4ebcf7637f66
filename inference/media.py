"""Read images, folders of images and video files for `streetwatch detect`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from streetwatch.errors import InputError
from streetwatch.files import IMAGE_SUFFIXES

VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mkv", ".mov", ".m4v", ".webm", ".ts"})


@dataclass(frozen=True)
class MediaFrame:
    source: Path
    index: int  # frame number within a video, 0 for images
    image: npt.NDArray[np.uint8]  # (H, W, 3) BGR


def read_image(path: Path) -> npt.NDArray[np.uint8]:
    """Decode an image file; a clear error for an unreadable or corrupt one."""
    data = np.fromfile(str(path), dtype=np.uint8)  # fromfile + imdecode: works with non-ASCII paths
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise InputError(f"{path}: not a readable image (corrupt, truncated or unsupported format)")
    return image


def kind_of(path: Path) -> str:
    """'image', 'video' or 'dir'; an error for anything else."""
    if path.is_dir():
        return "dir"
    if not path.exists():
        raise InputError(f"input not found: {path}")
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return "image"
    if suffix in VIDEO_SUFFIXES:
        return "video"
    raise InputError(
        f"{path}: unsupported input; expected an image ({', '.join(sorted(IMAGE_SUFFIXES))}), "
        f"a video ({', '.join(sorted(VIDEO_SUFFIXES))}) or a directory"
    )


class VideoReader:
    """Frames of a video file with OpenCV; knows its frame count and rate for progress and writing."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.capture = cv2.VideoCapture(str(path))
        if not self.capture.isOpened():
            raise InputError(f"{path}: cannot open as a video (corrupt file or unsupported codec)")
        self.fps = float(self.capture.get(cv2.CAP_PROP_FPS)) or 25.0
        self.frame_count = int(self.capture.get(cv2.CAP_PROP_FRAME_COUNT)) or 0

    def __iter__(self) -> Iterator[MediaFrame]:
        index = 0
        try:
            while True:
                ok, frame = self.capture.read()
                if not ok:
                    break
                yield MediaFrame(self.path, index, frame)
                index += 1
        finally:
            self.capture.release()
