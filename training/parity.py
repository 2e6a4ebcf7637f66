"""ONNX vs PyTorch on real images: the exported graph must compute what the checkpoint computes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from streetwatch.errors import ModelError
from streetwatch.training.onnx_files import image_blob

BOX_ATOL = 0.05  # pixels at model input size
SCORE_ATOL = 2e-3


@dataclass(frozen=True)
class ParityReport:
    images: int
    max_box_diff: float  # pixels
    max_score_diff: float
    passed: bool

    def as_dict(self) -> dict[str, object]:
        return {
            "images": self.images,
            "max_box_diff_px": round(self.max_box_diff, 6),
            "max_score_diff": round(self.max_score_diff, 6),
            "box_atol_px": BOX_ATOL,
            "score_atol": SCORE_ATOL,
            "passed": self.passed,
        }


def check_parity(pt_path: Path, onnx_path: Path, images: Sequence[Path]) -> ParityReport:
    """Raw outputs (B, 4 + nc, A) of both on the same letterboxed blobs; raises ModelError on a mismatch."""
    import onnxruntime as ort
    import torch

    from streetwatch.training.ultralytics_env import yolo

    if not images:
        raise ModelError("parity check needs at least one real image")
    model = yolo(pt_path).model.float().fuse().eval()
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    inp = session.get_inputs()[0]
    imgsz = (int(inp.shape[2]), int(inp.shape[3]))
    box_diff = score_diff = 0.0
    for path in images:
        blob = image_blob(path, imgsz)
        with torch.inference_mode():
            expected = model(torch.from_numpy(blob))
        expected = (expected[0] if isinstance(expected, (list, tuple)) else expected).numpy()
        actual = session.run(None, {inp.name: blob})[0]
        if actual.shape != expected.shape:
            raise ModelError(f"parity: ONNX output {actual.shape} differs from PyTorch output {expected.shape}")
        box_diff = max(box_diff, float(np.abs(actual[:, :4] - expected[:, :4]).max()))
        score_diff = max(score_diff, float(np.abs(actual[:, 4:] - expected[:, 4:]).max()))
    passed = box_diff <= BOX_ATOL and score_diff <= SCORE_ATOL
    report = ParityReport(len(images), box_diff, score_diff, passed)
    if not passed:
        raise ModelError(
            f"parity check failed on {len(images)} images: max box diff {box_diff:.4f} px (allowed {BOX_ATOL}), "
            f"max score diff {score_diff:.5f} (allowed {SCORE_ATOL})"
        )
    return report
