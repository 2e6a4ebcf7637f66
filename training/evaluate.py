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
class OperatingPoint:
    """A class's operating threshold chosen on this split, and what it gives here (IoU 0.5)."""

    name: str
    conf: float
    precision: float
    recall: float
    f1: float
    rule: str  # which rule chose it (THRESHOLD_RULE)


@dataclass(frozen=True)
class SourceMetrics:
    """mAP50 per class on one source's images (the data set names each image's source)."""

    source: str
    images: int
    instances: dict[str, int]
    map50: dict[str, float]


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
    thresholds: dict[str, float] = field(default_factory=dict)  # per-class operating thresholds used (P@op, R@op)
    fire_free: FalseAlarms | None = None  # images without fire/smoke truth that got a fire/smoke box at op
    by_source: list[SourceMetrics] = field(default_factory=list)
    operating_points: list[OperatingPoint] = field(default_factory=list)

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
        if self.thresholds:
            used = ", ".join(f"{k} {v:.3f}" for k, v in self.thresholds.items())
            rows.append(f"operating thresholds used (release): {used}")
        if self.fire_free is not None:
            ff = self.fire_free
            rows.append(
                f"fire-free images with a fire/smoke box at op: {ff.images_with_detection}/{ff.negative_images} "
                f"({ff.rate:.3f})" + (f"; by class {ff.by_class}" if ff.by_class else "")
            )
        if self.by_source:
            shown = [
                c
                for c in ("fire", "smoke", "garbage", "garbage_bin", "bin_overflow", "car", "person")
                if any(c in s.map50 for s in self.by_source)
            ]
            rows.append("mAP50 by source (instances): " + " ".join(f"{c:>14}" for c in shown))
            for src in self.by_source:
                cells = [f"{src.map50[c]:.3f} ({src.instances[c]})" if c in src.map50 else "-" for c in shown]
                rows.append(f"  {src.source:<14}{src.images:>6} img " + " ".join(f"{x:>14}" for x in cells))
        if self.operating_points:
            rows.append(f"operating points chosen here ({THRESHOLD_RULE}):")
            for op in self.operating_points:
                rows.append(
                    f"  {op.name:<14} conf {op.conf:.3f}  P {op.precision:.3f}  R {op.recall:.3f}  "
                    f"F1 {op.f1:.3f}  ({op.rule})"
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


THRESHOLD_RULE = "the highest-F1 point on the PR curve (IoU 0.5)"
FIRE_SMOKE = ("fire", "smoke")


def source_of(image: Path) -> str:
    """`data export` names images `<source>__<name>`; anything else belongs to no named source."""
    stem = image.name
    return stem.split("__", 1)[0] if "__" in stem else ""


def operating_point(
    tp50: npt.NDArray[np.bool_], conf: npt.NDArray[np.float32], n_true: int, name: str
) -> OperatingPoint | None:
    """THRESHOLD_RULE on one class's detections (tp50: true positive at IoU 0.5; conf: their scores)."""
    if n_true == 0 or conf.size == 0:
        return None
    order = np.argsort(-conf, kind="stable")
    tp_c = np.cumsum(tp50[order])
    fp_c = np.cumsum(~tp50[order])
    precision = tp_c / (tp_c + fp_c)
    recall = tp_c / n_true
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-9)
    scores = conf[order]
    # A threshold t keeps detections with conf > t: the point at detection k is reached with t just
    # below scores[k]; thresholds are rounded down to 3 decimals, only ever keeping a little more.
    # Highest F1, not "precision >= 0.8": on weak classes (fire) that point keeps a tenth of the
    # recall, and an urgent violation missed costs more than a false alarm a reviewer rejects.
    k, rule = int(np.argmax(f1)), "highest F1"
    t = float(np.floor(max(float(scores[k]) - 1e-6, 0.0) * 1000) / 1000)
    return OperatingPoint(
        name=name, conf=t, precision=float(precision[k]), recall=float(recall[k]), f1=float(f1[k]), rule=rule
    )


