"""Agreement between two detectors' raw outputs and detections on the same letterboxed images."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from streetwatch.inference.boxes import greedy_match, iou_matrix, same_class
from streetwatch.inference.postprocess import RawBoxes, decode_raw
from streetwatch.models.manifest import RawDiff  # the manifest records these figures as they are

RawOutput = npt.NDArray[np.float32]  # (84, A): xywh in input pixels + 80 class scores


@dataclass(frozen=True)
class DetectionAgreement:
    """Detections of `a` matched one-to-one to `b`: same class and IoU above a threshold."""

    iou: float
    conf: float
    a_boxes: int
    b_boxes: int
    matched: int

    @property
    def precision(self) -> float:  # share of a's boxes that b confirms
        return self.matched / self.a_boxes if self.a_boxes else 1.0

    @property
    def recall(self) -> float:  # share of b's boxes that a finds
        return self.matched / self.b_boxes if self.b_boxes else 1.0


def raw_diff(a: list[RawOutput], b: list[RawOutput]) -> RawDiff:
    box = score = 0.0
    cosines = []
    for x, y in zip(a, b, strict=True):
        x64, y64 = x.astype(np.float64), y.astype(np.float64)
        box = max(box, float(np.abs(x64[:4] - y64[:4]).max()))
        score = max(score, float(np.abs(x64[4:] - y64[4:]).max()))
        cosines.append(float((x64 * y64).sum() / (np.linalg.norm(x64) * np.linalg.norm(y64))))
    mean = float(np.mean(cosines))
    return RawDiff(images=len(a), max_abs_box_px=box, max_abs_score=score, min_cosine=min(cosines), mean_cosine=mean)


def decode(raw: RawOutput, conf: float, iou: float = 0.7, max_det: int = 300) -> RawBoxes:
    """NMS on one raw output, as the engine does it (boxes in input pixels)."""
    thresholds = np.full((raw.shape[0] - 4,), conf, dtype=np.float32)
    return decode_raw(raw, thresholds, iou, max_det, None)


def match_count(a: RawBoxes, b: RawBoxes, iou: float) -> int:
    """Greedy one-to-one matching by IoU (> iou) within each class, a's boxes in confidence order."""
    order = np.argsort(-a.confidence, kind="stable")
    overlaps = same_class(iou_matrix(b.xyxy, a.xyxy[order]), b.class_id, a.class_id[order])  # (M, N)
    return int(greedy_match(overlaps, np.asarray([iou]), strict=True).sum())


def detection_agreement(a: list[RawBoxes], b: list[RawBoxes], iou: float, conf: float) -> DetectionAgreement:
    return DetectionAgreement(
        iou=iou,
        conf=conf,
        a_boxes=sum(len(x.class_id) for x in a),
        b_boxes=sum(len(x.class_id) for x in b),
        matched=sum(match_count(x, y, iou) for x, y in zip(a, b, strict=True)),
    )
