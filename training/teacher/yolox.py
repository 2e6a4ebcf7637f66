"""YOLOX-Nano (Megvii, COCO-80, Apache-2.0): an independent reference detector for the teacher's quality.

The shared ONNX file takes `images` (1, 3, 416, 416) BGR 0-255 (no normalisation), the frame resized
by r = min(416/h, 416/w) and padded with 114 at the bottom/right (YOLOX `ValTransform`), and returns
(1, 3549, 85): grid-relative xywh (log-space w/h), objectness and 80 class scores after sigmoid, over
strides 8, 16, 32. Neither model is ground truth: agreement says how far two COCO detectors concur.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from streetwatch.errors import ModelError
from streetwatch.inference.boxes import batched_nms
from streetwatch.inference.postprocess import RawBoxes
from streetwatch.training.teacher.parity import DetectionAgreement, detection_agreement

STRIDES = (8, 16, 32)
# COCO-80 ids of the classes the product relies on from COCO detectors (vehicles and persons).
STREET_CLASSES: dict[int, str] = {0: "person", 1: "bicycle", 2: "car", 3: "motorcycle", 5: "bus", 7: "truck"}
VEHICLE_GROUP = (2, 5, 7)  # car / bus / truck: COCO detectors trade these labels on vans and lorries


class YoloxNano:
    def __init__(self, path: str | os.PathLike[str], threads: int | None = None) -> None:
        import onnxruntime as ort

        from streetwatch.inference.model_file import session_options

        path = Path(path)
        if not path.is_file():
            raise ModelError(f"YOLOX model not found: {path}")
        self.session = ort.InferenceSession(str(path), session_options(threads), providers=["CPUExecutionProvider"])
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        self.size = int(inp.shape[2])
        out_shape = self.session.get_outputs()[0].shape
        self.grid, self.grid_strides = _grids(self.size)
        if out_shape[1] != len(self.grid) or out_shape[2] != 85:
            raise ModelError(f"{path}: expected YOLOX output (1, {len(self.grid)}, 85), got {out_shape}")

    def detect(self, frame_bgr: npt.NDArray[np.uint8], conf: float = 0.25, iou: float = 0.45) -> RawBoxes:
        """Boxes in source-frame pixels; confidence = objectness x class score, per-class NMS."""
        h, w = frame_bgr.shape[:2]
        r = min(self.size / h, self.size / w)
        canvas = np.full((self.size, self.size, 3), 114, dtype=np.uint8)
        resized = cv2.resize(frame_bgr, (int(w * r), int(h * r)), interpolation=cv2.INTER_LINEAR)
        canvas[: resized.shape[0], : resized.shape[1]] = resized
        blob = canvas.transpose(2, 0, 1)[None].astype(np.float32)
        pred = self.session.run(None, {self.input_name: blob})[0][0]  # (A, 85)
        xy = (pred[:, :2] + self.grid) * self.grid_strides
        wh = np.exp(pred[:, 2:4]) * self.grid_strides
        scores = pred[:, 4:5] * pred[:, 5:]  # (A, 80)
        cls = scores.argmax(axis=1)
        best = scores[np.arange(len(cls)), cls]
        keep = best > conf
        if not keep.any():
            return RawBoxes.empty()
        xy, wh, cls, best = xy[keep], wh[keep], cls[keep], best[keep]
        xyxy = np.concatenate([xy - wh / 2, xy + wh / 2], axis=1) / r
        xyxy[:, [0, 2]] = xyxy[:, [0, 2]].clip(0, w)
        xyxy[:, [1, 3]] = xyxy[:, [1, 3]].clip(0, h)
        kept = batched_nms(xyxy.astype(np.float32), best.astype(np.float32), cls, iou)
        return RawBoxes(xyxy[kept].astype(np.float32), best[kept].astype(np.float32), cls[kept].astype(np.int64))


def _grids(size: int) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    grids, strides = [], []
    for s in STRIDES:
        n = size // s
        ys, xs = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
        grids.append(np.stack([xs.ravel(), ys.ravel()], axis=1))
        strides.append(np.full((n * n, 1), s))
    return np.concatenate(grids).astype(np.float32), np.concatenate(strides).astype(np.float32)


def keep_classes(boxes: RawBoxes, classes: tuple[int, ...], merge_to: int | None = None) -> RawBoxes:
    """Boxes of the given COCO classes; with merge_to, their class ids all become merge_to."""
    mask = np.isin(boxes.class_id, classes)
    cls = boxes.class_id[mask]
    if merge_to is not None:
        cls = np.full_like(cls, merge_to)
    return RawBoxes(boxes.xyxy[mask], boxes.confidence[mask], cls)


@dataclass(frozen=True)
class ClassAgreement:
    name: str
    agreement: DetectionAgreement


def street_agreement(ours: list[RawBoxes], reference: list[RawBoxes], iou: float, conf: float) -> list[ClassAgreement]:
    """Per street class, then all street classes with car/bus/truck merged into one 'vehicle' label."""
    rows = []
    for cid, name in STREET_CLASSES.items():
        a = [keep_classes(x, (cid,)) for x in ours]
        b = [keep_classes(x, (cid,)) for x in reference]
        rows.append(ClassAgreement(name, detection_agreement(a, b, iou, conf)))
    merged = []
    for x in (ours, reference):
        merged.append([_concat(keep_classes(b, VEHICLE_GROUP, merge_to=2), keep_classes(b, (0, 1, 3))) for b in x])
    rows.append(ClassAgreement("all (car/bus/truck merged)", detection_agreement(merged[0], merged[1], iou, conf)))
    return rows


def _concat(a: RawBoxes, b: RawBoxes) -> RawBoxes:
    return RawBoxes(
        np.concatenate([a.xyxy, b.xyxy]),
        np.concatenate([a.confidence, b.confidence]),
        np.concatenate([a.class_id, b.class_id]),
    )
