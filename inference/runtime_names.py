"""The inference runtimes' names, in a module that imports nothing heavy.

    RuntimeName     "onnxruntime" | "openvino": a runtime runtimes.py builds
    RuntimeChoice   those or "auto": what `model.runtime` and `--runtime` options accept

Command-line parsers and the edge config's schema name the runtimes without loading onnxruntime or
OpenVINO (runtimes.py imports both); runtimes.py registers its runtimes under these names. The
Literal types are the source (a type checker cannot read a Literal built from a tuple at run time);
the tuples are derived from them.
"""

from __future__ import annotations

from typing import Literal, get_args

RuntimeName = Literal["onnxruntime", "openvino"]
# "auto": OpenVINO where its extra is installed (measured faster on x86 CPUs, docs/benchmarks.md),
# else onnxruntime; runtimes.resolve_runtime decides.
RuntimeChoice = Literal["auto", RuntimeName]

RUNTIME_NAMES: tuple[RuntimeName, ...] = get_args(RuntimeName)
RUNTIME_CHOICES: tuple[RuntimeChoice, ...] = get_args(RuntimeChoice)
