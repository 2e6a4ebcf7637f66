"""`streetwatch bench engine`: the cost of our pre/post-processing around onnxruntime.

In one process, on the same 1920x1080 BGR frames:
  (a) bare `session.run` on a pre-made input tensor (the floor),
  (b) `Detector.detect` (letterbox + blob + run + decode + NMS + mapping),
  (c) ultralytics `YOLO(model).predict` on the same ONNX file (when the train extra is installed).
Prints medians and the ratios (b)/(a) (target <= 1.05 at 640 input) and (c)/(b) (target > 1).
(a) and (b) are interleaved in a shuffled order every round so that noise hits both alike;
(c) runs in a phase of its own (torch's threads keep spinning after each call).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import numpy as np


def register(benches: argparse._SubParsersAction) -> None:
    parser = benches.add_parser(
        "engine",
        help="Detector overhead vs bare onnxruntime and vs ultralytics predict",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--model", type=Path, default=None, help="ONNX detector (default: the default release)")
    parser.add_argument("--images", type=Path, default=None, help="folder of images to scale to 1920x1080")
    parser.add_argument("--repeats", type=int, default=50, help="timed runs per method (default 50)")
    parser.add_argument("--threads", type=int, default=2, help="onnxruntime intra-op threads (default 2)")
    parser.add_argument("--no-ultralytics", action="store_true", help="skip (c)")
    parser.set_defaults(func=run)


def _frames(images: Path | None, count: int = 8) -> list[np.ndarray]:
    import cv2

    from streetwatch.files import list_images
    from streetwatch.inference.media import read_image

    paths = list_images(images)[:count] if images else []
    if paths:
        return [cv2.resize(read_image(p), (1920, 1080), interpolation=cv2.INTER_LINEAR) for p in paths]
    rng = np.random.default_rng(0)  # no images given: textured noise at full HD
    return [cv2.GaussianBlur(rng.integers(0, 255, (1080, 1920, 3), dtype=np.uint8), (9, 9), 3) for _ in range(count)]


def _interleaved(methods: dict[str, Callable[[int], object]], repeats: int) -> dict[str, list[float]]:
    """Time each method `repeats` times, in a shuffled order every round, so that machine noise
    and after-effects of one method (cache eviction, thread wake-ups) hit every method alike."""
    import random
    import time

    order = list(methods)
    rng = random.Random(0)
    for fn in methods.values():  # warm-up
        for i in range(3):
            fn(i)
    samples: dict[str, list[float]] = {name: [] for name in methods}
    for i in range(repeats):
        rng.shuffle(order)
        for name in order:
            start = time.perf_counter()
            methods[name](i)
            samples[name].append((time.perf_counter() - start) * 1000.0)
    return samples


def run(args: argparse.Namespace) -> int:
    from streetwatch.benchmarks.timing import Timing
    from streetwatch.inference import Detector
    from streetwatch.inference.detector import to_blob
    from streetwatch.inference.letterbox import LetterboxGeometry, letterbox_into, letterbox_to_blob

    model = args.model
    if model is None:
        from streetwatch.models.registry import default_model_path

        model = default_model_path()
    frames = _frames(args.images)
    detector = Detector(model, threads=args.threads)
    h, w = detector.imgsz
    batch = detector.info.batch or 1
    hwc = np.empty((batch, h, w, 3), np.uint8)
    for i in range(batch):
        letterbox_into(frames[0], hwc[i], LetterboxGeometry.compute(frames[0].shape[:2], (h, w)))
    tensor = to_blob(hwc)
    feeds = {detector.info.input_name: tensor}

    session = detector.runtime.session  # type: ignore[attr-defined]  # the onnxruntime runtime
    raw_output = session.run([detector.info.output_name], feeds)[0]

    blob = np.zeros((3, h, w), np.float32)

    def preprocess_only(i: int) -> None:  # the same steps Detector takes, steady state (padding painted)
        frame = frames[i % len(frames)]
        letterbox_to_blob(frame, blob, LetterboxGeometry.compute(frame.shape[:2], (h, w)), pad=False)

    methods = {
        "(a) session.run": lambda i: session.run(None, feeds),
        "(b) Detector.detect": lambda i: detector.detect(frames[i % len(frames)]),
        "    pre-processing only": preprocess_only,
        "    decode + NMS only": lambda i: detector._decode(raw_output[0]),
    }
    samples = _interleaved(methods, args.repeats)
    if not args.no_ultralytics:
        # Measured in a phase of its own: torch's worker threads keep spinning after a call and
        # would slow whatever ran next in an interleaved loop.
        try:
            from streetwatch.training.ultralytics_env import yolo

            reference = yolo(model, task="detect")
            reference.predict(frames[0], imgsz=[h, w], verbose=False, device="cpu")  # warm-up + setup
            samples |= _interleaved(
                {
                    "(c) ultralytics predict": lambda i: reference.predict(
                        frames[i % len(frames)], imgsz=[h, w], verbose=False, device="cpu"
                    )
                },
                args.repeats,
            )
        except ImportError:
            print("ultralytics not installed (train extra): skipping (c)")
    timings = {name: Timing(name, v) for name, v in samples.items()}

    print(
        f"model {model} input {h}x{w} batch {batch}; frames 1920x1080; threads {args.threads}; {args.repeats} runs each"
    )
    for t in timings.values():
        print(f"  {t.label:<26} median {t.median:7.2f} ms   p90 {t.percentile(90):7.2f} ms")
    a, b = timings["(a) session.run"].median, timings["(b) Detector.detect"].median
    print(f"  ratio (b)/(a) = {b / a:.3f}   (target <= 1.05: overhead of our pre/post-processing)")
    overhead = timings["    pre-processing only"].median + timings["    decode + NMS only"].median
    print(f"  pre+post overhead {overhead:.2f} ms = {overhead / a:.3f} of (a)  (noise-free view of the same ratio)")
    if "(c) ultralytics predict" in timings:
        c = timings["(c) ultralytics predict"].median
        print(f"  ratio (c)/(b) = {c / b:.3f}   (target > 1: ours faster than ultralytics predict)")
    return 0
