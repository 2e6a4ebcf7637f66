"""Agreement of a model with a reference (the COCO teacher) on shared classes, over unlabelled images.

For each class both models know (by name), at one operating threshold: the reference's boxes are
taken as truth; recall = share of them the model finds (same class, IoU >= 0.5), precision = share
of the model's boxes the reference also has. This is how "vehicles still detected as well as the
teacher finds them" is measured.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from streetwatch.errors import InputError
from streetwatch.inference.boxes import ULTRALYTICS_EPS, greedy_match, iou_matrix

MATCH_IOU = np.asarray([0.5])


@dataclass(frozen=True)
class ClassAgreement:
    name: str
    reference_boxes: int
    model_boxes: int
    matched: int

    @property
    def recall(self) -> float:
        return self.matched / self.reference_boxes if self.reference_boxes else 1.0

    @property
    def precision(self) -> float:
        return self.matched / self.model_boxes if self.model_boxes else 1.0

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "recall": round(self.recall, 4), "precision": round(self.precision, 4)}


def agreement(
    model: Path,
    reference: Path,
    images: Sequence[Path],
    classes: Sequence[str],
    conf: float = 0.25,
    threads: int | None = None,
) -> list[ClassAgreement]:
    from streetwatch.inference.detector import Detector

    student = Detector(model, conf=conf, threads=threads, release_thresholds=False)  # same conf for both
    teacher = Detector(reference, conf=conf, threads=threads, release_thresholds=False)
    shared = [c for c in classes if c in student.names and c in teacher.names]
    if not shared:
        raise InputError(f"no class among {', '.join(classes)} is known to both models")
    s_ids = np.asarray([student.names.index(c) for c in shared])
    t_ids = np.asarray([teacher.names.index(c) for c in shared])
    counts = np.zeros((len(shared), 3), dtype=np.int64)  # reference boxes, model boxes, matched
    for path in images:
        frame = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if frame is None:
            raise InputError(f"{path}: not a readable image")
        s, t = student.detect(frame), teacher.detect(frame)
        for k in range(len(shared)):
            s_mask, t_mask = s.class_id == s_ids[k], t.class_id == t_ids[k]
            order = np.argsort(-s.confidence[s_mask], kind="stable")
            s_xyxy, t_xyxy = s.xyxy[s_mask][order], t.xyxy[t_mask]
            iou = iou_matrix(t_xyxy.astype(np.float64), s_xyxy.astype(np.float64), ULTRALYTICS_EPS)  # (M, N)
            correct = greedy_match(iou, MATCH_IOU)
            counts[k] += (len(t_xyxy), len(s_xyxy), int(correct[:, 0].sum()))
    return [ClassAgreement(name, int(r), int(m), int(x)) for name, (r, m, x) in zip(shared, counts, strict=True)]


def agreement_table(rows: Sequence[ClassAgreement]) -> str:
    lines = [f"{'class':<14}{'teacher':>9}{'model':>8}{'matched':>9}{'recall':>8}{'precision':>11}"]
    for r in rows:
        lines.append(
            f"{r.name:<14}{r.reference_boxes:>9}{r.model_boxes:>8}{r.matched:>9}{r.recall:>8.3f}{r.precision:>11.3f}"
        )
    return "\n".join(lines)
