"""Read a TFLite flatbuffer with the schema bundled with ai-edge-litert, and rewrite its weights as float.

The teacher's file uses dynamic-range quantisation: conv weights are int8 with one scale per tensor
(zero point 0); activations and biases are float32. `dequantised_model_bytes()` writes the same graph
with float32 weights, so the interpreter runs it in float ("the float re-run"): the reference that the
rebuilt PyTorch model must match, free of the interpreter's on-the-fly activation quantisation.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from streetwatch.errors import ModelError

_FLOAT32 = 0
_INT32 = 2
_INT8 = 9
_NUMPY_TYPES = {0: np.float32, 1: np.float16, 2: np.int32, 3: np.uint8, 4: np.int64, 9: np.int8}


@dataclass(frozen=True)
class Tensor:
    index: int
    name: str
    shape: tuple[int, ...]
    dtype: str  # numpy dtype name of the stored data
    data: npt.NDArray[np.generic] | None  # constant data, or None for activations
    scale: float | None  # per-tensor quantisation scale (int8 weights), else None

    def dequantised(self) -> npt.NDArray[np.float32]:
        """The constant as float32: int8 * scale for quantised weights, the float data otherwise."""
        if self.data is None:
            raise ModelError(f"tensor {self.index} ({self.name}) is an activation, not a constant")
        if self.dtype == "int8":
            if self.scale is None:
                raise ModelError(f"tensor {self.index} ({self.name}) is int8 without a quantisation scale")
            return self.data.astype(np.float32) * np.float32(self.scale)
        return self.data.astype(np.float32)


@dataclass(frozen=True)
class Operator:
    index: int
    kind: str  # builtin operator name, e.g. "CONV_2D"
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    options: object  # the schema's *OptionsT object (stride, padding, ...)


@dataclass(frozen=True)
class TfliteGraph:
    path: Path
    tensors: tuple[Tensor, ...]
    operators: tuple[Operator, ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]

    def tensor(self, index: int) -> Tensor:
        return self.tensors[index]

    def producer(self) -> dict[int, Operator]:
        """tensor index -> the operator that writes it."""
        return {t: op for op in self.operators for t in op.outputs}


def _schema():
    try:
        from ai_edge_litert import schema_py_generated
    except ImportError as exc:  # pragma: no cover - ai-edge-litert is in the train extra
        raise ModelError("reading TFLite files needs ai-edge-litert (the train extra)") from exc
    return schema_py_generated


def _load_model_object(path: Path):
    if not path.is_file():
        raise ModelError(f"TFLite file not found: {path}")
    buf = path.read_bytes()
    # A TFLite flatbuffer carries the file identifier "TFL3" at bytes 4..8.
    if len(buf) < 8 or buf[4:8] != b"TFL3":
        raise ModelError(f"{path}: not a TFLite model (expected the flatbuffer identifier 'TFL3' at byte 4)")
    schema = _schema()
    try:
        return schema.ModelT.InitFromPackedBuf(buf, 0)
    except Exception as exc:
        raise ModelError(f"{path}: corrupt TFLite flatbuffer ({type(exc).__name__}: {exc})") from None


def read_tflite(path: str | os.PathLike[str]) -> TfliteGraph:
    """Parse the one subgraph of a TFLite model into tensors (with constant data) and operators."""
    path = Path(path)
    model = _load_model_object(path)
    schema = _schema()
    if not model.subgraphs or len(model.subgraphs) != 1:
        raise ModelError(f"{path}: expected one subgraph, got {len(model.subgraphs or [])}")
    graph = model.subgraphs[0]
    op_names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    codes = [max(c.builtinCode, c.deprecatedBuiltinCode) for c in model.operatorCodes]

    tensors = []
    for i, t in enumerate(graph.tensors):
        if t.type not in _NUMPY_TYPES:
            raise ModelError(f"{path}: tensor {i} has unsupported TFLite type {t.type}")
        dtype = np.dtype(_NUMPY_TYPES[t.type])
        shape = tuple(int(s) for s in (t.shape if t.shape is not None else []))
        raw = model.buffers[t.buffer].data if t.buffer < len(model.buffers) else None
        data = None
        if raw is not None and len(raw):
            data = np.frombuffer(np.asarray(raw, dtype=np.uint8).tobytes(), dtype=dtype).reshape(shape)
        scale = None
        q = t.quantization
        if t.type == _INT8 and q is not None and q.scale is not None:
            if len(q.scale) != 1:
                raise ModelError(f"{path}: tensor {i} has {len(q.scale)} scales; expected one scale per tensor")
            zero = int(q.zeroPoint[0]) if q.zeroPoint is not None and len(q.zeroPoint) else 0
            if zero != 0:
                raise ModelError(f"{path}: tensor {i} has zero point {zero}; expected symmetric int8 weights")
            scale = float(q.scale[0])
        name = t.name.decode() if isinstance(t.name, bytes) else str(t.name)
        tensors.append(Tensor(i, name, shape, dtype.name, data, scale))

    operators = [
        Operator(
            index=i,
            kind=op_names.get(codes[op.opcodeIndex], f"OP_{codes[op.opcodeIndex]}"),
            inputs=tuple(int(j) for j in op.inputs),
            outputs=tuple(int(j) for j in op.outputs),
            options=op.builtinOptions,
        )
        for i, op in enumerate(graph.operators)
    ]
    return TfliteGraph(
        path=path,
        tensors=tuple(tensors),
        operators=tuple(operators),
        inputs=tuple(int(j) for j in graph.inputs),
        outputs=tuple(int(j) for j in graph.outputs),
    )


def dequantised_model_bytes(path: str | os.PathLike[str]) -> bytes:
    """The same TFLite graph with every int8 weight replaced by its float32 dequantisation."""
    import flatbuffers

    path = Path(path)
    model = _load_model_object(path)
    graph = model.subgraphs[0]
    for t in graph.tensors:
        q = t.quantization
        if t.type != _INT8 or q is None or q.scale is None:
            continue
        buffer = model.buffers[t.buffer]
        if buffer.data is None or not len(buffer.data):
            raise ModelError(f"{path}: int8 tensor {t.name!r} is an activation; expected weight-only quantisation")
        ints = np.frombuffer(np.asarray(buffer.data, dtype=np.uint8).tobytes(), dtype=np.int8)
        zero = int(q.zeroPoint[0]) if q.zeroPoint is not None and len(q.zeroPoint) else 0
        floats = ((ints.astype(np.float32) - zero) * np.float32(q.scale[0])).astype("<f4")
        buffer.data = np.frombuffer(floats.tobytes(), dtype=np.uint8)
        t.type = _FLOAT32
        t.quantization = None
    builder = flatbuffers.Builder(1 << 22)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())
