"""`streetwatch teacher release`: checkpoint, ONNX, parity and agreement figures, manifest and model card.

One command rebuilds the whole release folder from the TFLite file and the shared street images.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from streetwatch.errors import ModelError
from streetwatch.files import sha256_file
from streetwatch.models.manifest import ReleaseManifest
from streetwatch.training.release import model_file, now_utc, write_release
from streetwatch.training.teacher import images as img
from streetwatch.training.teacher.parity import DetectionAgreement, RawDiff
from streetwatch.training.teacher.rebuild import RebuildReport, recover, save_checkpoint
from streetwatch.training.teacher.yolox import ClassAgreement

log = logging.getLogger(__name__)

MODEL_NAME = "coco-teacher"
MODEL_VERSION = "1.0.0"
TAXONOMY_VERSION = "coco80"
ONNX_FILE = "yolov8n-coco.onnx"
PT_FILE = "yolov8n-coco.pt"
OPSET = 19
LICENCE = "AGPL-3.0 (Ultralytics YOLOv8n COCO weights)"


@dataclass(frozen=True)
class ReleaseOptions:
    tflite: Path
    out: Path
    shared_data: Path
    yolox: Path
    calibration_images: int = 32
    parity_images: int = 16
    agreement_images: int = 600  # 0: every street image
    agreement_baseline: bool = True  # also score the shipped TFLite interpreter against YOLOX-Nano
    imgsz: int = 640


@dataclass(frozen=True)
class ParityFigures:
    images: list[str]
    pt_vs_float_tflite: RawDiff
    pt_vs_interpreter: RawDiff
    float_tflite_vs_interpreter: RawDiff
    onnx_vs_pt: RawDiff
    train_vs_eval_error: float  # head outputs, BN on batch vs running statistics: relative L2 error
    train_vs_eval_error_identity_bn: float  # the same for the naive identity-BN rebuild
    detections_pt_vs_float_tflite: DetectionAgreement
    detections_pt_vs_interpreter: DetectionAgreement


@dataclass(frozen=True)
class AgreementFigures:
    images: int
    source: str
    ours: list[ClassAgreement]
    baseline_interpreter: list[ClassAgreement] | None


def parity_images(shared: Path, count: int) -> list[Path]:
    """ultralytics' bundled bus.jpg and zidane.jpg, then street images disjoint from the calibration set."""
    from ultralytics.utils import ASSETS

    bundled = [Path(ASSETS) / n for n in ("bus.jpg", "zidane.jpg") if (Path(ASSETS) / n).is_file()]
    return bundled + img.spread(img.street_images(shared)[1::2], count)


def calibration_images(shared: Path, count: int) -> list[Path]:
    return img.spread(img.street_images(shared)[0::2], count)


def measure_parity(model: Any, tflite: Path, onnx_path: Path, paths: list[Path], imgsz: int) -> ParityFigures:
    import onnxruntime as ort

    from streetwatch.inference.model_file import session_options
    from streetwatch.training.teacher.parity import decode, detection_agreement, raw_diff
    from streetwatch.training.teacher.rebuild import identity_batchnorm, raw_output, train_vs_eval_error
    from streetwatch.training.teacher.tflite_run import TfliteRunner

    float_run, interp = TfliteRunner(tflite, "float"), TfliteRunner(tflite, "interpreter")
    session = ort.InferenceSession(str(onnx_path), session_options(None), providers=["CPUExecutionProvider"])
    pt, fl, it, ox = [], [], [], []
    for path in paths:
        x = img.load_batch_nhwc([path], imgsz)  # (1, S, S, 3)
        nchw = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
        pt.append(raw_output(model, nchw)[0])
        fl.append(float_run.run(x)[0])
        it.append(interp.run(x)[0])
        ox.append(session.run(None, {session.get_inputs()[0].name: nchw})[0][0])
    batch = img.load_batch_nhwc(paths[-8:], imgsz).transpose(0, 3, 1, 2)
    det = [decode(r, 0.25) for r in pt]
    return ParityFigures(
        images=[p.name for p in paths],
        pt_vs_float_tflite=raw_diff(pt, fl),
        pt_vs_interpreter=raw_diff(pt, it),
        float_tflite_vs_interpreter=raw_diff(fl, it),
        onnx_vs_pt=raw_diff(ox, pt),
        train_vs_eval_error=train_vs_eval_error(model, batch),
        train_vs_eval_error_identity_bn=train_vs_eval_error(identity_batchnorm(model), batch),
        detections_pt_vs_float_tflite=detection_agreement(det, [decode(r, 0.25) for r in fl], 0.9, 0.25),
        detections_pt_vs_interpreter=detection_agreement(det, [decode(r, 0.25) for r in it], 0.9, 0.25),
    )


