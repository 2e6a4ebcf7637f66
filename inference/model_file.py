"""Open a detector file: checksum, metadata and layout checks, and a first (probe) run.

Two kinds of file: an ONNX model (the releases' fp32 file; onnxruntime session for CPU), or an
OpenVINO IR (`.xml` + `.bin`, a release's INT8 file quantised by NNCF for OpenVINO; runs on the
`openvino` runtime only). An IR carries the ONNX file's metadata in its `rt_info` under
`streetwatch` (`IR_RT_INFO`) and the sha256 of its `.bin` (`IR_WEIGHTS_KEY`), checked here: a
half-copied weights file never runs.
"""

from __future__ import annotations

import ast
import json
import os
from collections.abc import Callable
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
) -> tuple[ort.InferenceSession | None, ModelInfo]:
    """The file's onnxruntime session (None for an OpenVINO IR) and what the engine needs to know."""
    path = Path(model_path)
    if not path.is_file():
        raise ModelError(f"model file not found: {path}")
    digest = sha256_file(path)
    if expected_sha256 and digest.lower() != expected_sha256.lower():
        raise ModelError(f"{path}: sha256 mismatch: expected {expected_sha256}, file has {digest}")
    if path.suffix == IR_SUFFIX:
        return None, _open_ir(path, digest, threads)
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
    meta = dict(session.get_modelmeta().custom_metadata_map)

    def probe(blob: np.ndarray) -> tuple[int, ...]:
        return tuple(session.run([outputs[0].name], {inputs[0].name: blob})[0].shape)

    info = _checked_info(
        path, digest, meta, list(inputs[0].shape), inputs[0].name, outputs[0].name, len(outputs[0].shape), probe
    )
    return session, info


def _open_ir(path: Path, digest: str, threads: int | None) -> ModelInfo:
    """An OpenVINO IR's ModelInfo, its weights checked against the sha256 it carries."""
    try:
        import openvino as ov
    except ImportError:
        raise ModelError(
            f'{path}: an OpenVINO IR needs the openvino extra: pip install -c constraints.txt "streetwatch[openvino]"'
        ) from None
    weights = path.with_suffix(".bin")
    if not weights.is_file():
        raise ModelError(f"{path}: its weights file {weights.name} is missing (an IR is the .xml and its .bin)")
    core = ov.Core()
    try:
        model = core.read_model(str(path))
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"{path}: not a loadable OpenVINO IR ({first})") from None
    meta: dict[str, str] = {}
    if model.has_rt_info([IR_RT_INFO]):
        section = model.get_rt_info([IR_RT_INFO]).astype(dict)
        meta = {str(k): str(v.astype(str)) for k, v in section.items()}
    expected = meta.pop(IR_WEIGHTS_KEY, None)
    if expected is None:
        raise ModelError(f"{path}: rt_info has no {IR_RT_INFO}.{IR_WEIGHTS_KEY}; expected an IR written by streetwatch")
    actual = sha256_file(weights)
    if actual != expected:
        raise ModelError(f"{path}: {weights.name} sha256 is {actual}, the IR expects {expected} (wrong or cut file)")
    if len(model.inputs) != 1:
        raise ModelError(f"{path}: expected 1 image input, model has {len(model.inputs)}")
    shape = [d.get_length() if d.is_static else "?" for d in model.inputs[0].get_partial_shape()]
    compiled = core.compile_model(model, "CPU", {"INFERENCE_NUM_THREADS": threads or 1})

    def probe(blob: np.ndarray) -> tuple[int, ...]:
        return tuple(compiled(blob)[0].shape)

    return _checked_info(
        path,
        digest,
        meta,
        shape,
        model.inputs[0].get_any_name(),
        model.outputs[0].get_any_name(),
        len(model.outputs[0].get_partial_shape()),
        probe,
    )


def _checked_info(
    path: Path,
    digest: str,
    meta: dict[str, str],
    shape: list[object],
    input_name: str,
    output_name: str,
    output_rank: int,
    probe: Callable[[np.ndarray], tuple[int, ...]],
) -> ModelInfo:
    """The checks every detector file passes, whatever runs it: metadata, input and output shapes."""
    if len(shape) != 4 or shape[1] not in (3, "3"):
        raise ModelError(f"{path}: expected an image input of shape [B, 3, H, W], got {shape}")
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

    if output_rank != 3:
        raise ModelError(f"{path}: expected a detection output of rank 3, got rank {output_rank}")
    # Dynamic exports name their output dims symbolically: one probe run on a blank image gives the
    # concrete shape, and doubles as the session warm-up (first runs allocate and are slow).
    probe_batch = shape[0] if isinstance(shape[0], int) else 1
    try:
        out_shape = probe(np.zeros((probe_batch, 3, *imgsz), dtype=np.float32))
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
    return ModelInfo(
        path=path,
        sha256=digest,
        names=names,
        imgsz=imgsz,
        stride=stride,
        layout=layout,
        batch=batch,
        input_name=input_name,
        output_name=output_name,
        metadata=meta,
        thresholds=thresholds,
    )


IR_SUFFIX = ".xml"
IR_RT_INFO = "streetwatch"  # rt_info section holding the ONNX metadata of the file it was made from
IR_WEIGHTS_KEY = "weights_sha256"
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
