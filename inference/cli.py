"""`streetwatch detect IMAGE|DIR|VIDEO --model M [--save DIR] [--json]`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TextIO

from streetwatch.errors import InputError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "detect",
        help="run a detector on images, a folder or a video",
        description="Run an ONNX detector on an image, a folder of images or a video file. "
        "Prints one JSON line per frame with --json; draws boxes into --save.",
    )
    parser.add_argument("source", type=Path, help="image file, folder of images, or video file")
    parser.add_argument("--model", type=Path, default=None, help="ONNX model (default: the default release)")
    parser.add_argument(
        "--conf",
        type=float,
        default=0.25,
        help="confidence threshold (default 0.25) for classes the release sets no operating threshold for",
    )
    parser.add_argument(
        "--no-release-thresholds",
        action="store_true",
        help="ignore the per-class operating thresholds the release carries; use --conf for every class",
    )
    parser.add_argument("--iou", type=float, default=0.7, help="NMS IoU threshold (default 0.7)")
    parser.add_argument("--classes", nargs="+", default=None, help="keep only these class names")
    parser.add_argument("--threads", type=int, default=None, help="onnxruntime threads (default: all cores)")
    parser.add_argument("--save", type=Path, default=None, help="write annotated images / video here")
    parser.add_argument(
        "--json",
        nargs="?",
        const="-",
        default=None,
        metavar="FILE",
        help="write detections as JSON lines to FILE (or stdout when no FILE)",
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(func=run)


def _default_model() -> Path:
    from streetwatch.models.registry import default_model_path

    return default_model_path()


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from streetwatch.files import list_images
    from streetwatch.inference.detector import Detector
    from streetwatch.inference.draw import draw_detections
    from streetwatch.inference.media import VideoReader, kind_of, read_image

    kind = kind_of(args.source)
    detector = Detector(
        args.model or _default_model(),
        conf=args.conf,
        iou=args.iou,
        classes=args.classes,
        threads=args.threads,
        release_thresholds=not args.no_release_thresholds,
    )
    names = detector.names
    out: TextIO | None = None
    if args.json == "-":
        out = sys.stdout
    elif args.json:
        out = open(args.json, "w", encoding="utf-8")  # noqa: SIM115 - closed in finally
    if args.save:
        args.save.mkdir(parents=True, exist_ok=True)
    counts = 0
    try:
        if kind == "video":
            reader = VideoReader(args.source)
            writer = None
            for frame in tqdm(
                reader,
                total=reader.frame_count or None,
                unit="frame",
                disable=args.no_progress,
                desc=args.source.name,
            ):
                detections = detector.detect(frame.image)
                counts += len(detections)
                _emit(out, frame.source, frame.index, detections.to_records(names))
                if args.save:
                    if writer is None:
                        writer = _open_writer(args.save / f"{args.source.stem}.mp4", reader.fps, frame.image.shape)
                    writer.write(draw_detections(frame.image, detections, names))
            if writer is not None:
                writer.release()
        else:
            paths = [args.source] if kind == "image" else list_images(args.source)
            if not paths:
                raise InputError(f"{args.source}: no images found")
            for path in tqdm(paths, unit="img", disable=args.no_progress or len(paths) == 1):
                try:
                    image = read_image(path)
                except InputError as exc:
                    if kind == "image":
                        raise
                    print(f"skipping {exc}", file=sys.stderr)
                    continue
                detections = detector.detect(image)
                counts += len(detections)
                _emit(out, path, 0, detections.to_records(names))
                if args.save:
                    import cv2

                    target = args.save / path.name
                    if not cv2.imwrite(str(target), draw_detections(image, detections, names)):
                        raise InputError(f"cannot write {target}")
    finally:
        if out is not None and out is not sys.stdout:
            out.close()
    if out is not sys.stdout:
        print(
            f"{counts} detections" + (f"; annotated output in {args.save}" if args.save else ""),
            file=sys.stderr,
        )
    return 0


def _emit(out: TextIO | None, source: Path, index: int, records: list[dict[str, object]]) -> None:
    if out is not None:
        out.write(json.dumps({"source": str(source), "frame": index, "detections": records}, ensure_ascii=False))
        out.write("\n")


def _open_writer(path: Path, fps: float, shape: tuple[int, ...]):  # type: ignore[no-untyped-def]
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (shape[1], shape[0]))
    if not writer.isOpened():
        raise InputError(f"cannot open a video writer for {path}")
    return writer
