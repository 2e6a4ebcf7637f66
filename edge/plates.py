"""Find and read the licence plate of a parked vehicle (PP-OCRv4 through rapidocr-onnxruntime).

`rapidocr-onnxruntime` ships the PP-OCRv4 Chinese text detection and recognition ONNX models
inside its wheel and runs them on the onnxruntime the edge already has: nothing is downloaded,
ever (`PlateReader` refuses to start if a model file is missing rather than let anything fetch
one). On a vehicle's crop the text detector finds text lines; each line is recognised, and a line
(or two neighbouring lines, for a plate read as `粤B` + `12345`) counts only if it is a supported
Chinese plate number (`streetwatch.plate_format`). A plate that does not read as one, or reads
below `min_confidence`, is reported as unread: never a guess.

The same detector, without recognition, finds plate-like text boxes on the other vehicles of the
frame: those are blurred in public copies (`plate_boxes`).

Cost: one detection + a few recognitions per vehicle crop, once per case, not per frame
(`benchmarks/bench_plates.py` measures it).
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from streetwatch.plate_format import PlateKind, parse_plate

Frame = npt.NDArray[np.uint8]  # (H, W, 3) BGR
Box = tuple[float, float, float, float]  # x1, y1, x2, y2 in frame pixels

# A vehicle crop narrower than this is upscaled first: plates on small crops are a few pixels high.
_MIN_CROP_WIDTH = 320
DET_MAX_SIDE = 480
# Plates are wide: 440x140 mm single-row (about 3.1:1); OCR boxes include a margin.
_PLATE_ASPECT = (1.8, 7.0)


@dataclass(frozen=True)
class PlateRead:
    """One reading attempt. `text` None means unread (no supported plate number was found)."""

    text: str | None
    kind: PlateKind | None
    confidence: float | None  # recogniser score of the text, 0..1
    box: Box | None  # the plate in frame pixels (also when unread but a plate-like box was found)
    raw: str | None = None  # what the recogniser said, for the audit of a miss

    @property
    def read(self) -> bool:
        return self.text is not None


UNREAD = PlateRead(None, None, None, None)


class PlateReader:
    """Not thread-safe per call; one lock keeps concurrent cases from sharing the sessions at once."""

    def __init__(self, *, threads: int = 1, min_confidence: float = 0.8) -> None:
        import rapidocr_onnxruntime
        from rapidocr_onnxruntime import RapidOCR

        models = Path(rapidocr_onnxruntime.__file__).parent / "models"
        missing = [
            name
            for name in ("ch_PP-OCRv4_det_infer.onnx", "ch_PP-OCRv4_rec_infer.onnx")
            if not (models / name).is_file()
        ]
        if missing:
            raise RuntimeError(f"rapidocr-onnxruntime is missing its bundled models {missing} in {models}")
        self.min_confidence = min_confidence
        # The detector's default scales the shorter side up to 736 px: on a vehicle crop that is
        # seconds of CPU for nothing. Its longer side at most 480 px keeps a plate of a 600 px wide
        # car about 80 px wide, plenty for the recogniser (which sees every line at 48 px high).
        self._engine = RapidOCR(
            intra_op_num_threads=threads,
            inter_op_num_threads=1,
            print_verbose=False,
            use_cls=False,
            det_limit_side_len=DET_MAX_SIDE,
            det_limit_type="max",
        )
        self._lock = threading.Lock()

    # -- text lines ----------------------------------------------------------------------------
    def _lines(self, crop: Frame, recognise: bool) -> list[tuple[npt.NDArray[np.float32], str, float]]:
        """(quad (4, 2) in crop pixels, text, score) per text line the detector finds."""
        with self._lock:
            result, _ = self._engine(crop, use_det=True, use_cls=False, use_rec=recognise)
        out: list[tuple[npt.NDArray[np.float32], str, float]] = []
        for item in result or []:
            if recognise:
                quad, text, score = item
            else:
                quad, text, score = item, "", 0.0
            out.append((np.asarray(quad, dtype=np.float32).reshape(4, 2), str(text), float(score)))
        return out

    @staticmethod
    def _crop(frame: Frame, box: Box) -> tuple[Frame, float, float, float]:
        """The vehicle crop (upscaled when small), its origin and scale in frame pixels."""
        height, width = frame.shape[:2]
        x1, y1, x2, y2 = (round(v) for v in box)
        x1, y1 = max(0, x1), max(0, y1)
        x2, y2 = min(width, x2), min(height, y2)
        crop = frame[y1:y2, x1:x2]
        scale = 1.0
        if crop.size and crop.shape[1] < _MIN_CROP_WIDTH:
            scale = _MIN_CROP_WIDTH / crop.shape[1]
            crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
        return crop, float(x1), float(y1), scale

    @staticmethod
    def _to_frame(quad: npt.NDArray[np.float32], x0: float, y0: float, scale: float) -> Box:
        xs, ys = quad[:, 0] / scale + x0, quad[:, 1] / scale + y0
        return (float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max()))

    @staticmethod
    def _plate_like(quad: npt.NDArray[np.float32]) -> bool:
        w = float(quad[:, 0].max() - quad[:, 0].min())
        h = float(quad[:, 1].max() - quad[:, 1].min())
        return h > 0 and _PLATE_ASPECT[0] <= w / h <= _PLATE_ASPECT[1]

    # -- reading -------------------------------------------------------------------------------
    def read(self, frame: Frame, vehicle: Box) -> PlateRead:
        """The plate of the vehicle at `vehicle` in `frame`, or an unread result."""
        crop, x0, y0, scale = self._crop(frame, vehicle)
        if crop.size == 0 or min(crop.shape[:2]) < 8:
            return UNREAD
        lines = self._lines(crop, recognise=True)
        candidates: list[tuple[float, str, PlateKind, npt.NDArray[np.float32]]] = []
        # Single lines, then neighbours on one row (a plate split at its dot or its gap).
        ordered = sorted(lines, key=lambda line: float(line[0][:, 0].min()))
        groups = [[line] for line in ordered]
        for a, b in itertools.pairwise(ordered):
            ha = float(a[0][:, 1].max() - a[0][:, 1].min())
            same_row = abs(float(a[0][:, 1].mean() - b[0][:, 1].mean())) < 0.5 * max(ha, 1.0)
            close = float(b[0][:, 0].min() - a[0][:, 0].max()) < 1.5 * max(ha, 1.0)
            if same_row and close:
                groups.append([a, b])
        best_raw: tuple[str, npt.NDArray[np.float32]] | None = None
        for group in groups:
            text = "".join(line[1] for line in group)
            score = min(line[2] for line in group)
            quad = np.concatenate([line[0] for line in group])
            parsed = parse_plate(text)
            if parsed is not None and _colour_agrees(crop, quad, parsed[1]):
                candidates.append((score, parsed[0], parsed[1], quad))
            elif best_raw is None and len(group) == 1 and self._plate_like(group[0][0]):
                best_raw = (text, quad)
        if candidates:
            score, number, kind, quad = max(candidates, key=lambda c: c[0])
            box = self._to_frame(quad, x0, y0, scale)
            if score >= self.min_confidence:
                return PlateRead(number, kind, round(score, 4), box, raw=number)
            return PlateRead(None, None, round(score, 4), box, raw=number)
        if best_raw is not None:
            return PlateRead(None, None, None, self._to_frame(best_raw[1], x0, y0, scale), raw=best_raw[0])
        return UNREAD

    def best_of(self, attempts: list[tuple[Frame, Box]]) -> tuple[int, PlateRead]:
        """Read the vehicle in several frames; (index, result) of the best read (else the first)."""
        results = [self.read(frame, box) for frame, box in attempts]
        read = [(r.confidence or 0.0, -i, i) for i, r in enumerate(results) if r.read]
        if read:
            index = max(read)[2]
            return index, results[index]
        return 0, results[0] if results else UNREAD

    def plate_boxes(self, frame: Frame, vehicles: list[Box]) -> list[Box]:
        """Plate-like text boxes (detector only) on each of these vehicles, in frame pixels: to blur."""
        boxes: list[Box] = []
        for vehicle in vehicles:
            crop, x0, y0, scale = self._crop(frame, vehicle)
            if crop.size == 0 or min(crop.shape[:2]) < 8:
                continue
            for quad, _, _ in self._lines(crop, recognise=False):
                if self._plate_like(quad):
                    boxes.append(self._to_frame(quad, x0, y0, scale))
        return boxes


def plate_colour(crop: Frame, quad: npt.NDArray[np.float32]) -> str | None:
    """'blue', 'green', 'yellow' or None: the dominant saturated hue inside the text box.

    Small regular cars have blue plates, new-energy cars green ones, large vehicles yellow. A green
    plate read as 7 characters has lost one (the new-energy number has 8): better unread than wrong.
    """
    x1, y1 = np.floor(quad.min(axis=0)).astype(int)
    x2, y2 = np.ceil(quad.max(axis=0)).astype(int)
    region = crop[max(0, y1) : max(0, y2), max(0, x1) : max(0, x2)]
    if region.size == 0:
        return None
    hsv = cv2.cvtColor(region, cv2.COLOR_BGR2HSV).reshape(-1, 3)  # (N, 3): hue 0..179
    saturated = hsv[(hsv[:, 1] > 80) & (hsv[:, 2] > 60)]
    if len(saturated) < 0.25 * len(hsv):
        return None  # white, black or washed out: no colour to judge by
    hue = float(np.median(saturated[:, 0]))
    if 95 <= hue <= 130:
        return "blue"
    if 40 <= hue < 95:
        return "green"
    if 15 <= hue < 40:
        return "yellow"
    return None


def _colour_agrees(crop: Frame, quad: npt.NDArray[np.float32], kind: PlateKind) -> bool:
    colour = plate_colour(crop, quad)
    if colour == "green":
        return kind is PlateKind.NEW_ENERGY
    if colour == "blue":
        return kind is PlateKind.REGULAR
    return True


def plate_crop(frame: Frame, box: Box, margin: float = 0.15) -> Frame:
    """The plate with a margin around it, for the case (reviewers check the reading against it)."""
    height, width = frame.shape[:2]
    x1, y1, x2, y2 = box
    mx, my = (x2 - x1) * margin, (y2 - y1) * margin
    ix1, iy1 = max(0, int(x1 - mx)), max(0, int(y1 - my))
    ix2, iy2 = min(width, int(np.ceil(x2 + mx))), min(height, int(np.ceil(y2 + my)))
    return frame[iy1:iy2, ix1:ix2].copy()
