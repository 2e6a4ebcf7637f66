"""Inference runtimes behind `Detector`: a small ABC and a registry table.

    runtime = open_runtime("openvino", model_info, threads=2)
    output = runtime.run(blob)          # (B, 3, H, W) float32 -> (B, C, A) float32

- `onnxruntime` (default, always installed): the CPU execution provider.
- `openvino` (in the `edge` extra, or alone as the `openvino` extra): Intel's CPU runtime,
  measured faster on x86 edge boxes (docs/benchmarks.md). Inference precision is pinned to f32:
  on CPUs with bf16/AMX units OpenVINO would otherwise run in bf16 and drift from the exported
  model's outputs.

Every runtime runs the same ONNX file, which `open_model` has already read and checked (metadata,
shapes, a probe run): a runtime only executes it. OpenVINO also runs a release's INT8 file, an
OpenVINO IR quantised by NNCF (training/quantize_nncf.py): the Q/DQ ONNX that NNCF writes runs
right in onnxruntime but loses almost every score in OpenVINO 2026.4 (measured on street-v1.1), so
OpenVINO gets its own IR. Unknown names are refused with the nearest
valid one suggested (as frigate's detector plugins and ultralytics' export formats do).
"""

from __future__ import annotations

import difflib
from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from streetwatch.errors import InputError, ModelError
from streetwatch.inference.model_file import IR_SUFFIX, ModelInfo, session_options
from streetwatch.inference.runtime_names import RUNTIME_CHOICES, RuntimeName

Blob = npt.NDArray[np.float32]  # (B, 3, H, W) RGB in [0, 1]


class Runtime(ABC):
    """Executes one detector graph on CPU."""

    name: ClassVar[RuntimeName]

    def __init__(self, info: ModelInfo, threads: int | None) -> None:
        self.info = info
        self.threads = threads

    @abstractmethod
    def run(self, blob: Blob) -> npt.NDArray[np.float32]:
        """(B, 3, H, W) float32 -> the model's raw output (B, 4 + nc, A) or (B, N, 6), owned by the caller."""

    def warm_up(self, batch: int = 1) -> None:
        """First runs allocate and pick kernels; run them at construction (frigate plugins/onnx.py)."""
        blob = np.zeros((batch, 3, *self.info.imgsz), dtype=np.float32)
        for _ in range(2):
            self.run(blob)


class OnnxRuntime(Runtime):
    """onnxruntime's CPU provider, full graph optimisation, bounded intra-op threads."""

    name = "onnxruntime"

    def __init__(self, info: ModelInfo, threads: int | None, session: object | None = None) -> None:
        super().__init__(info, threads)
        import onnxruntime as ort

        if info.path.suffix == IR_SUFFIX:
            raise InputError(
                f"{info.path}: an OpenVINO IR (a release's INT8 file) runs on runtime 'openvino', not 'onnxruntime'"
            )
        # `open_model` already opened (and warmed up) a session with these options: reuse it.
        self.session = session or ort.InferenceSession(
            str(info.path), sess_options=session_options(threads), providers=["CPUExecutionProvider"]
        )

    def run(self, blob: Blob) -> npt.NDArray[np.float32]:
        return self.session.run([self.info.output_name], {self.info.input_name: blob})[0]  # type: ignore[attr-defined,no-any-return]


class OpenVinoRuntime(Runtime):
    """OpenVINO's CPU plugin: one compiled model per batch size (static shapes run faster than a
    dynamic batch axis), latency hint, one stream, f32 precision, `threads` inference threads."""

    name = "openvino"

    def __init__(self, info: ModelInfo, threads: int | None) -> None:
        super().__init__(info, threads)
        try:
            import openvino as ov
        except ImportError:
            raise ModelError(
                "model.runtime 'openvino' needs the openvino extra: pip install -c constraints.txt "
                '"streetwatch[openvino]"'
            ) from None
        self._ov = ov
        self.core = ov.Core()
        self.model = self.core.read_model(str(info.path))
        self._compiled: dict[int, object] = {}
        self._requests: dict[int, object] = {}
        self.warm_up(info.batch or 1)

    def _request(self, batch: int) -> object:
        request = self._requests.get(batch)
        if request is None:
            model = self.model.clone()
            model.reshape({model.inputs[0]: [batch, 3, *self.info.imgsz]})
            config: dict[str, object] = {
                "PERFORMANCE_HINT": "LATENCY",
                "NUM_STREAMS": 1,
                "INFERENCE_PRECISION_HINT": "f32",
            }
            if self.threads:
                config["INFERENCE_NUM_THREADS"] = self.threads
            compiled = self.core.compile_model(model, "CPU", config)
            self._compiled[batch] = compiled
            request = self._requests[batch] = compiled.create_infer_request()  # type: ignore[attr-defined]
        return request

    def run(self, blob: Blob) -> npt.NDArray[np.float32]:
        request = self._request(len(blob))
        request.infer({0: blob})  # type: ignore[attr-defined]
        # The output tensor is the request's own buffer, overwritten by the next run: copy it out.
        return np.array(request.get_output_tensor(0).data, dtype=np.float32)  # type: ignore[attr-defined]


# One runtime for each name in runtime_names.py (tests/inference/test_runtime_names.py checks both ways).
RUNTIMES: dict[str, type[Runtime]] = {OnnxRuntime.name: OnnxRuntime, OpenVinoRuntime.name: OpenVinoRuntime}


def open_runtime(name: str, info: ModelInfo, threads: int | None, session: object | None = None) -> Runtime:
    """The runtime registered under `name`; `session` is the onnxruntime session `open_model` made."""
    name = resolve_runtime(name)
    runtime = RUNTIMES.get(name)
    if runtime is None:
        near = difflib.get_close_matches(name, RUNTIME_CHOICES, n=1)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        raise InputError(f"unknown runtime {name!r}: expected one of {', '.join(RUNTIME_CHOICES)}{hint}")
    if name == OnnxRuntime.name:
        return OnnxRuntime(info, threads, session)
    return runtime(info, threads)


def resolve_runtime(name: str) -> str:
    """`auto` -> the runtime it stands for on this machine; other names unchanged."""
    if name != "auto":
        return name
    return OpenVinoRuntime.name if openvino_available() else OnnxRuntime.name


def openvino_available() -> bool:
    try:
        import openvino  # noqa: F401
    except ImportError:
        return False
    return True
