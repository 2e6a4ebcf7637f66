"""The detection engine: numpy + OpenCV + onnxruntime, no torch (edge boxes run this).

`from streetwatch.inference import Detector` works as before, but the names load on first use
(PEP 562): importing a light submodule (`inference.cli`, `inference.runtime_names`) runs this file,
and every `streetwatch` command builds its parser from such submodules, so an eager import here
would load onnxruntime and OpenCV before any command starts.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the names' types, for type checkers and the import graph
    from streetwatch.files import sha256_file
    from streetwatch.inference.detections import Detections
    from streetwatch.inference.detector import Detector
    from streetwatch.inference.model_file import ModelInfo

__all__ = ["Detections", "Detector", "ModelInfo", "sha256_file"]

_HOMES = {
    "Detections": "streetwatch.inference.detections",
    "Detector": "streetwatch.inference.detector",
    "ModelInfo": "streetwatch.inference.model_file",
    "sha256_file": "streetwatch.files",
}


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # later lookups skip this function
    return value
