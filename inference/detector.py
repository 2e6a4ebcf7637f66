"""`Detector`: an ONNX YOLO detector on CPU, numpy + OpenCV + onnxruntime only.

detector = Detector("models/releases/coco-teacher/yolov8n-coco.onnx", conf=0.3)
detections = detector.detect(frame_bgr)           # one (H, W, 3) uint8 BGR frame
batch = detector.detect_batch([frame_a, frame_b])  # frames of any sizes
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt

from streetwatch.errors import InputError
from streetwatch.inference.detections import Detections
from streetwatch.inference.letterbox import LetterboxGeometry, letterbox_to_blob
from streetwatch.inference.model_file import ModelInfo, open_model
from streetwatch.inference.postprocess import RawBoxes, decode_end2end, decode_raw
from streetwatch.inference.runtimes import open_runtime

Frame = npt.NDArray[np.uint8]  # (H, W, 3) BGR


class Detector:
    """Run a YOLO detector exported to ONNX (ultralytics layout) on BGR frames.

    conf:       default confidence threshold (a score at or above it passes: `inference/thresholds.py`)
    iou:        NMS IoU threshold (raw-layout models only)
    classes:    keep only these classes (names or ids); None keeps all
    class_conf: per-class thresholds overriding `conf` and the release's, by class name
    release_thresholds: use the operating thresholds the release chose per class (ONNX metadata
                `class_thresholds`) in place of `conf` for those classes. Evaluation and teachers
                pass False: they need the whole confidence range, or a threshold of their own.
    unknown_class_conf: "error" (a class_conf name the model lacks is an InputError) or "ignore"
                (the edge box: one config's thresholds serve models with different classes)
    threads:    inference threads (None: one per core)
    runtime:    "onnxruntime" (default) or "openvino" (the openvino extra); see runtimes.py
    sha256:     refuse the file unless its sha256 matches
    """

    def __init__(
        self,
        model_path: str | os.PathLike[str],
        *,
        conf: float = 0.25,
        iou: float = 0.7,
        classes: Iterable[str | int] | None = None,
        class_conf: Mapping[str, float] | None = None,
        unknown_class_conf: Literal["error", "ignore"] = "error",
        max_det: int = 300,
        threads: int | None = None,
        sha256: str | None = None,
        runtime: str = "onnxruntime",
        release_thresholds: bool = True,
    ) -> None:
        if not 0.0 <= conf <= 1.0:
            raise InputError(f"conf must be in [0, 1], got {conf}")
        if not 0.0 <= iou <= 1.0:
            raise InputError(f"iou must be in [0, 1], got {iou}")
        session, self.info = open_model(model_path, expected_sha256=sha256, threads=threads)
        self.runtime = open_runtime(runtime, self.info, threads, session)
        self.conf, self.iou, self.max_det = conf, iou, max_det
        nc = len(self.names)
        self._class_conf = np.full((nc,), conf, dtype=np.float32)
        if release_thresholds:
            for name, value in self.info.thresholds.items():
                self._class_conf[self._resolve_class(name)] = value
        for name, value in (class_conf or {}).items():
            if not 0.0 <= value <= 1.0:
                raise InputError(f"class_conf[{name!r}] must be in [0, 1], got {value}")
            if unknown_class_conf == "ignore" and name not in self.names:
                continue
            self._class_conf[self._resolve_class(name)] = value
        self._class_allowed: npt.NDArray[np.bool_] | None = None
        if classes is not None:
            self._class_allowed = np.zeros((nc,), dtype=bool)
            for c in classes:
                self._class_allowed[self._resolve_class(c)] = True
        h, w = self.info.imgsz
        # Model-input buffer reused across calls (the runtime warmed itself up).
        # Each slot remembers the geometry it holds, so padding is repainted only when it changes.
        self._blob = np.empty((self.info.batch or 1, 3, h, w), dtype=np.float32)
        self._slot_geometry: list[LetterboxGeometry | None] = [None] * len(self._blob)

    # -- properties ------------------------------------------------------------------------------
    @property
    def names(self) -> tuple[str, ...]:
        return self.info.names

    @property
    def imgsz(self) -> tuple[int, int]:
        return self.info.imgsz

    def _resolve_class(self, c: str | int) -> int:
        if isinstance(c, (int, np.integer)):
            if not 0 <= int(c) < len(self.names):
                raise InputError(f"class id {c} out of range: model has {len(self.names)} classes")
            return int(c)
        if c not in self.names:
            raise InputError(f"unknown class {c!r}; model classes are {', '.join(self.names)}")
        return self.names.index(c)

    # -- inference -------------------------------------------------------------------------------
    def detect(self, frame_bgr: Frame) -> Detections:
        return self.detect_batch([frame_bgr])[0]

    def detect_batch(self, frames: Sequence[Frame]) -> list[Detections]:
        if len(frames) == 0:
            return []
        for i, frame in enumerate(frames):
            _check_frame(frame, i)
        fixed = self.info.batch
        step = fixed or len(frames)
        results: list[Detections] = []
        for start in range(0, len(frames), step):
            chunk = frames[start : start + step]
            results.extend(self._run(chunk, pad_to=fixed))
        return results

    def _run(self, frames: Sequence[Frame], pad_to: int | None) -> list[Detections]:
        n = len(frames)
        b = pad_to or n
        if len(self._blob) < b:
            self._blob = np.empty((b, *self._blob.shape[1:]), dtype=np.float32)
            self._slot_geometry = [None] * b
        geometries = []
        for i, frame in enumerate(frames):
            geometry = LetterboxGeometry.compute(frame.shape[:2], self.imgsz)
            letterbox_to_blob(frame, self._blob[i], geometry, pad=self._slot_geometry[i] != geometry)
            self._slot_geometry[i] = geometry
            geometries.append(geometry)
        if b > n:  # a fixed-batch model gets blank slots after the last frame
            self._blob[n:b] = 0
            self._slot_geometry[n:b] = [None] * (b - n)
        blob = self._blob[:b]
        output = self.runtime.run(blob)
        detections = []
        for i, geometry in enumerate(geometries):
            raw = self._decode(output[i])
            detections.append(
                Detections(xyxy=geometry.to_source(raw.xyxy), confidence=raw.confidence, class_id=raw.class_id)
            )
        return detections

    def _decode(self, pred: npt.NDArray[np.float32]) -> RawBoxes:
        if self.info.layout == "raw":
            return decode_raw(pred, self._class_conf, self.iou, self.max_det, self._class_allowed)
        return decode_end2end(pred, self._class_conf, self.max_det, self._class_allowed)


def to_blob(batch_hwc: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    """(B, H, W, 3) uint8 BGR -> (B, 3, H, W) float32 RGB in [0, 1], as ultralytics feeds its models."""
    rgb_chw = batch_hwc[..., ::-1].transpose(0, 3, 1, 2)
    blob = np.empty(rgb_chw.shape, dtype=np.float32)
    np.multiply(rgb_chw, np.float32(1.0 / 255.0), out=blob)
    return blob


def _check_frame(frame: object, index: int) -> None:
    if not isinstance(frame, np.ndarray):
        raise InputError(f"frame {index}: expected a numpy array (H, W, 3) uint8 BGR, got {type(frame).__name__}")
    if frame.ndim != 3 or frame.shape[2] != 3:
        raise InputError(f"frame {index}: expected shape (H, W, 3) BGR, got {frame.shape}")
    if frame.dtype != np.uint8:
        raise InputError(f"frame {index}: expected dtype uint8, got {frame.dtype}")
    if frame.shape[0] == 0 or frame.shape[1] == 0:
        raise InputError(f"frame {index}: empty frame of shape {frame.shape}")


__all__ = ["Detector", "ModelInfo", "to_blob"]
