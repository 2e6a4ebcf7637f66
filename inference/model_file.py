"""Open an ONNX detector: checksum, onnxruntime session for CPU, metadata and layout checks."""

from __future__ import annotations

import ast
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import onnxruntime as ort

from streetwatch.errors import ModelError
from streetwatch.files import sha256_file

Layout = Literal["raw", "end2end"]


@dataclass(frozen=True)
class ModelInfo:
    """What the engine needs to know about a detector, read from the ONNX file itself."""

    path: Path
    sha256: str
    names: tuple[str, ...]
    imgsz: tuple[int, int]  # model input (h, w)
    stride: int
    layout: Layout
    batch: int | None  # fixed batch size, or None for a dynamic batch axis
    input_name: str
    output_name: str
    metadata: dict[str, str] = field(default_factory=dict)
    # Operating thresholds the release chose per class on its validation split (metadata
    # `class_thresholds`, JSON {name: conf}); empty for models exported without them.
    thresholds: dict[str, float] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.metadata.get("model_name") or self.path.stem

    @property
    def version(self) -> str:
        return self.metadata.get("model_version") or self.metadata.get("version", "unknown")


def _parse_literal(key: str, raw: str | None, path: Path) -> object:
    if raw is None:
        raise ModelError(
            f"{path}: ONNX metadata has no {key!r}; expected a detector exported by ultralytics or "
            "`streetwatch export` (metadata names, imgsz, stride)"
        )
    try:
        return ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        raise ModelError(f"{path}: ONNX metadata {key!r} is not a literal: {raw[:80]!r}") from None


def session_options(threads: int | None) -> ort.SessionOptions:
    """CPU session: full graph optimisation, sequential execution, bounded intra-op threads."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.intra_op_num_threads = threads or 0  # 0 = one per physical core
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return options


def open_model(
    model_path: str | os.PathLike[str], *, expected_sha256: str | None = None, threads: int | None = None
) -> tuple[ort.InferenceSession, ModelInfo]:
    path = Path(model_path)
    if not path.is_file():
        raise ModelError(f"model file not found: {path}")
    digest = sha256_file(path)
    if expected_sha256 and digest.lower() != expected_sha256.lower():
        raise ModelError(f"{path}: sha256 mismatch: expected {expected_sha256}, file has {digest}")
    try:
        session = ort.InferenceSession(
            str(path), sess_options=session_options(threads), providers=["CPUExecutionProvider"]
        )
    except Exception as exc:  # onnxruntime raises its own Fail/InvalidProtobuf types
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"{path}: not a loadable ONNX model ({first})") from None

    inputs, outputs = session.get_inputs(), session.get_outputs()
    if len(inputs) != 1:
        raise ModelError(f"{path}: expected 1 image input, model has {len(inputs)}")
    shape = inputs[0].shape
    if len(shape) != 4 or shape[1] not in (3, "3"):
        raise ModelError(f"{path}: expected an image input of shape [B, 3, H, W], got {shape}")
    meta = dict(session.get_modelmeta().custom_metadata_map)
    names_raw = _parse_literal("names", meta.get("names"), path)
    if isinstance(names_raw, dict):
        names = tuple(str(names_raw[k]) for k in sorted(names_raw))
    elif isinstance(names_raw, (list, tuple)):
        names = tuple(str(n) for n in names_raw)
    else:
        raise ModelError(f"{path}: metadata 'names' must be a dict or list, got {type(names_raw).__name__}")
    imgsz_raw = _parse_literal("imgsz", meta.get("imgsz"), path)
    imgsz_list = [imgsz_raw, imgsz_raw] if isinstance(imgsz_raw, int) else list(imgsz_raw)  # type: ignore[arg-type]
    stride = int(_parse_literal("stride", meta.get("stride"), path))  # type: ignore[call-overload]
    imgsz = (int(imgsz_list[0]), int(imgsz_list[1]))
    if isinstance(shape[2], int) and isinstance(shape[3], int) and (shape[2], shape[3]) != imgsz:
        raise ModelError(f"{path}: metadata imgsz {imgsz} disagrees with the input shape {shape}")

    if len(outputs[0].shape) != 3:
        raise ModelError(f"{path}: expected a detection output of rank 3, got shape {outputs[0].shape}")
    # Dynamic exports name their output dims symbolically: one probe run on a blank image gives the
    # concrete shape, and doubles as the session warm-up (first runs allocate and are slow).
    probe_batch = shape[0] if isinstance(shape[0], int) else 1
    probe = np.zeros((probe_batch, 3, *imgsz), dtype=np.float32)
    try:
        out_shape = session.run([outputs[0].name], {inputs[0].name: probe})[0].shape
    except Exception as exc:
        raise ModelError(f"{path}: a probe run on a blank {imgsz} image failed ({exc})") from None
    nc = len(names)
    if out_shape[-1] == 6 and out_shape[1] != 4 + nc:
        layout: Layout = "end2end"
    elif out_shape[1] == 4 + nc:
        layout = "raw"
    else:
        raise ModelError(
            f"{path}: output shape {list(out_shape)} fits neither [B, 4+{nc}, A] nor [B, N, 6] for {nc} classes"
        )
    batch = shape[0] if isinstance(shape[0], int) else None
    thresholds = _thresholds(meta.get(THRESHOLDS_KEY), names, path)
    info = ModelInfo(
        path=path,
        sha256=digest,
        names=names,
        imgsz=imgsz,
        stride=stride,
        layout=layout,
        batch=batch,
        input_name=inputs[0].name,
        output_name=outputs[0].name,
        metadata=meta,
        thresholds=thresholds,
    )
    return session, info


THRESHOLDS_KEY = "class_thresholds"


def _thresholds(raw: str | None, names: tuple[str, ...], path: Path) -> dict[str, float]:
    if raw is None:
        return {}
    try:
        parsed = json.loads(raw)
    except ValueError:
        raise ModelError(f"{path}: metadata {THRESHOLDS_KEY!r} is not JSON: {raw[:80]!r}") from None
    if not isinstance(parsed, dict):
        raise ModelError(f"{path}: metadata {THRESHOLDS_KEY!r} must map class names to thresholds, got {raw[:80]!r}")
    out: dict[str, float] = {}
    for name, value in parsed.items():
        if name not in names or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
            raise ModelError(
                f"{path}: metadata {THRESHOLDS_KEY!r} has {name!r}: {value!r}; expected a model class -> [0, 1]"
            )
        out[name] = float(value)
    return out
