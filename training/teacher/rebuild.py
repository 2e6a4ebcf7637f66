"""Rebuild an ultralytics YOLOv8n checkpoint from the teacher's TFLite file.

1. Read the graph, pair its 64 convs with YOLOv8n's (`conv_match`), copy the dequantised weights.
   The TFLite convs carry BatchNorm folded in: conv(x) * 1 + folded bias.
2. Recalibrate BatchNorm (the trap of an identity BN: eval output is exact, but training normalises
   with batch statistics, and a conv output whose batch std is far from 1 comes out rescaled). For each
   conv y = W_f * x we measure the per-channel mean m and variance v of y on real images and set
   running_mean = m, running_var = v, gamma = sqrt(v + eps), beta = b_f + m. Eval output is unchanged
   ((y - m) / sqrt(v + eps) * sqrt(v + eps) + b_f + m = y + b_f), and in training, where a batch's own
   statistics are close to m and v, the layer computes nearly the same function.
3. Save an ultralytics checkpoint that `YOLO(path)` loads, predicts with, fine-tunes from and exports.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from streetwatch.errors import ModelError
from streetwatch.files import sha256_file
from streetwatch.models.taxonomy import in_taxonomy_spelling
from streetwatch.training.teacher.conv_match import match_convs, tflite_convs, torch_convs
from streetwatch.training.teacher.tflite_graph import TfliteGraph, read_tflite
from streetwatch.training.teacher.tflite_meta import ExportMetadata, read_export_metadata

log = logging.getLogger(__name__)

MODEL_YAML = "yolov8n.yaml"  # bundled with ultralytics, resolved locally (no download)


@dataclass
class RebuildReport:
    """What the rebuild did, for the model card and the tests."""

    tflite: str
    tflite_sha256: str
    exported_by: str  # "ultralytics 8.3.172, 2025-08-02..."
    convs: int
    int8_convs: int
    calibration_images: int
    eval_change_after_calibration: float  # max |raw output after - before| on the calibration images
    pairs: list[tuple[int, str]] = field(default_factory=list)  # (TFLite op index, PyTorch module)


def taxonomy_names(names: tuple[str, ...]) -> dict[int, str]:
    """COCO's names with the taxonomy's spelling of its classes ("dining table" -> "dining_table")."""
    return dict(enumerate(in_taxonomy_spelling(names)))


def build_model(graph: TfliteGraph, meta: ExportMetadata) -> tuple[Any, list[tuple[int, str]]]:
    """A YOLOv8n DetectionModel with the TFLite weights; BatchNorm as identity holding the folded bias."""
    import torch
    from ultralytics.nn.tasks import DetectionModel

    if meta.task != "detect" or meta.imgsz[0] != meta.imgsz[1]:
        raise ModelError(f"{graph.path}: expected a square detection model, got task {meta.task} at {meta.imgsz}")
    model = DetectionModel(MODEL_YAML, nc=len(meta.names), verbose=False)
    if model.yaml.get("nc") != len(meta.names):
        raise ModelError(f"{graph.path}: model built with nc={model.yaml.get('nc')}, file has {len(meta.names)}")
    modules = dict(model.named_modules())
    pairs = match_convs(tflite_convs(graph), torch_convs(model, meta.imgsz[0]))
    with torch.no_grad():
        for source, target in pairs:
            conv = modules[target.name]
            conv.weight.copy_(torch.from_numpy(source.weight))
            parent = modules[target.name.rsplit(".", 1)[0]]
            bn = getattr(parent, "bn", None) if target.name.endswith(".conv") else None
            if bn is not None:
                if source.bias is None:
                    raise ModelError(f"conv op {source.op_index}: no bias to hold the folded BatchNorm")
                bn.running_mean.zero_()
                bn.running_var.fill_(1.0)
                bn.weight.fill_(float(np.sqrt(1.0 + bn.eps)))
                bn.bias.copy_(torch.from_numpy(source.bias))
            elif conv.bias is not None:
                if source.bias is None:
                    raise ModelError(f"conv op {source.op_index}: {target.name} needs a bias, the file has none")
                conv.bias.copy_(torch.from_numpy(source.bias))
            elif source.bias is not None and np.abs(source.bias).max() > 0:
                raise ModelError(f"conv op {source.op_index}: non-zero bias for {target.name}, which has none")
    model.names = taxonomy_names(meta.names)
    model.eval()
    return model, [(s.op_index, t.name) for s, t in pairs]


def raw_output(model: Any, batch_nchw: npt.NDArray[np.float32], chunk: int = 8) -> npt.NDArray[np.float32]:
    """(N, 3, H, W) RGB 0-1 -> (N, 84, A) eval-mode raw output, xywh in pixels."""
    import torch

    outs = []
    model.eval()
    with torch.no_grad():
        for start in range(0, len(batch_nchw), chunk):
            y = model(torch.from_numpy(np.ascontiguousarray(batch_nchw[start : start + chunk])))
            outs.append((y[0] if isinstance(y, (tuple, list)) else y).numpy())
    return np.concatenate(outs)


def recalibrate_batchnorm(model: Any, batch_nchw: npt.NDArray[np.float32], chunk: int = 8) -> int:
    """Set every Conv's BN from its conv output statistics on real images (see module doc). Returns BN count."""
    import torch
    from ultralytics.nn.modules import Conv

    convs = [m for m in model.modules() if isinstance(m, Conv) and isinstance(m.bn, torch.nn.BatchNorm2d)]
    sums: dict[int, torch.Tensor] = {}
    sqs: dict[int, torch.Tensor] = {}
    counts: dict[int, int] = {}

    def hook(mod: torch.nn.Module, _inp: object, out: torch.Tensor) -> None:
        y = out.detach().double()
        key = id(mod)
        sums[key] = sums.get(key, 0) + y.sum(dim=(0, 2, 3))
        sqs[key] = sqs.get(key, 0) + (y * y).sum(dim=(0, 2, 3))
        counts[key] = counts.get(key, 0) + y.shape[0] * y.shape[2] * y.shape[3]

    hooks = [m.conv.register_forward_hook(hook) for m in convs]
    try:
        raw_output(model, batch_nchw, chunk)  # BN is still the identity: the hooks see W_f * x
    finally:
        for h in hooks:
            h.remove()
    with torch.no_grad():
        for m in convs:
            key = id(m.conv)
            mean = sums[key] / counts[key]
            var = (sqs[key] / counts[key] - mean * mean).clamp(min=0.0)
            bn = m.bn
            folded_bias = bn.bias.double() - bn.running_mean.double() * bn.weight.double() / torch.sqrt(
                bn.running_var.double() + bn.eps
            )
            bn.running_mean.copy_(mean.float())
            bn.running_var.copy_(var.float())
            bn.weight.copy_(torch.sqrt(var + bn.eps).float())
            bn.bias.copy_((folded_bias + mean).float())
    return len(convs)


