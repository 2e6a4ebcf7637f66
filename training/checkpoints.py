"""Loading PyTorch checkpoints without running their code. A `.pt` file is a pickle: loaded with
`weights_only=False` it may run anything it names (`os.system`, ...). Here a checkpoint's globals
are read first without loading it, only classes from modules a YOLO checkpoint needs are allowed,
and the load itself runs with `weights_only=True` under exactly that allow-list. Anything else is
refused with the names found, before any byte of it is unpickled."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from streetwatch.errors import InputError

# Modules whose classes a checkpoint may name: network layers, containers and plain values.
ALLOWED_PREFIXES = ("torch.", "ultralytics.nn.", "ultralytics.utils.", "collections.", "numpy.", "pathlib.")
ALLOWED_NAMES = frozenset({"builtins.set", "builtins.frozenset", "builtins.slice", "builtins.range", "_codecs.encode"})
# Callables that execute or import whatever they are given: never allowed, whatever the module.
FORBIDDEN_NAMES = frozenset({"eval", "exec", "compile", "getattr", "setattr", "__import__", "system", "popen"})


def _allowed(name: str) -> bool:
    if name.rsplit(".", 1)[-1] in FORBIDDEN_NAMES:
        return False
    return name in ALLOWED_NAMES or name.startswith(ALLOWED_PREFIXES)


def _resolve(name: str) -> Any:
    module, _, attribute = name.rpartition(".")
    target: Any = importlib.import_module(module)
    return getattr(target, attribute)


def load_checkpoint(path: Path) -> Any:
    """The checkpoint's contents (a dict for ultralytics), loaded with weights_only=True."""
    import torch
    from torch.serialization import get_unsafe_globals_in_checkpoint, safe_globals

    try:
        names = sorted(set(get_unsafe_globals_in_checkpoint(str(path))))
    except Exception as exc:  # not a zip checkpoint, cut off, or no pickle inside
        raise InputError(f"{path} is not a readable PyTorch checkpoint: {exc}") from None
    refused = [n for n in names if not _allowed(n)]
    if refused:
        raise InputError(
            f"{path} names code a model checkpoint does not need ({', '.join(refused[:5])}); refusing to load it "
            "(a .pt file can run what it names: use only checkpoints from a trusted source)"
        )
    allowed = [_resolve(n) for n in names]
    with safe_globals(allowed):
        return torch.load(path, map_location="cpu", weights_only=True)
