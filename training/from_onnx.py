"""A trainable PyTorch checkpoint from a released ONNX file, so a release can be fine-tuned further.

Releases ship ONNX only. Ultralytics exports with every Conv+BatchNorm folded into one convolution
(weight W, bias b), and keeps the module names on the initialisers (`model.0.conv.weight`, ...).
This rebuilds the network from a template checkpoint of the same architecture (the COCO teacher's
yolov8n) with the release's class count, loads W and b, and un-folds each BatchNorm so that

    eval-mode output = W x + b exactly (checked against onnxruntime below), and
    train-mode output ~= the same, because the BatchNorm statistics are set to the per-channel
    mean and variance of W x measured on real images: batch statistics then start where the
    running ones are, instead of re-normalising every channel on the first step.

With mean m and variance v of y = W x: gamma = sqrt(v + eps), beta = b + m, so
gamma * (y - m) / sqrt(v + eps) + beta = y + b.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from copy import deepcopy
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from streetwatch.errors import ModelError


@dataclass(frozen=True)
class Recovered:
    checkpoint: Path
    names: dict[int, str]
    imgsz: int
    max_abs_diff: float  # recovered model vs onnxruntime on the first calibration image (raw head output)


def _letterbox(path: Path, size: int) -> npt.NDArray[np.float32]:
    """(3, size, size) RGB 0-1, ultralytics' letterbox geometry (grey 114 padding)."""
    import cv2

    from streetwatch.inference.letterbox import LetterboxGeometry, letterbox_to_blob

    frame = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if frame is None:
        raise ModelError(f"calibration image unreadable: {path}")
    blob = np.empty((3, size, size), np.float32)
    letterbox_to_blob(frame, blob, LetterboxGeometry.compute(frame.shape[:2], (size, size)), pad=True)
    return blob


def checkpoint_from_onnx(
    onnx_path: Path, template: Path, calibration: Sequence[Path], target: Path, *, max_diff: float = 1e-2
) -> Recovered:
    import onnx
    import onnxruntime as ort
    import torch
    from onnx import numpy_helper
    from ultralytics.nn.modules.conv import Conv
    from ultralytics.nn.tasks import DetectionModel

    from streetwatch.training.ultralytics_env import yolo

    if not calibration:
        raise ModelError("recovering a checkpoint needs calibration images")
    graph = onnx.load(str(onnx_path))
    weights = {t.name: numpy_helper.to_array(t) for t in graph.graph.initializer if t.name.startswith("model.")}
    meta = {p.key: p.value for p in graph.metadata_props}
    try:
        names = {int(k): str(v) for k, v in ast.literal_eval(meta["names"]).items()}
        imgsz = int(ast.literal_eval(meta["imgsz"])[0])
    except (KeyError, ValueError, SyntaxError) as exc:
        raise ModelError(f"{onnx_path}: no ultralytics names/imgsz metadata ({exc})") from None

    base = yolo(template)
    nc = len(names)
    # Same architecture as the template (its class count sets the head's width), as ultralytics
    # built the release when it fine-tuned it from the template: the release's class rows go first,
    # the template's remaining rows are switched off; training maps rows to the data set by name.
    template_nc = int(base.model.yaml["nc"])
    if nc > template_nc:
        raise ModelError(f"{onnx_path}: {nc} classes, more than the template's {template_nc}")
    model = DetectionModel(cfg=deepcopy(base.model.yaml), nc=template_nc, verbose=False)
    model.names = {**{i: f"unused_{i}" for i in range(nc, template_nc)}, **names}
    model.args = getattr(base.model, "args", {})
    used: set[str] = set()

    def put(param: torch.Tensor, key: str) -> None:
        if key not in weights:
            raise ModelError(f"{onnx_path}: no initialiser {key}; is it a {template.name}-like yolov8 export?")
        value = torch.from_numpy(np.array(weights[key], dtype=np.float32))
        if value.shape[0] == nc and param.shape[0] == template_nc and value.shape[1:] == param.shape[1:]:
            param.data.zero_()
            if param.ndim == 1:  # class-logit bias: rows the release does not have never fire
                param.data.fill_(-20.0)
            param.data[:nc].copy_(value)
            used.add(key)
            return
        if tuple(value.shape) != tuple(param.shape):
            raise ModelError(f"{onnx_path}: {key} has shape {tuple(value.shape)}, the template {tuple(param.shape)}")
        param.data.copy_(value)
        used.add(key)

    folded: dict[str, Conv] = {}
    for name, module in model.named_modules():
        if isinstance(module, Conv) and hasattr(module, "bn"):
            put(module.conv.weight, f"{name}.conv.weight")
            bias = f"{name}.conv.bias"
            put(module.bn.bias, bias)  # beta = b for now (mean 0, var 1 - eps, gamma 1: exact identity)
            module.bn.running_mean.zero_()
            module.bn.running_var.fill_(1.0 - module.bn.eps)
            module.bn.weight.data.fill_(1.0)
            folded[name] = module
        elif isinstance(module, torch.nn.Conv2d) and module.bias is not None and f"{name}.weight" in weights:
            put(module.weight, f"{name}.weight")
            put(module.bias, f"{name}.bias")
    dfl = "model.22.dfl.conv.weight"
    used.add(dfl)  # DFL's fixed arange weights: part of the architecture, identical in the template
    left = sorted(set(weights) - used)
    if left:
        raise ModelError(f"{onnx_path}: initialisers the template has no place for: {', '.join(left[:5])}")

    # Per-channel statistics of each folded conv's output y = W x on real images (eval mode is exact).
    sums: dict[str, list[torch.Tensor]] = {name: [] for name in folded}
    hooks = []
    for name, module in folded.items():

        def hook(_m: object, _i: object, out: torch.Tensor, name: str = name) -> None:
            sums[name].append(torch.stack([out.mean(dim=(0, 2, 3)), (out**2).mean(dim=(0, 2, 3))]))

        hooks.append(module.conv.register_forward_hook(hook))
    model.eval()
    batch = torch.from_numpy(np.stack([_letterbox(p, imgsz) for p in calibration]))
    with torch.no_grad():
        first = model(batch[:1])[0].numpy()  # (1, 4 + template nc, A) before the statistics change anything
        for start in range(0, len(batch), 8):
            model(batch[start : start + 8])
    for h in hooks:
        h.remove()
    for name, module in folded.items():
        moments = torch.stack(sums[name]).mean(dim=0)
        mean, var = moments[0], (moments[1] - moments[0] ** 2).clamp_min(1e-6)
        bn = module.bn
        bn.running_mean.copy_(mean)
        bn.running_var.copy_(var)
        bn.weight.data.copy_(torch.sqrt(var + bn.eps))
        bn.bias.data.add_(mean)

    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    reference = session.run(None, {session.get_inputs()[0].name: batch[:1].numpy()})[0]
    with torch.no_grad():
        after = model(batch[:1])[0].numpy()
    channels = reference.shape[1]  # 4 box + nc class channels; the switched-off rows follow
    diff = float(max(np.abs(first[:, :channels] - reference).max(), np.abs(after[:, :channels] - reference).max()))
    if diff > max_diff:
        raise ModelError(f"recovered model differs from {onnx_path.name} by {diff:.4f} (> {max_diff}) on raw outputs")
    base.model = model
    target.parent.mkdir(parents=True, exist_ok=True)
    base.save(str(target))
    return Recovered(checkpoint=target, names=names, imgsz=imgsz, max_abs_diff=diff)