def measure_agreement(opts: ReleaseOptions, onnx_path: Path, conf: float = 0.25, iou: float = 0.5) -> AgreementFigures:
    from streetwatch.inference import Detector
    from streetwatch.inference.letterbox import LetterboxGeometry
    from streetwatch.inference.postprocess import RawBoxes
    from streetwatch.training.teacher.parity import decode
    from streetwatch.training.teacher.tflite_run import TfliteRunner
    from streetwatch.training.teacher.yolox import YoloxNano, street_agreement

    paths = img.street_images(opts.shared_data)
    if opts.agreement_images:
        paths = img.spread(paths, opts.agreement_images)
    detector = Detector(onnx_path, conf=conf, iou=0.7)
    reference = YoloxNano(opts.yolox)
    interp = TfliteRunner(opts.tflite, "interpreter") if opts.agreement_baseline else None
    ours, refs, base = [], [], []
    for i, path in enumerate(paths):
        frame = img.read_bgr(path)
        d = detector.detect(frame)
        ours.append(RawBoxes(d.xyxy, d.confidence, d.class_id.astype(np.int64)))
        refs.append(reference.detect(frame, conf=conf))
        if interp is not None:
            raw = decode(interp.run(img.letterbox_rgb01(frame, opts.imgsz)[None])[0], conf)
            geometry = LetterboxGeometry.compute(frame.shape[:2], (opts.imgsz, opts.imgsz))
            base.append(RawBoxes(geometry.to_source(raw.xyxy), raw.confidence, raw.class_id))
        if (i + 1) % 100 == 0:
            log.info("agreement: %d/%d images", i + 1, len(paths))
    return AgreementFigures(
        images=len(paths),
        source="garbage-cn street images (../shared/data)",
        ours=street_agreement(ours, refs, iou, conf),
        baseline_interpreter=street_agreement(base, refs, iou, conf) if interp is not None else None,
    )


def export_onnx(pt_path: Path, out_path: Path, imgsz: int, names: dict[int, str]) -> Path:
    """ultralytics' ONNX export (fixed batch 1, raw layout), then our metadata keys beside theirs."""
    from streetwatch.training.onnx_files import set_release_metadata
    from streetwatch.training.ultralytics_env import yolo

    with tempfile.TemporaryDirectory() as tmp:
        staged = Path(tmp) / pt_path.name
        shutil.copyfile(pt_path, staged)
        exported = Path(
            yolo(staged).export(format="onnx", imgsz=imgsz, opset=OPSET, simplify=True, dynamic=False, batch=1)
        )
        out_path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(exported, out_path)
    set_release_metadata(
        out_path,
        name=MODEL_NAME,
        version=MODEL_VERSION,
        description="Ultralytics YOLOv8n COCO-80, rebuilt from its int8-weight TFLite export",
        taxonomy_version=TAXONOMY_VERSION,
        names=names,
    )
    return out_path