def evaluate(
    model: Path,
    data: Path | DataSpec,
    *,
    split: str = "test",
    operating_conf: float = 0.25,
    save_dir: Path | None = None,
    threads: int | None = None,
    release_thresholds: bool = True,
    runtime: str | None = None,
) -> EvalReport:
    """`operating_conf` is the threshold for P@op, R@op and false alarms; with `release_thresholds` a
    release's own per-class thresholds (ONNX metadata) replace it for their classes, as on the edge.
    `runtime`: the Detector's (default onnxruntime; `openvino` for an OpenVINO IR, which runs nowhere else)."""
    os.environ.setdefault("MPLCONFIGDIR", str(Path(os.environ.get("TMPDIR", "/tmp")) / "streetwatch-mpl"))
    import torch
    from ultralytics.utils.metrics import ConfusionMatrix, ap_per_class

    from streetwatch.inference.detector import Detector

    spec = data if isinstance(data, DataSpec) else load_data_spec(data)
    images = spec.images(split)
    if not images:
        raise InputError(f"{spec.yaml_path}: split {split!r} has no images")
    # The whole confidence range: AP needs the full curve; operating points are applied below.
    if runtime is None:
        runtime = "openvino" if Path(model).suffix == ".xml" else "onnxruntime"
    detector = Detector(
        model,
        conf=VAL_CONF,
        iou=VAL_IOU,
        max_det=VAL_MAX_DET,
        threads=threads,
        release_thresholds=False,
        runtime=runtime,
    )
    names = detector.names
    to_model = _class_map(names, spec.names)
    names_dict = dict(enumerate(names))
    confusion = ConfusionMatrix(names=names_dict)
    used_thresholds = dict(detector.info.thresholds) if release_thresholds else {}
    op = np.full((len(names),), operating_conf, dtype=np.float32)  # (nc,) threshold per class
    for name, value in used_thresholds.items():
        op[names.index(name)] = value
    fire_ids = [names.index(n) for n in FIRE_SMOKE if n in names]

    tps, confs, pred_classes, target_classes = [], [], [], []
    image_has_class = np.zeros((len(images), len(names)), dtype=bool)  # GT presence, for per-class image counts
    negatives, negatives_hit = 0, 0
    negative_hits_by_class: dict[str, int] = {}
    fire_free, fire_free_hit = 0, 0
    fire_free_by_class: dict[str, int] = {}
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
        # Each class at its own operating threshold (the confusion matrix takes one: the lowest).
        keep = pred_conf > op[pred_cls] if pred_cls.size else np.zeros((0,), bool)
        confusion.process_batch(
            {
                "bboxes": torch.from_numpy(pred_xyxy[keep]),
                "conf": torch.from_numpy(pred_conf[keep]),
                "cls": torch.from_numpy(pred_cls[keep].astype(np.float32)),
            },
            {"bboxes": torch.from_numpy(true_xyxy.astype(np.float32)), "cls": torch.from_numpy(true_cls)},
            conf=0.0,
            iou_thres=CONFUSION_IOU,
        )
        fired = pred_cls[keep]
        if true_cls.size == 0:
            negatives += 1
            if fired.size:
                negatives_hit += 1
                for c in np.unique(fired):
                    negative_hits_by_class[names[c]] = negative_hits_by_class.get(names[c], 0) + 1
        if fire_ids and not np.isin(true_cls, fire_ids).any():
            fire_free += 1
            hit = [c for c in np.unique(fired) if c in fire_ids]
            if hit:
                fire_free_hit += 1
                for c in hit:
                    fire_free_by_class[names[c]] = fire_free_by_class.get(names[c], 0) + 1

    plot = save_dir is not None
    if save_dir is not None:
        save_dir.mkdir(parents=True, exist_ok=True)

    def metrics(idx: list[int], plot: bool) -> tuple[list[ClassMetrics], tuple[float, float, float, float]]:
        tp = np.concatenate([tps[i] for i in idx]) if idx else np.zeros((0, len(IOU_THRESHOLDS)), bool)
        conf = np.concatenate([confs[i] for i in idx]) if idx else np.zeros((0,), np.float32)
        pred_cls = np.concatenate([pred_classes[i] for i in idx]) if idx else np.zeros((0,), np.int64)
        target_cls = np.concatenate([target_classes[i] for i in idx]) if idx else np.zeros((0,), np.int64)
        _, _, p, r, _, ap, ap_classes, *_ = ap_per_class(
            tp,
            conf,
            pred_cls,
            target_cls,
            plot=plot and target_cls.size > 0,
            save_dir=save_dir or Path(),
            names=names_dict,
        )
        out = []
        for k, c in enumerate(ap_classes):
            fired = (pred_cls == c) & (conf > op[c])
            n_true = int((target_cls == c).sum())
            tp_op = int(tp[fired, 0].sum())
            out.append(
                ClassMetrics(
                    name=names[c],
                    images=int(image_has_class[idx][:, c].sum()),
                    instances=n_true,
                    precision=float(p[k]),
                    recall=float(r[k]),
                    map50=float(ap[k, 0]),
                    map50_95=float(ap[k].mean()),
                    precision_at_op=tp_op / max(int(fired.sum()), 1),
                    recall_at_op=tp_op / max(n_true, 1),
                )
            )
        means = (
            float(ap[:, 0].mean()) if len(ap) else 0.0,
            float(ap.mean()) if len(ap) else 0.0,
            float(p.mean()) if len(p) else 0.0,
            float(r.mean()) if len(r) else 0.0,
        )
        return out, means

    everything = list(range(len(images)))
    classes, (map50, map5095, precision, recall) = metrics(everything, plot)
    by_source: list[SourceMetrics] = []
    sources = sorted({source_of(p) for p in images})
    if len(sources) > 1 or sources != [""]:
        for src in sources:
            idx = [i for i, p in enumerate(images) if source_of(p) == src]
            per, _ = metrics(idx, False)
            by_source.append(
                SourceMetrics(
                    source=src or "(unnamed)",
                    images=len(idx),
                    instances={c.name: c.instances for c in per},
                    map50={c.name: c.map50 for c in per},
                )
            )
    tp_all = np.concatenate(tps)[:, 0] if tps else np.zeros((0,), bool)
    conf_all = np.concatenate(confs) if confs else np.zeros((0,), np.float32)
    pred_all = np.concatenate(pred_classes) if pred_classes else np.zeros((0,), np.int64)
    target_all = np.concatenate(target_classes) if target_classes else np.zeros((0,), np.int64)
    points = []
    for c, name in enumerate(names):
        point = operating_point(tp_all[pred_all == c], conf_all[pred_all == c], int((target_all == c).sum()), name)
        if point is not None:
            points.append(point)
    plots: list[str] = []
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
        map50=map50,
        map50_95=map5095,
        precision=precision,
        recall=recall,
        classes=classes,
        false_alarms=FalseAlarms(
            negative_images=negatives,
            images_with_detection=negatives_hit,
            rate=negatives_hit / negatives if negatives else 0.0,
            by_class=negative_hits_by_class,
        ),
        plots=plots,
        thresholds=used_thresholds,
        fire_free=FalseAlarms(
            negative_images=fire_free,
            images_with_detection=fire_free_hit,
            rate=fire_free_hit / fire_free if fire_free else 0.0,
            by_class=fire_free_by_class,
        )
        if fire_ids
        else None,
        by_source=by_source,
        operating_points=points,
    )
    if save_dir is not None:
        (save_dir / "report.json").write_text(report.to_json(), encoding="utf-8")
    return report
