"""Public copies of evidence: people and every plate but the offending vehicle's made unrecognisable.

Which boxes: every `person` box of the frame's detections (the whole person: a face detector
would miss the back of a head, and clothes identify people too), and the plates the plate finder
(edge/plates.py, text detection only) finds on every other vehicle. On a parking case the parked
vehicle's plate stays readable (it is what the case is about); on any other case every plate is
hidden. How: `pixelate` (blocks of about an eighth of the box's shorter side) or `blur` (a Gaussian
of about a third of it), both strong enough that the blurred region cannot be read back.

The originals stay as they were: the case carries both, and the case service shows originals to
reviewers only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import cv2
import numpy as np
import numpy.typing as npt

from streetwatch.inference.boxes import iou_matrix
from streetwatch.inference.detections import Detections

if TYPE_CHECKING:
    from streetwatch.edge.plates import PlateReader

Frame = npt.NDArray[np.uint8]  # (H, W, 3) BGR
Box = tuple[float, float, float, float]

PLATE_VEHICLES = ("car", "bus", "truck", "motorcycle")  # classes that carry number plates
_PERSON_PAD = 0.05  # of the box size: detector boxes cut hair and elbows
_PLATE_PAD = 0.25  # text boxes hug the characters; the plate's frame and screws identify it too
_SAME_VEHICLE_IOU = 0.5


class PrivacyFilter(Protocol):
    """Makes regions unrecognisable; returns a new frame, never edits its input."""

    def apply(self, frame: Frame, regions: list[Box]) -> Frame: ...


def _cells(frame: Frame, regions: list[Box], pad: float = 0.0) -> list[tuple[int, int, int, int]]:
    height, width = frame.shape[:2]
    out = []
    for x1, y1, x2, y2 in regions:
        px, py = (x2 - x1) * pad, (y2 - y1) * pad
        ix1, iy1 = max(0, int(np.floor(x1 - px))), max(0, int(np.floor(y1 - py)))
        ix2, iy2 = min(width, int(np.ceil(x2 + px))), min(height, int(np.ceil(y2 + py)))
        if ix2 - ix1 >= 1 and iy2 - iy1 >= 1:
            out.append((ix1, iy1, ix2, iy2))
    return out


class Pixelate:
    """Each region averaged into blocks of about 1/8 of its shorter side (at least 4 px)."""

    def apply(self, frame: Frame, regions: list[Box]) -> Frame:
        out = frame.copy()
        for x1, y1, x2, y2 in _cells(frame, regions):
            region = out[y1:y2, x1:x2]
            block = max(4, min(region.shape[:2]) // 8)
            small = cv2.resize(
                region,
                (max(1, region.shape[1] // block), max(1, region.shape[0] // block)),
                interpolation=cv2.INTER_AREA,
            )
            out[y1:y2, x1:x2] = cv2.resize(small, (region.shape[1], region.shape[0]), interpolation=cv2.INTER_NEAREST)
        return out


class Blur:
    """Each region Gaussian-blurred with a kernel of about 1/3 of its shorter side (odd, at least 9 px)."""

    def apply(self, frame: Frame, regions: list[Box]) -> Frame:
        out = frame.copy()
        for x1, y1, x2, y2 in _cells(frame, regions):
            region = out[y1:y2, x1:x2]
            k = max(9, min(region.shape[:2]) // 3) | 1
            out[y1:y2, x1:x2] = cv2.GaussianBlur(region, (k, k), 0)
        return out


PRIVACY_FILTERS: dict[str, type[Pixelate] | type[Blur] | None] = {"none": None, "pixelate": Pixelate, "blur": Blur}


def private_regions(
    frame: Frame,
    scene: Detections,
    names: tuple[str, ...],
    plates: PlateReader | None,
    keep: Detections | None = None,
) -> list[Box]:
    """Boxes to hide in `frame`: people (padded) and plates on vehicles other than `keep`'s (padded).

    scene: every detection of the frame. keep: the offending vehicle (its plate stays readable).
    plates None: no plate finder on this box; then whole other vehicles are hidden rather than
    leave a plate readable."""

    def class_is(wanted: tuple[str, ...]) -> npt.NDArray[np.bool_]:
        ids = [i for i, n in enumerate(names) if n in wanted]
        return np.isin(scene.class_id, ids) if len(scene) else np.zeros(0, dtype=bool)

    people = scene[class_is(("person",))]
    regions: list[Box] = [tuple(float(v) for v in box) for box in _padded(people.xyxy, _PERSON_PAD)]  # type: ignore[misc]
    vehicles = scene[class_is(PLATE_VEHICLES)]
    if len(vehicles) and keep is not None and len(keep):
        same = iou_matrix(vehicles.xyxy, keep.xyxy).max(axis=1) >= _SAME_VEHICLE_IOU  # (N,)
        vehicles = vehicles[~same]
    others: list[Box] = [tuple(float(v) for v in box) for box in vehicles.xyxy]  # type: ignore[misc]
    if not others:
        return regions
    if plates is None:
        return regions + others
    found = plates.plate_boxes(frame, others)
    return regions + [
        tuple(float(v) for v in box) for box in _padded(np.asarray(found, np.float32).reshape(-1, 4), _PLATE_PAD)
    ]  # type: ignore[misc]


def _padded(xyxy: npt.NDArray[np.float32], pad: float) -> npt.NDArray[np.float32]:
    """(N, 4) boxes grown by `pad` of their width/height on each side (clipped later, per frame)."""
    if len(xyxy) == 0:
        return xyxy.reshape(0, 4)
    w = (xyxy[:, 2] - xyxy[:, 0])[:, None] * pad
    h = (xyxy[:, 3] - xyxy[:, 1])[:, None] * pad
    return xyxy + np.hstack([-w, -h, w, h]).astype(np.float32)
