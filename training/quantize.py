"""Static INT8 (QDQ) quantisation, calibrated on real training images, and its gate.

Plans, tried in order until one keeps accuracy: NNCF's two for OpenVINO (quantize_nncf.py:
"nncf-decode-float", "nncf-head-float", OpenVINO IR files), then onnxruntime's `quantize_static`
(MinMax ranges, Q/DQ ONNX files):
  "decode-float": every conv in INT8; only the head's box decoding (DFL, anchors, the final concat of
                  pixel boxes with [0, 1] scores, which one INT8 scale cannot hold) stays float.
  "head-float":   the whole detection head stays float; backbone and neck in INT8.
The gate accepts a plan only if its mAP50 drop against fp32 is at most `max_drop` (0.01), measured
by the caller (export: `streetwatch eval`'s Detector on the held-out split).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from streetwatch.errors import ModelError
from streetwatch.training.onnx_files import image_blob
from streetwatch.training.quantize_nncf import NNCF_PLANS, quantize_nncf

ORT_PLANS = ("decode-float", "head-float")
PLANS = (*NNCF_PLANS, *ORT_PLANS)
MAX_MAP50_DROP = 0.01
_MODULE = re.compile(r"^/model\.(\d+)/")


class ImageCalibrationReader:
    """onnxruntime CalibrationDataReader over letterboxed real images."""

    def __init__(self, input_name: str, images: Sequence[Path], imgsz: tuple[int, int]) -> None:
        self.input_name, self.imgsz = input_name, imgsz
        self._iter: Iterator[Path] = iter(images)

    def get_next(self) -> dict[str, np.ndarray] | None:
        path = next(self._iter, None)
        return None if path is None else {self.input_name: image_blob(path, self.imgsz)}


def head_nodes(onnx_path: Path) -> tuple[list[str], list[str]]:
    """(decode nodes, all head nodes) of an ultralytics detector graph: the last `/model.N/` module."""
    import onnx

    nodes = [n.name for n in onnx.load(str(onnx_path)).graph.node]
    indices = [int(m.group(1)) for n in nodes if (m := _MODULE.match(n))]
    if not indices:
        raise ModelError(f"{onnx_path}: no '/model.N/' node names; not an ultralytics export, cannot find the head")
    prefix = f"/model.{max(indices)}/"
    head = [n for n in nodes if n.startswith(prefix)]
    decode = [n for n in head if not re.search(r"/(cv2|cv3|one2one_cv2|one2one_cv3)\.\d+/", n)]
    return decode, head


def quantize(
    fp32: Path,
    out: Path,
    calibration_images: Sequence[Path],
    plan: str = "decode-float",
    reader: object | None = None,
) -> Path:
    """Write a static INT8 QDQ model; `reader` overrides the image calibration (tests break it on purpose)."""
    import onnxruntime as ort
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    if plan not in ORT_PLANS:
        raise ModelError(f"unknown quantisation plan {plan!r}; expected one of {', '.join(ORT_PLANS)}")
    if reader is None and not calibration_images:
        raise ModelError("INT8 calibration needs real images; the training split has none")
    session = ort.InferenceSession(str(fp32), providers=["CPUExecutionProvider"])
    inp = session.get_inputs()[0]
    imgsz = (int(inp.shape[2]), int(inp.shape[3]))
    decode, head = head_nodes(fp32)
    quantize_static(
        str(fp32),
        str(out),
        reader or ImageCalibrationReader(inp.name, calibration_images, imgsz),
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        calibrate_method=CalibrationMethod.MinMax,
        nodes_to_exclude=decode if plan == "decode-float" else head,
    )
    return out


@dataclass(frozen=True)
class GateResult:
    plan: str
    fp32_map50: float
    int8_map50: float
    max_drop: float

    @property
    def drop(self) -> float:
        return self.fp32_map50 - self.int8_map50

    @property
    def accepted(self) -> bool:
        return self.drop <= self.max_drop

    def message(self) -> str:
        verdict = "accepted" if self.accepted else "REFUSED"
        return (
            f"INT8 ({self.plan}) {verdict}: mAP50 {self.int8_map50:.4f} vs fp32 {self.fp32_map50:.4f}, "
            f"drop {self.drop:.4f} (allowed {self.max_drop})"
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "plan": self.plan,
            "fp32_map50": round(self.fp32_map50, 4),
            "int8_map50": round(self.int8_map50, 4),
            "drop": round(self.drop, 4),
            "max_drop": self.max_drop,
            "accepted": self.accepted,
        }


def gate(plan: str, fp32_map50: float, int8_map50: float, max_drop: float = MAX_MAP50_DROP) -> GateResult:
    return GateResult(plan, fp32_map50, int8_map50, max_drop)


def quantize_with_gate(
    fp32: Path,
    workdir: Path,
    calibration_images: Sequence[Path],
    evaluate_map50: Callable[[Path], float],
    fp32_map50: float,
    max_drop: float = MAX_MAP50_DROP,
    log: Callable[[str], None] = print,
    plans: Sequence[str] = PLANS,
) -> tuple[Path | None, list[GateResult]]:
    """Try each plan; returns the first accepted INT8 file (or None) and every gate result."""
    unknown = [p for p in plans if p not in PLANS]
    if unknown:
        raise ModelError(f"unknown quantisation plan(s) {', '.join(unknown)}; expected some of {', '.join(PLANS)}")
    results = []
    decode, head = head_nodes(fp32)
    for plan in plans:
        if plan in NNCF_PLANS:
            out = workdir / f"{fp32.stem}-int8-{plan}.xml"
            log(f"INT8 ({plan}): NNCF for OpenVINO on {len(calibration_images)} calibration images")
            quantize_nncf(fp32, out, calibration_images, plan, decode if plan == "nncf-decode-float" else head)
        else:
            out = workdir / f"{fp32.stem}-int8-{plan}.onnx"
            quantize(fp32, out, calibration_images, plan=plan)
        result = gate(plan, fp32_map50, evaluate_map50(out), max_drop)
        log(result.message())
        results.append(result)
        if result.accepted:
            return out, results
    return None, results
