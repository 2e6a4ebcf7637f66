"""`streetwatch train`, `streetwatch eval`, `streetwatch export`: ultralytics training, ONNX evaluation, releases."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from streetwatch.errors import InputError
from streetwatch.inference.runtime_names import RUNTIME_NAMES


def register(subparsers: argparse._SubParsersAction) -> None:
    _register_train(subparsers)
    _register_eval(subparsers)
    _register_export(subparsers)
    _register_quantize(subparsers)


def _register_train(subparsers: argparse._SubParsersAction) -> None:
    from streetwatch.training.recipes import DEFAULT_RECIPE, recipe_names

    p = subparsers.add_parser(
        "train",
        help="train a detector with ultralytics (offline, reproducible, resumable)",
        description="Train a YOLO detector on an ultralytics data.yaml. The run folder keeps weights/last.pt "
        "(every epoch), best.pt, results.csv and streetwatch-run.json (config, seed, data hash, versions). "
        "Resume an interrupted run with --resume RUN.",
    )
    p.add_argument("--data", type=Path, help="ultralytics data.yaml")
    p.add_argument(
        "--base",
        help="base weights: .pt (fine-tune), a release's .onnx (fine-tune it further), or a model YAML (scratch)",
    )
    p.add_argument("--epochs", type=int, help="epochs to train")
    p.add_argument("--imgsz", type=int, default=320, help="training image size, multiple of 32 (default 320)")
    p.add_argument("--batch", type=int, default=16, help="batch size (default 16)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument(
        "--recipe", default=DEFAULT_RECIPE, choices=recipe_names(), help=f"augmentation recipe ({DEFAULT_RECIPE})"
    )
    p.add_argument("--project", type=Path, default=Path("runs/train"), help="folder for run folders (runs/train)")
    p.add_argument("--name", default="street", help="run name (default street; numbered if taken)")
    p.add_argument("--workers", type=int, default=2, help="data loader workers (default 2)")
    p.add_argument("--device", default="cpu", help="cpu, a GPU index, or 0,1 for multi-GPU DDP (default cpu)")
    p.add_argument(
        "--time", type=float, default=None, help="wall-time budget in hours; epochs are fitted to it (ultralytics)"
    )
    p.add_argument("--patience", type=int, default=50, help="early-stopping patience in epochs (default 50)")
    p.add_argument("--close-mosaic", type=int, default=10, help="turn mosaic off for the last N epochs (default 10)")
    p.add_argument("--warmup-epochs", type=float, default=3.0, help="LR warm-up epochs (default 3)")
    p.add_argument("--lr0", type=float, default=None, help="initial learning rate (ultralytics' default if unset)")
    p.add_argument("--fraction", type=float, default=1.0, help="fraction of the train split to use (default 1.0)")
    p.add_argument("--cache", action="store_true", help="cache decoded images in RAM")
    p.add_argument("--no-val", action="store_true", help="skip validation after each epoch")
    p.add_argument("--resume", type=Path, metavar="RUN", help="resume this run folder (or its last.pt)")
    p.set_defaults(func=run_train)


def run_train(args: argparse.Namespace) -> int:
    from streetwatch.training.train import resume_training, run_training

    if args.resume:
        run = resume_training(args.resume)
        print(f"run {run}")
        return 0
    missing = [
        flag for flag, value in (("--data", args.data), ("--base", args.base), ("--epochs", args.epochs)) if not value
    ]
    if missing:
        raise InputError(f"train needs {', '.join(missing)} (or --resume RUN)")
    from streetwatch.training.config import TrainConfig

    config = TrainConfig(
        data=args.data,
        base=args.base,
        epochs=args.epochs,
        imgsz=args.imgsz,
        batch=args.batch,
        seed=args.seed,
        recipe=args.recipe,
        project=args.project,
        name=args.name,
        workers=args.workers,
        device=args.device,
        time=args.time,
        patience=args.patience,
        close_mosaic=args.close_mosaic,
        warmup_epochs=args.warmup_epochs,
        lr0=args.lr0,
        fraction=args.fraction,
        cache=args.cache,
        val=not args.no_val,
    )
    run = run_training(config)
    print(f"run {run}")
    return 0


def _register_eval(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "eval",
        help="evaluate a detector (ONNX, or a release's INT8 OpenVINO IR) on a labelled split",
        description="Run an ONNX model through the edge Detector on a data.yaml split and report per-class "
        "P, R, mAP50, mAP50-95, the false-alarm rate on negative images at the operating threshold, "
        "a confusion matrix and PR curves (PNG).",
    )
    p.add_argument("--model", type=Path, required=True, help="ONNX model")
    p.add_argument("--data", type=Path, required=True, help="ultralytics data.yaml")
    p.add_argument("--split", default="test", help="split to evaluate (default test)")
    p.add_argument("--conf", type=float, default=0.25, help="operating confidence threshold (default 0.25)")
    p.add_argument(
        "--save", type=Path, default=None, help="folder for report.json and plots (default runs/eval/<model>)"
    )
    p.add_argument("--threads", type=int, default=None, help="inference threads")
    p.add_argument(
        "--runtime",
        default=None,
        choices=RUNTIME_NAMES,
        help="the Detector's runtime (default onnxruntime; openvino for an OpenVINO IR, the only one that runs it)",
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON instead of a table")
    p.add_argument(
        "--teacher",
        type=Path,
        default=None,
        help="also report agreement with this reference ONNX (e.g. the COCO teacher) on person and vehicles",
    )
    p.add_argument(
        "--agreement-classes",
        nargs="+",
        default=None,
        metavar="CLASS",
        help="classes for --teacher agreement (default person and vehicles; e.g. umbrella dining_table for "
        "the vending proxies)",
    )
    p.set_defaults(func=run_eval)


def run_eval(args: argparse.Namespace) -> int:
    from streetwatch.training.evaluate import evaluate

    if not 0.0 <= args.conf <= 1.0:
        raise InputError(f"--conf must be in [0, 1], got {args.conf}")
    save = args.save or Path("runs/eval") / args.model.stem
    report = evaluate(
        args.model,
        args.data,
        split=args.split,
        operating_conf=args.conf,
        save_dir=save,
        threads=args.threads,
        runtime=args.runtime,
    )
    if args.json:
        sys.stdout.write(report.to_json())
    else:
        print(report.table())
        print(f"plots and report.json in {save}")
    if args.teacher:
        from streetwatch.models.taxonomy import VEHICLE_CLASSES
        from streetwatch.training.agreement import agreement, agreement_table
        from streetwatch.training.data_files import load_data_spec

        rows = agreement(
            args.model,
            args.teacher,
            load_data_spec(args.data).images(args.split),
            args.agreement_classes or ("person", *VEHICLE_CLASSES),
            conf=args.conf,
            threads=args.threads,
        )
        print(f"agreement with {args.teacher.name} at conf>{args.conf} (teacher boxes as truth, IoU 0.5):")
        print(agreement_table(rows))
        (save / "agreement.json").write_text(json.dumps([r.as_dict() for r in rows], indent=2) + "\n")
    return 0


def _register_export(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "export",
        help="export a training run as a model release (ONNX, model card, manifest)",
        description="Export RUN's best checkpoint to ONNX with metadata, check ONNX vs PyTorch parity on real "
        "images, evaluate it, optionally quantise to static INT8 (accepted only if mAP50 drops by at most "
        "--max-int8-drop), and write models/releases/<name>/.",
    )
    p.add_argument("run", type=Path, help="run folder (runs/train/NAME) or a .pt checkpoint")
    p.add_argument("--name", required=True, help="release name, e.g. street-v1")
    p.add_argument("--version", default="1.0.0", help="model version recorded in the ONNX and manifest")
    p.add_argument("--int8", action="store_true", help="also ship a static INT8 QDQ model if it passes the gate")
    p.add_argument("--max-int8-drop", type=float, default=0.01, help="largest mAP50 drop INT8 may cost (0.01)")
    p.add_argument("--data", type=Path, default=None, help="data.yaml (default: the run's training data)")
    p.add_argument("--split", default=None, help="evaluation split (default test, else val)")
    p.add_argument("--imgsz", type=int, default=None, help="ONNX input size (default: the run's imgsz)")
    p.add_argument("--calibration-images", type=int, default=128, help="INT8 calibration images (default 128)")
    p.add_argument("--releases-dir", type=Path, default=None, help="where releases live (default models/releases)")
    p.add_argument("--notes", type=Path, default=None, help="markdown file appended to the model card")
    p.add_argument(
        "--no-thresholds",
        action="store_true",
        help="do not choose per-class operating thresholds on the val split (the release then carries none)",
    )
    p.add_argument("--force", action="store_true", help="replace an existing release of that name")
    p.set_defaults(func=run_export)


def run_export(args: argparse.Namespace) -> int:
    from streetwatch.models.manifest import read_manifest
    from streetwatch.models.registry import RELEASES_DIR
    from streetwatch.training.export import ExportOptions, export_release

    options = ExportOptions(
        run=args.run,
        name=args.name,
        version=args.version,
        releases_dir=args.releases_dir or RELEASES_DIR,
        data=args.data,
        split=args.split,
        imgsz=args.imgsz,
        int8=args.int8,
        max_int8_drop=args.max_int8_drop,
        calibration_images=args.calibration_images,
        force=args.force,
        thresholds=not args.no_thresholds,
        notes=args.notes.read_text(encoding="utf-8") if args.notes else "",
    )
    folder = export_release(options)
    manifest = read_manifest(folder / "manifest.json")
    print(f"{folder}: {', '.join(f.file for f in manifest.files)}")
    return 0


def _register_quantize(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "quantize",
        help="add an INT8 file to a release, if it passes the accuracy gate",
        description="Quantise RELEASE's fp32 file to INT8 (NNCF for OpenVINO, then onnxruntime's static QDQ), "
        "evaluate fp32 and each attempt on the release's held-out split through the edge's Detector, ship the "
        "first one whose mAP50 drop is at most --max-int8-drop, and update the manifest and model card.",
    )
    p.add_argument("release", help="release name (models/releases/NAME) or folder")
    p.add_argument("--data", type=Path, required=True, help="the release's data.yaml, e.g. data/v1/data.yaml")
    p.add_argument("--max-int8-drop", type=float, default=0.01, help="largest mAP50 drop INT8 may cost (0.01)")
    p.add_argument("--calibration-images", type=int, default=128, help="INT8 calibration images (default 128)")
    p.add_argument("--workdir", type=Path, default=None, help="evaluation reports (default runs/quantize/NAME)")
    p.set_defaults(func=run_quantize)


def run_quantize(args: argparse.Namespace) -> int:
    from streetwatch.models.registry import RELEASES_DIR
    from streetwatch.training.release_int8 import add_int8

    folder = Path(args.release)
    if not folder.is_dir():
        folder = RELEASES_DIR / args.release
    if not (folder / "manifest.json").is_file():
        raise InputError(
            f"{args.release}: expected a release folder with a manifest.json (or a name in {RELEASES_DIR})"
        )
    workdir = args.workdir or Path("runs") / "quantize" / folder.name
    add_int8(
        folder,
        args.data,
        workdir,
        calibration_images=args.calibration_images,
        max_drop=args.max_int8_drop,
    )
    return 0