def check_onnx(path: Path, imgsz: int) -> None:
    import onnx

    model = onnx.load(str(path))
    opset = max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    shape_in = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    shape_out = [d.dim_value for d in model.graph.output[0].type.tensor_type.shape.dim]
    anchors = sum((imgsz // s) ** 2 for s in (8, 16, 32))
    if opset > OPSET or shape_in != [1, 3, imgsz, imgsz] or shape_out != [1, 84, anchors]:
        raise ModelError(f"{path}: opset {opset}, input {shape_in}, output {shape_out}; expected the fixed raw layout")


def build_release(opts: ReleaseOptions) -> ReleaseManifest:
    """Write checkpoint, ONNX, manifest.json and README.md into opts.out; return the manifest."""
    opts.out.mkdir(parents=True, exist_ok=True)
    calib = calibration_images(opts.shared_data, opts.calibration_images)
    log.info("rebuilding from %s with %d calibration images", opts.tflite, len(calib))
    model, report, meta = recover(opts.tflite, img.load_batch_nhwc(calib, opts.imgsz).transpose(0, 3, 1, 2))
    pt_path = save_checkpoint(model, report, meta, opts.out / PT_FILE)
    onnx_path = export_onnx(pt_path, opts.out / ONNX_FILE, opts.imgsz, dict(model.names))
    check_onnx(onnx_path, opts.imgsz)
    log.info("measuring parity")
    parity = measure_parity(
        model, opts.tflite, onnx_path, parity_images(opts.shared_data, opts.parity_images), opts.imgsz
    )
    log.info("measuring agreement with YOLOX-Nano")
    agreement = measure_agreement(opts, onnx_path)
    manifest = release_manifest(opts, report, model.names, onnx_path, pt_path, parity, agreement)
    return write_release(opts.out, manifest)


def _agreement_json(rows: list[ClassAgreement] | None) -> list[dict[str, Any]] | None:
    if rows is None:
        return None
    return [
        {
            "class": r.name,
            "ours": r.agreement.a_boxes,
            "yolox": r.agreement.b_boxes,
            "matched": r.agreement.matched,
            "precision": round(r.agreement.precision, 4),
            "recall": round(r.agreement.recall, 4),
        }
        for r in rows
    ]


def _detections_json(a: DetectionAgreement) -> dict[str, Any]:
    return {**asdict(a), "precision": round(a.precision, 4), "recall": round(a.recall, 4)}


def release_manifest(
    opts: ReleaseOptions,
    report: RebuildReport,
    names: dict[int, str],
    onnx_path: Path,
    pt_path: Path,
    parity: ParityFigures,
    agreement: AgreementFigures,
) -> ReleaseManifest:
    """The manifest of the rebuilt teacher (provenance `rebuilt`): parity and agreement, no evaluation."""
    return ReleaseManifest(
        name=MODEL_NAME,
        version=MODEL_VERSION,
        created_at=now_utc(),
        files=[model_file(onnx_path, "fp32")],
        classes=[names[i] for i in range(len(names))],
        taxonomy_version=TAXONOMY_VERSION,
        imgsz=(opts.imgsz, opts.imgsz),
        stride=32,
        layout="raw [1, 84, 8400], fp32, opset <= 19",
        licence=LICENCE,
        provenance={
            "kind": "rebuilt",
            "source": {
                "file": opts.tflite.name,
                "sha256": report.tflite_sha256,
                "exported_by": report.exported_by,
                "origin": "Ultralytics YOLOv8n trained on COCO-80, TFLite export with int8 weights "
                "(via GitHub omenxuinsgd/yolo8n_tflite)",
                "convs": report.convs,
                "int8_convs": report.int8_convs,
                "bn_calibration_images": report.calibration_images,
                "eval_change_after_bn_calibration": report.eval_change_after_calibration,
            },
            "checkpoint": {"file": pt_path.name, "sha256": sha256_file(pt_path)},
            "training_data": "COCO 2017 (by Ultralytics); no further training here",
            "parity": {
                "images": parity.images,
                "pt_vs_float_tflite": parity.pt_vs_float_tflite,
                "pt_vs_interpreter": parity.pt_vs_interpreter,
                "float_tflite_vs_interpreter": parity.float_tflite_vs_interpreter,
                "onnx_vs_pt": parity.onnx_vs_pt,
                "train_vs_eval_error": parity.train_vs_eval_error,
                "train_vs_eval_error_identity_bn": parity.train_vs_eval_error_identity_bn,
                "detections_pt_vs_float_tflite": _detections_json(parity.detections_pt_vs_float_tflite),
                "detections_pt_vs_interpreter": _detections_json(parity.detections_pt_vs_interpreter),
            },
            "agreement": {
                "images": agreement.images,
                "source": agreement.source,
                "conf": 0.25,
                "iou": 0.5,
                "ours": _agreement_json(agreement.ours),
                "baseline_tflite_interpreter": _agreement_json(agreement.baseline_interpreter),
            },
        },
        command="streetwatch teacher release --out models/releases/coco-teacher",
    )
