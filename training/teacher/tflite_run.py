"""Run the teacher's TFLite graph in the LiteRT interpreter: as shipped, or as its float re-run.

- "interpreter": the file as shipped, default op resolver (XNNPACK delegate). Its dynamic-range
  kernels quantise activations on the fly, so it is not the float function the weights define.
- "float": the same graph with dequantised float32 weights (`dequantised_model_bytes`), reference
  kernels without delegates: the float function the rebuilt PyTorch model must reproduce.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt

from streetwatch.training.teacher.tflite_graph import dequantised_model_bytes

Mode = Literal["float", "interpreter"]


class TfliteRunner:
    def __init__(self, path: str | os.PathLike[str], mode: Mode = "float", threads: int | None = None) -> None:
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        path = Path(path)
        if mode == "float":
            self._interpreter = Interpreter(
                model_content=dequantised_model_bytes(path),
                num_threads=threads,
                experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
            )
        else:
            self._interpreter = Interpreter(model_path=str(path), num_threads=threads)
        self._interpreter.allocate_tensors()
        self._input = self._interpreter.get_input_details()[0]
        self._output = self._interpreter.get_output_details()[0]
        self.mode = mode

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(int(s) for s in self._input["shape"])

    def run(self, image_nhwc: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """(1, H, W, 3) RGB 0-1 -> (1, 84, 8400) with xywh in input PIXELS (the file stores them normalised)."""
        self._interpreter.set_tensor(self._input["index"], np.ascontiguousarray(image_nhwc, dtype=np.float32))
        self._interpreter.invoke()
        out = self._interpreter.get_tensor(self._output["index"]).copy()
        out[:, :4] *= np.float32(self.input_shape[2])  # normalised xywh -> pixels, as ultralytics exports it
        return out