def head_features(model: Any, batch_nchw: npt.NDArray[np.float32], *, train: bool) -> list[npt.NDArray[np.float32]]:
    """Per-level head outputs (N, 64 + nc, h, w), with BatchNorm on batch statistics (train) or running ones.

    Runs on a copy, so training-mode BatchNorm does not move the model's running statistics.
    """
    import copy

    import torch

    probe = copy.deepcopy(model).train(train)
    head = probe.model[-1]
    captured: list[list[torch.Tensor]] = []
    handle = head.register_forward_hook(lambda _m, inp, _out: captured.append([t.detach() for t in inp[0]]))
    try:
        with torch.no_grad():
            probe(torch.from_numpy(np.ascontiguousarray(batch_nchw)))
            x = captured[0]
            feats = [torch.cat((head.cv2[i](x[i]), head.cv3[i](x[i])), 1) for i in range(head.nl)]
    finally:
        handle.remove()
    return [f.numpy() for f in feats]


def identity_batchnorm(model: Any) -> Any:
    """A copy with the naive rebuild: folded bias in a BatchNorm of mean 0, var 1 (same eval function)."""
    import copy

    import torch
    from ultralytics.nn.modules import Conv

    naive = copy.deepcopy(model)
    with torch.no_grad():
        for m in naive.modules():
            if isinstance(m, Conv) and isinstance(m.bn, torch.nn.BatchNorm2d):
                bn = m.bn
                folded = bn.bias - bn.running_mean * bn.weight / torch.sqrt(bn.running_var + bn.eps)
                bn.running_mean.zero_()
                bn.running_var.fill_(1.0)
                bn.weight.fill_(float(np.sqrt(1.0 + bn.eps)))
                bn.bias.copy_(folded)
    return naive


