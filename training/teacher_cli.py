"""`streetwatch teacher ...`: rebuild the COCO teacher (YOLOv8n) from its int8-weight TFLite file.

recover   TFLite -> ultralytics checkpoint (.pt), BatchNorm recalibrated on real images
parity    rebuilt checkpoint vs the TFLite graph (float re-run and interpreter)
release   the whole models/releases/coco-teacher folder: .pt, ONNX, manifest, model card
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from streetwatch.errors import InputError

DEFAULT_TFLITE = "weights/yolov8n_coco_int8.tflite"  # under the shared data folder
DEFAULT_YOLOX = "weights/yolox_nano_coco.onnx"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "teacher",
        help="rebuild the COCO teacher (YOLOv8n) from its TFLite file",
        description="Rebuild the COCO teacher (ultralytics YOLOv8n) from its int8-weight TFLite file.",
    )
    sub = parser.add_subparsers(dest="teacher_command", metavar="SUBCOMMAND", required=True)

    rec = sub.add_parser("recover", help="TFLite -> ultralytics checkpoint", description="TFLite -> .pt checkpoint.")
    _common(rec)
    rec.add_argument("--out", type=Path, required=True, help="checkpoint to write, e.g. teacher.pt")
    rec.add_argument("--calibration-images", type=int, default=32, help="street images for BatchNorm statistics")
    rec.set_defaults(func=_recover)

    par = sub.add_parser(
        "parity",
        help="compare a rebuilt checkpoint with the TFLite graph",
        description="Raw-output and detection parity of a checkpoint vs the TFLite float re-run and interpreter.",
    )
    _common(par)
    par.add_argument("--checkpoint", type=Path, required=True, help="checkpoint written by `teacher recover`")
    par.add_argument("--images", type=int, default=8, help="street images besides ultralytics' bus.jpg/zidane.jpg")
    par.set_defaults(func=_parity)

    rel = sub.add_parser(
        "release",
        help="build the release folder (.pt, ONNX, manifest, model card)",
        description="Rebuild, export, measure parity and YOLOX-Nano agreement, write manifest.json and README.md.",
    )
    _common(rel)
    rel.add_argument("--out", type=Path, default=Path("models/releases/coco-teacher"), help="release folder")
    rel.add_argument("--yolox", type=Path, default=None, help=f"YOLOX-Nano ONNX (default: SHARED/{DEFAULT_YOLOX})")
    rel.add_argument("--calibration-images", type=int, default=32, help="street images for BatchNorm statistics")
    rel.add_argument("--parity-images", type=int, default=16, help="street images for parity (plus bus/zidane)")
    rel.add_argument("--agreement-images", type=int, default=600, help="street images for agreement (0: all)")
    rel.add_argument("--no-baseline", action="store_true", help="skip scoring the TFLite interpreter vs YOLOX-Nano")
    rel.set_defaults(func=_release)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tflite", type=Path, default=None, help=f"TFLite file (default: SHARED/{DEFAULT_TFLITE})")
    p.add_argument(
        "--shared-data",
        type=Path,
        default=None,
        help="shared data folder (default: $STREETWATCH_SHARED_DATA or ../shared/data)",
    )


def _paths(args: argparse.Namespace) -> tuple[Path, Path]:
    """The shared data folder and the TFLite file, checked to be an ultralytics YOLO export (fails in a second)."""
    from streetwatch.training.teacher.images import shared_data_dir
    from streetwatch.training.teacher.tflite_graph import read_tflite
    from streetwatch.training.teacher.tflite_meta import read_export_metadata

    shared = shared_data_dir(args.shared_data)
    tflite = args.tflite or shared / DEFAULT_TFLITE
    if not tflite.is_file():
        raise InputError(f"TFLite file not found: {tflite} (pass --tflite or --shared-data)")
    read_tflite(tflite)
    read_export_metadata(tflite)
    return shared, tflite


def _positive(name: str, value: int, minimum: int = 1) -> int:
    if value < minimum:
        raise InputError(f"--{name} must be at least {minimum}, got {value}")
    return value


def _recover(args: argparse.Namespace) -> int:
    from streetwatch.training.teacher.images import load_batch_nhwc
    from streetwatch.training.teacher.rebuild import recover, save_checkpoint
    from streetwatch.training.teacher.release import calibration_images

    shared, tflite = _paths(args)
    count = _positive("calibration-images", args.calibration_images, 2)
    batch = load_batch_nhwc(calibration_images(shared, count), 640).transpose(0, 3, 1, 2)
    model, report, meta = recover(tflite, batch)
    save_checkpoint(model, report, meta, args.out)
    print(
        f"{args.out}: {report.convs} convs ({report.int8_convs} int8) from {tflite.name}, BatchNorm from "
        f"{report.calibration_images} images, eval change {report.eval_change_after_calibration:.2g}"
    )
    return 0


def _parity(args: argparse.Namespace) -> int:

    from streetwatch.training.checkpoints import load_checkpoint
    from streetwatch.training.teacher.images import load_batch_nhwc
    from streetwatch.training.teacher.parity import decode, detection_agreement, raw_diff
    from streetwatch.training.teacher.rebuild import raw_output
    from streetwatch.training.teacher.release import parity_images
    from streetwatch.training.teacher.tflite_run import TfliteRunner
    from streetwatch.training.ultralytics_env import prepare_ultralytics

    shared, tflite = _paths(args)
    if not args.checkpoint.is_file():
        raise InputError(f"checkpoint not found: {args.checkpoint}")
    prepare_ultralytics()
    model = load_checkpoint(args.checkpoint)["model"].float().eval()
    paths = parity_images(shared, _positive("images", args.images, 0))
    runners = {"float": TfliteRunner(tflite, "float"), "interpreter": TfliteRunner(tflite, "interpreter")}
    pt = []
    ref: dict[str, list] = {k: [] for k in runners}
    for path in paths:
        x = load_batch_nhwc([path], 640)
        pt.append(raw_output(model, x.transpose(0, 3, 1, 2))[0])
        for k, r in runners.items():
            ref[k].append(r.run(x)[0])
    ours = [decode(r, 0.25) for r in pt]
    result = {}
    for k, outs in ref.items():
        agreement = detection_agreement(ours, [decode(r, 0.25) for r in outs], 0.9, 0.25)
        result[k] = {"raw": raw_diff(pt, outs).__dict__, "detections": agreement.__dict__}
    print(json.dumps({"images": len(paths), **result}, indent=2))
    return 0


def _release(args: argparse.Namespace) -> int:
    from streetwatch.training.teacher.release import ReleaseOptions, build_release

    shared, tflite = _paths(args)
    yolox = args.yolox or shared / DEFAULT_YOLOX
    if not yolox.is_file():
        raise InputError(f"YOLOX-Nano ONNX not found: {yolox} (pass --yolox)")
    opts = ReleaseOptions(
        tflite=tflite,
        out=args.out,
        shared_data=shared,
        yolox=yolox,
        calibration_images=_positive("calibration-images", args.calibration_images, 2),
        parity_images=_positive("parity-images", args.parity_images, 0),
        agreement_images=_positive("agreement-images", args.agreement_images, 0),
        agreement_baseline=not args.no_baseline,
    )
    manifest = build_release(opts)
    p = manifest.provenance.parity.pt_vs_float_tflite
    print(
        f"{opts.out}: {manifest.primary.file} sha256 {manifest.primary.sha256[:12]}…; vs float TFLite max |box| "
        f"{p.max_abs_box_px:.3g} px, max |score| {p.max_abs_score:.3g}, min cosine {p.min_cosine:.6f}"
    )
    return 0
