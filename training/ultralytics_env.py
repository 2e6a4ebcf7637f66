"""Make ultralytics work offline on a CPU-only machine, before it is imported.

- Offline: no update checks, no pip installs at run time, no font or weight downloads.
- Its config dir holds a TTF copied as `Arial.ttf` / `Arial.Unicode.ttf` (plots need one).
- torchvision from PyPI is a CUDA build that fails to register `torchvision::nms` on CPU torch;
  ultralytics only needs `nms`, so a CPU kernel is registered, only when the real op is missing.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

_prepared = False


def default_config_dir() -> Path:
    return Path(os.environ.get("STREETWATCH_ULTRALYTICS_DIR", Path(tempfile.gettempdir()) / "streetwatch-ultralytics"))


def _install_font(config_dir: Path) -> None:
    import matplotlib

    source = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    for name in ("Arial.ttf", "Arial.Unicode.ttf"):
        target = config_dir / name
        if not target.exists():
            shutil.copyfile(source, target)


def register_torchvision_nms() -> bool:
    """Register a CPU `torchvision::nms` kernel if torchvision's own is missing. Returns True if it did."""
    import torch

    try:
        torch.ops.torchvision.nms  # noqa: B018 - attribute lookup raises if the op is not registered
        return False
    except (AttributeError, RuntimeError):
        pass

    lib = torch.library.Library("torchvision", "DEF")
    lib.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    # torchvision's import registers fake kernels for both ops; qnms (quantised) only needs to exist.
    lib.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")

    def _nms_cpu(dets: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
        # The engine's own NMS (same greedy torchvision semantics), so training and the edge agree.
        from streetwatch.inference.boxes import nms

        kept = nms(dets.detach().cpu().numpy(), scores.detach().cpu().numpy(), iou_threshold)
        return torch.from_numpy(kept).to(device=dets.device, dtype=torch.int64)

    lib.impl("nms", _nms_cpu, "CPU")
    # Keep the library object alive for the life of the process.
    globals()["_torchvision_lib"] = lib

    # torchvision.ops.nms refuses to run when its C++ extension failed to load; boxes.py's check
    # guards only nms/batched_nms, which the kernel above now provides.
    import torchvision.ops.boxes

    torchvision.ops.boxes._assert_has_ops = lambda: None
    return True


def prepare_ultralytics(config_dir: Path | None = None) -> None:
    """Idempotent: set the offline environment and the nms kernel, before `import ultralytics`."""
    global _prepared
    if _prepared:
        return
    config_dir = config_dir or default_config_dir()
    config_dir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ.setdefault("YOLO_AUTOINSTALL", "0")
    os.environ.setdefault("YOLO_VERBOSE", "False")
    os.environ.setdefault("YOLO_CONFIG_DIR", str(config_dir))
    os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
    os.environ.setdefault("MPLCONFIGDIR", str(config_dir / "matplotlib"))
    _install_font(Path(os.environ["YOLO_CONFIG_DIR"]))
    register_torchvision_nms()
    _prepared = True


def yolo(model: str | os.PathLike[str], **kwargs: Any) -> Any:
    """`ultralytics.YOLO(model)` after `prepare_ultralytics()`."""
    prepare_ultralytics()
    from ultralytics import YOLO

    return YOLO(str(model), **kwargs)
