"""Evaluate an ONNX detector through `streetwatch.inference.Detector` — the code edge boxes run.

Per class: precision, recall (at the max-F1 confidence, as ultralytics reports them, and at the
operating threshold), mAP50, mAP50-95; a confusion matrix and PR curves as PNG; the false-alarm
rate on negative images (no labels) at the operating threshold. AP is computed with ultralytics'
`ap_per_class` on our detections, with the validator's matching policy (`inference/boxes.py`) and its
defaults (conf 0.001, NMS IoU 0.7, max 300 boxes), so the numbers agree with `yolo val`.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from streetwatch.errors import InputError
from streetwatch.inference.boxes import IOU_THRESHOLDS, ULTRALYTICS_EPS, greedy_match, iou_matrix, same_class
from streetwatch.training.data_files import DataSpec, load_data_spec, read_labels

VAL_CONF = 0.001  # ultralytics' validation threshold: AP needs the whole PR curve
VAL_IOU = 0.7
VAL_MAX_DET = 300
CONFUSION_IOU = 0.45  # ultralytics' ConfusionMatrix matching threshold


@dataclass(frozen=True)
class ClassMetrics:
    name: str
    images: int
    instances: int
    precision: float
    recall: float
    map50: float
    map50_95: float
    precision_at_op: float
    recall_at_op: float


@dataclass(frozen=True)
class FalseAlarms:
    negative_images: int
    images_with_detection: int
    rate: float  # images_with_detection / negative_images
    by_class: dict[str, int] = field(default_factory=dict)  # images with >= 1 detection of that class


@dataclass(frozen=True)
class EvalReport:
    model: str
    model_sha256: str
    data: str
    split: str
    images: int
    operating_conf: float
    map50: float
    map50_95: float
    precision: float
    recall: float
    classes: list[ClassMetrics]
    false_alarms: FalseAlarms
    plots: list[str]

    def by_name(self) -> dict[str, ClassMetrics]:
        return {c.name: c for c in self.classes}

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"

    def table(self) -> str:
        head = (
            f"{'class':<14}{'images':>7}{'inst':>7}{'P':>7}{'R':>7}{'mAP50':>8}{'mAP50-95':>10}{'P@op':>7}{'R@op':>7}"
        )
        rows = [head]
        rows.append(
            f"{'all':<14}{self.images:>7}{sum(c.instances for c in self.classes):>7}{self.precision:>7.3f}"
            f"{self.recall:>7.3f}{self.map50:>8.3f}{self.map50_95:>10.3f}"
        )
        for c in self.classes:
            rows.append(
                f"{c.name:<14}{c.images:>7}{c.instances:>7}{c.precision:>7.3f}{c.recall:>7.3f}{c.map50:>8.3f}"
                f"{c.map50_95:>10.3f}{c.precision_at_op:>7.3f}{c.recall_at_op:>7.3f}"
            )
        fa = self.false_alarms
        rows.append(
            f"false alarms at conf>{self.operating_conf}: {fa.images_with_detection}/{fa.negative_images} negative "
            f"images ({fa.rate:.3f})" + (f"; by class {fa.by_class}" if fa.by_class else "")
        )
        return "\n".join(rows)


def _class_map(model_names: tuple[str, ...], data_names: tuple[str, ...]) -> npt.NDArray[np.int64]:
    """data class id -> model class id, by name; every data class must be one the model knows."""
    missing = [n for n in data_names if n not in model_names]
    if missing:
        raise InputError(
            f"the data set has classes the model does not know: {', '.join(missing)}; "
            f"model classes are {', '.join(model_names)}"
        )
    return np.asarray([model_names.index(n) for n in data_names], dtype=np.int64)


def evaluate(
    model: Path,
    data: Path | DataSpec,
    *,
    split: str = "test",
    operating_conf: float = 0.25,
    save_dir: Path | None = None,
    threads: int | None = None,
) -> EvalReport:
    os.environ.setdefault("MPLCONFIGDIR", str(Path(os.environ.get("TMPDIR", "/tmp")) / "streetwatch-mpl"))
    import torch
    from ultralytics.utils.metrics import ConfusionMatrix, ap_per_class

    from streetwatch.inference.detector import Detector

    spec = data if isinstance(data, DataSpec) else load_data_spec(data)
    images = spec.images(split)
    if not images:
        raise InputError(f"{spec.yaml_path}: split {split!r} has no images")
    detector = Detector(model, conf=VAL_CONF, iou=VAL_IOU, max_det=VAL_MAX_DET, threads=threads)
    names = detector.names
    to_model = _class_map(names, spec.names)
    names_dict = dict(enumerate(names))
    confusion = ConfusionMatrix(names=names_dict)

    tps, confs, pred_classes, target_classes = [], [], [], []
    image_has_class = np.zeros((len(images), len(names)), dtype=bool)  # GT presence, for per-class image counts
    negatives, negatives_hit = 0, 0
    negative_hits_by_class: dict[str, int] = {}
    for i, path in enumerate(images):
        frame = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if frame is None:
            raise InputError(f"{path}: not a readable image")
        h, w = frame.shape[:2]
        labels = read_labels(path)
        true_cls = to_model[labels.class_id] if labels.class_id.size else labels.class_id
        true_xyxy = labels.xyxy(w, h)
        det = detector.detect(frame)
        order = np.argsort(-det.confidence, kind="stable")
        pred_xyxy, pred_conf, pred_cls = det.xyxy[order], det.confidence[order], det.class_id[order]
        iou = iou_matrix(true_xyxy.astype(np.float64), pred_xyxy.astype(np.float64), ULTRALYTICS_EPS)  # (M, N)
        tps.append(greedy_match(same_class(iou, true_cls, pred_cls), IOU_THRESHOLDS))
        confs.append(pred_conf)
        pred_classes.append(pred_cls)
        target_classes.append(true_cls)
        image_has_class[i, true_cls] = True
        confusion.process_batch(
            {
                "bboxes": torch.from_numpy(pred_xyxy),
                "conf": torch.from_numpy(pred_conf),
                "cls": torch.from_numpy(pred_cls.astype(np.float32)),
            },
            {"bboxes": torch.from_numpy(true_xyxy.astype(np.float32)), "cls": torch.from_numpy(true_cls)},
            conf=operating_conf,
            iou_thres=CONFUSION_IOU,
        )
        if true_cls.size == 0:
            negatives += 1
            fired = pred_cls[pred_conf > operating_conf]
            if fired.size:
                negatives_hit += 1
                for c in np.unique(fired):
                    negative_hits_by_class[names[c]] = negative_hits_by_class.get(names[c], 0) + 1

    tp = np.concatenate(tps) if tps else np.zeros((0, len(IOU_THRESHOLDS)), bool)
    conf = np.concatenate(confs)
    pred_cls = np.concatenate(pred_classes)
    target_cls = np.concatenate(target_classes)
    plots: list[str] = []
    plot = save_dir is not None
    if save_dir is not None:
        save_dir.mkdir(parents=True, exist_ok=True)
    _, _, p, r, _, ap, ap_classes, *_ = ap_per_class(
        tp, conf, pred_cls, target_cls, plot=plot and target_cls.size > 0, save_dir=save_dir or Path(), names=names_dict
    )
    classes = []
    for k, c in enumerate(ap_classes):
        is_c = pred_cls == c
        fired = is_c & (conf > operating_conf)
        n_true = int((target_cls == c).sum())
        tp_op = int(tp[fired, 0].sum())
        classes.append(
            ClassMetrics(
                name=names[c],
                images=int(image_has_class[:, c].sum()),
                instances=n_true,
                precision=float(p[k]),
                recall=float(r[k]),
                map50=float(ap[k, 0]),
                map50_95=float(ap[k].mean()),
                precision_at_op=tp_op / max(int(fired.sum()), 1),
                recall_at_op=tp_op / max(n_true, 1),
            )
        )
    if save_dir is not None:
        confusion.plot(normalize=True, save_dir=save_dir)
        confusion.plot(normalize=False, save_dir=save_dir)
        plots = sorted(str(p.name) for p in save_dir.glob("*.png"))
    report = EvalReport(
        model=str(model),
        model_sha256=detector.info.sha256,
        data=str(spec.yaml_path),
        split=split,
        images=len(images),
        operating_conf=operating_conf,
        map50=float(ap[:, 0].mean()) if len(ap) else 0.0,
        map50_95=float(ap.mean()) if len(ap) else 0.0,
        precision=float(p.mean()) if len(p) else 0.0,
        recall=float(r.mean()) if len(r) else 0.0,
        classes=classes,
        false_alarms=FalseAlarms(
            negative_images=negatives,
            images_with_detection=negatives_hit,
            rate=negatives_hit / negatives if negatives else 0.0,
            by_class=negative_hits_by_class,
        ),
        plots=plots,
    )
    if save_dir is not None:
        (save_dir / "report.json").write_text(report.to_json(), encoding="utf-8")
    return report
