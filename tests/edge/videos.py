"""Real video files from real images, written with PyAV (H.264), for the source and agent tests."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

IMAGES = Path(__file__).resolve().parents[1] / "data" / "images"
STREET = IMAGES / "garbage-000001_jpg.rf.b9137d03763db7f755d4aaef403f6cfa.jpg"  # a real street scene
BUS_BOX = (29, 230, 800, 770)  # the bus in bus.jpg (x1, y1, x2, y2)
SIZE = (640, 360)
BUS_AT = (300, 140, 600, 350)  # where the bus parks in the street scene (x1, y1, x2, y2)


def street_scene(size: tuple[int, int] = SIZE) -> np.ndarray:
    return cv2.resize(cv2.imread(str(STREET)), size)


def scaled(xy: tuple[int, ...], size: tuple[int, int]) -> tuple[int, ...]:
    """Pixel coordinates given for SIZE (x, y, x, y, ...), in a picture of `size`."""
    return tuple(round(v * size[i % 2] / SIZE[i % 2]) for i, v in enumerate(xy))


def with_bus(scene: np.ndarray) -> np.ndarray:
    """The bus parked at BUS_AT (scaled to the scene's size)."""
    x1, y1, x2, y2 = BUS_BOX
    bus = cv2.imread(str(IMAGES / "bus.jpg"))[y1:y2, x1:x2]
    out = scene.copy()
    bx1, by1, bx2, by2 = scaled(BUS_AT, (scene.shape[1], scene.shape[0]))
    out[by1:by2, bx1:bx2] = cv2.resize(bus, (bx2 - bx1, by2 - by1))
    return out


def write_video(
    path: Path,
    frame_at: Callable[[int], np.ndarray],
    n_frames: int,
    fps: int = 5,
    gop: int | None = None,
    bframes: int = 0,
) -> Path:
    """H.264 in the container the suffix names (.mp4, .ts); light sensor-like noise so frames differ.
    `bframes` > 0 stores frames out of presentation order, as most cameras and encoders do."""
    rng = np.random.default_rng(0)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps, 1))
        first = frame_at(0)
        stream.height, stream.width = first.shape[:2]
        stream.pix_fmt = "yuv420p"
        stream.codec_context.gop_size = gop or fps
        stream.options = {"preset": "veryfast" if bframes else "ultrafast", "bf": str(bframes), "sc_threshold": "0"}
        for i in range(n_frames):
            image = frame_at(i).astype(np.int16) + rng.integers(-3, 4, size=first.shape, dtype=np.int16)
            frame = av.VideoFrame.from_ndarray(np.clip(image, 0, 255).astype(np.uint8), format="bgr24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def bus_parks_video(
    path: Path, seconds: int = 14, appears_at: int = 3, fps: int = 5, size: tuple[int, int] = SIZE
) -> Path:
    """A static street; at `appears_at` seconds a bus pulls in and stays (never, if that is past `seconds`)."""
    scene = street_scene(size)
    parked = with_bus(scene)
    return write_video(path, lambda i: parked if i >= appears_at * fps else scene, seconds * fps, fps=fps)
