"""Sample camera videos for the demo, built from real street images in `examples/demo/images/`.

Each scene is a short H.264 clip a camera "plays":
  parking  a real street; a car (cut from the same photo) drives in from the right and stays
  garbage  a roadside with exposed garbage that just lies there
  vending  bins with a street vendor's umbrella beside them
  fire     consecutive CCTV frames of a fire being set next to a parked car
The clips are deterministic (same images, same timeline) and rebuilt only when missing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from streetwatch.errors import InputError
from streetwatch.inference.media import read_image

Frame = npt.NDArray[np.uint8]
FPS = 5
SIZE = (640, 640)  # (w, h) of every clip: the sample photos are 640x640


@dataclass(frozen=True)
class ArrivingCar:
    """A parked car is cut out of the photo (its place inpainted) and drives back in from the right."""

    image: str
    car_box: tuple[int, int, int, int]  # x1, y1, x2, y2 of the car in the photo
    empty_seconds: float  # street without the car
    drive_seconds: float  # car sliding in from the right edge

    def frames(self, images_dir: Path, seconds: float) -> Iterator[Frame]:
        photo = cv2.resize(read_image(images_dir / self.image), SIZE)
        x1, y1, x2, y2 = self.car_box
        car = photo[y1:y2, x1:x2].copy()
        mask = np.zeros(photo.shape[:2], np.uint8)
        mask[y1:y2, x1:x2] = 255
        empty = cv2.inpaint(photo, mask, 7, cv2.INPAINT_TELEA)
        total = round(seconds * FPS)
        for i in range(total):
            t = i / FPS
            if t < self.empty_seconds:
                yield empty
                continue
            progress = min(1.0, (t - self.empty_seconds) / self.drive_seconds)
            x = round(SIZE[0] + (x1 - SIZE[0]) * progress)
            frame = empty.copy()
            visible = min(car.shape[1], SIZE[0] - x)
            if visible > 0:
                frame[y1:y2, x : x + visible] = car[:, :visible]
            yield frame


@dataclass(frozen=True)
class StillScene:
    """A static scene (garbage lying, a stall standing) with mild sensor noise so frames differ."""

    image: str

    def frames(self, images_dir: Path, seconds: float) -> Iterator[Frame]:
        photo = cv2.resize(read_image(images_dir / self.image), SIZE)
        rng = np.random.default_rng(0)
        for _ in range(round(seconds * FPS)):
            noise = rng.integers(-3, 4, photo.shape, dtype=np.int16)
            yield np.clip(photo.astype(np.int16) + noise, 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class FrameSequence:
    """Consecutive frames of a real CCTV clip, each held for `hold_seconds`, looped to length."""

    folder: str
    hold_seconds: float

    def frames(self, images_dir: Path, seconds: float) -> Iterator[Frame]:
        paths = sorted((images_dir / self.folder).glob("*.jpg"))
        if not paths:
            raise InputError(f"{images_dir / self.folder}: no frames (*.jpg)")
        stills = [cv2.resize(read_image(p), SIZE) for p in paths]
        per_still = max(1, round(self.hold_seconds * FPS))
        for i in range(round(seconds * FPS)):
            yield stills[(i // per_still) % len(stills)]


Scene = ArrivingCar | StillScene | FrameSequence

SCENES: dict[str, Scene] = {
    "parking": ArrivingCar("parking-street.jpg", car_box=(330, 298, 640, 637), empty_seconds=4, drive_seconds=3),
    "garbage": StillScene("garbage-roadside.jpg"),
    "vending": StillScene("vending-umbrella.jpg"),
    "fire": FrameSequence("fire", hold_seconds=1.0),
}


def write_clip(frames: Iterator[Frame], target: Path) -> None:
    """Encode frames as H.264 (yuv420p, 1 keyframe per second) with PyAV; atomic rename."""
    import av

    partial = target.with_suffix(".partial.mp4")
    with av.open(str(partial), mode="w") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height = SIZE
        stream.pix_fmt = "yuv420p"
        stream.options = {"g": str(FPS), "preset": "veryfast", "crf": "23"}
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="bgr24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    partial.replace(target)


def build_scene_videos(
    images_dir: Path, out_dir: Path, seconds: float, only: set[str] | None = None
) -> dict[str, Path]:
    """Write one clip per scene (or per scene named in `only`) into out_dir, skipping clips already
    there; returns scene -> path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    clips = {}
    for name, scene in SCENES.items():
        if only is not None and name not in only:
            continue
        target = out_dir / f"{name}.mp4"
        if not target.exists():
            write_clip(scene.frames(images_dir, seconds), target)
        clips[name] = target
    return clips