def train_vs_eval_error(model: Any, batch_nchw: npt.NDArray[np.float32]) -> float:
    """Worst relative L2 error ||train - eval|| / ||eval|| of the head outputs, over the three levels."""
    train = head_features(model, batch_nchw, train=True)
    evals = head_features(model, batch_nchw, train=False)
    return max(float(np.linalg.norm(t - e) / np.linalg.norm(e)) for t, e in zip(train, evals, strict=True))


def checkpoint_dict(model: Any, report: RebuildReport, meta: ExportMetadata) -> dict[str, Any]:
    """An ultralytics checkpoint: `YOLO(path)` reads `model`, `train_args`; fine-tuning rebuilds from model.yaml."""
    import ultralytics

    model.args = {"task": "detect", "imgsz": meta.imgsz[0]}
    return {
        "date": datetime.now(UTC).isoformat(),
        "version": ultralytics.__version__,
        "license": "AGPL-3.0 License (https://ultralytics.com/license)",
        "docs": "https://docs.ultralytics.com",
        "epoch": -1,
        "best_fitness": None,
        "model": model.float(),  # float32: the dequantised weights exactly (half would round them)
        "ema": None,
        "updates": None,
        "optimizer": None,
        "train_args": dict(model.args),
        "train_metrics": None,
        "train_results": None,
        "provenance": {
            "source": Path(report.tflite).name,
            "source_sha256": report.tflite_sha256,
            "exported_by": report.exported_by,
            "rebuilt_by": "streetwatch teacher recover",
            "calibration_images": report.calibration_images,
        },
    }


def recover(
    tflite: str | os.PathLike[str],
    calibration_nchw: npt.NDArray[np.float32],
) -> tuple[Any, RebuildReport, ExportMetadata]:
    """The rebuilt, BN-recalibrated model (eval mode) and what was done. calibration: (N, 3, S, S) RGB 0-1."""
    from streetwatch.training.ultralytics_env import prepare_ultralytics

    prepare_ultralytics()
    path = Path(tflite)
    graph = read_tflite(path)
    meta = read_export_metadata(path)
    if len(calibration_nchw) < 2:
        raise ModelError(f"BatchNorm calibration needs real images; got {len(calibration_nchw)}")
    model, pairs = build_model(graph, meta)
    before = raw_output(model, calibration_nchw)
    recalibrate_batchnorm(model, calibration_nchw)
    after = raw_output(model, calibration_nchw)
    change = float(np.abs(after - before).max())
    report = RebuildReport(
        tflite=str(path),
        tflite_sha256=sha256_file(path),
        exported_by=f"ultralytics {meta.version}, {meta.date}",
        convs=len(pairs),
        int8_convs=sum(1 for op, _ in pairs if graph.tensor(graph.operators[op].inputs[1]).dtype == "int8"),
        calibration_images=len(calibration_nchw),
        eval_change_after_calibration=change,
        pairs=pairs,
    )
    log.info("rebuilt %d convs (%d int8); eval change after BN calibration %.2e", len(pairs), report.int8_convs, change)
    return model, report, meta


def save_checkpoint(model: Any, report: RebuildReport, meta: ExportMetadata, out: Path) -> Path:
    import torch

    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(checkpoint_dict(model, report, meta), out)
    return out
