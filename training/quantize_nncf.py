"""INT8 with NNCF's post-training quantisation for OpenVINO: an OpenVINO IR (`.xml` + `.bin`) that the
edge's `openvino` runtime runs in INT8.

Why NNCF beside onnxruntime's `quantize_static` (quantize.py): the same layers in INT8, but ranges
chosen by the `MIXED` preset (symmetric weights, asymmetric activations) and fast bias correction
(each quantised conv's output mean shifted back to the float one on the calibration images).
onnxruntime's MinMax plans cost street-v1.1 0.0118 and 0.0130 mAP50 against a 0.01 gate.

Why an IR and not NNCF's Q/DQ ONNX: onnxruntime runs NNCF's ONNX output right, but OpenVINO
2026.4.1 (the edge's default runtime) ran that same file with almost every score gone (best
class score 0.007 against 0.87 on bus.jpg, street-v1.1), while the IR from NNCF's OpenVINO
backend keeps them. The IR carries the ONNX file's metadata (names, imgsz, stride, thresholds)
and its weights' sha256 in `rt_info` (inference/model_file.py reads and checks both).

Plans (tried by `quantize.quantize_with_gate` before onnxruntime's):
  "nncf-decode-float": every conv in INT8; the head's box decoding (DFL, anchors, the final concat of
                       pixel boxes with [0, 1] scores) stays float, as NNCF's own YOLOv8 examples keep
                       the detection tail out of INT8.
  "nncf-head-float":   the whole detection head stays float; backbone and neck in INT8.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from streetwatch.errors import ModelError
from streetwatch.files import sha256_file
from streetwatch.inference.model_file import IR_RT_INFO, IR_WEIGHTS_KEY
from streetwatch.training.onnx_files import image_blob, read_metadata

NNCF_PLANS = ("nncf-decode-float", "nncf-head-float")


def quantize_nncf(
    fp32: Path, out: Path, calibration_images: Sequence[Path], plan: str, float_nodes: Sequence[str]
) -> Path:
    """Write `out` (an `.xml`, its `.bin` beside it): the fp32 ONNX in INT8 except `float_nodes`."""
    import nncf
    import openvino as ov

    if plan not in NNCF_PLANS:
        raise ModelError(f"unknown NNCF plan {plan!r}; expected one of {', '.join(NNCF_PLANS)}")
    if not calibration_images:
        raise ModelError("INT8 calibration needs real images; the training split has none")
    if out.suffix != ".xml":
        raise ModelError(f"{out}: an OpenVINO IR is written as NAME.xml (+ NAME.bin)")
    model = ov.Core().read_model(str(fp32))
    shape = model.inputs[0].get_partial_shape()
    imgsz = (shape[2].get_length(), shape[3].get_length())
    calibration = nncf.Dataset(list(calibration_images), lambda path: image_blob(path, imgsz))
    quantized = nncf.quantize(
        model,
        calibration,
        preset=nncf.QuantizationPreset.MIXED,
        target_device=nncf.TargetDevice.CPU,
        subset_size=len(calibration_images),
        # ONNX node names survive into the OpenVINO graph; validate=False: a name the exporter did
        # not produce is no reason to refuse the others.
        ignored_scope=nncf.IgnoredScope(names=list(float_nodes), validate=False),
    )
    for key, value in read_metadata(fp32).items():
        quantized.set_rt_info(value, [IR_RT_INFO, key])
    # Weights are written first, then their hash into the .xml (the second save writes the same .bin).
    ov.save_model(quantized, str(out), compress_to_fp16=False)
    quantized.set_rt_info(sha256_file(out.with_suffix(".bin")), [IR_RT_INFO, IR_WEIGHTS_KEY])
    ov.save_model(quantized, str(out), compress_to_fp16=False)
    return out
