"""`streetwatch bench plates`: plate reading on the fixture, and its cost per case on the edge.

The fixture (tests/data/plates, built by tools/make_plate_fixture.py) holds real vehicle crops from
garbage-cn whose plates no person can read whole (the right answer is "unread"), the same cars
with a synthetic plate drawn on (the right answer is the drawn number), and real photos from
HyperLPR whose plates were read by hand (`real: true`; legible or not). Printed:
- read rate: share of legible plates the reader reports as read;
- exact-match accuracy: share of those reads that equal the label character for character;
- the same two on the real legible plates alone (n stated: a handful, so a coarse figure);
- guesses: reads reported on illegible plates (must be 0: unread is an answer, a guess is not);
- cost per case: one parking case reads the vehicle in two frames (confirmation, first seen) and
  runs the plate finder on the other vehicles of both frames; the median time of a read is
  measured here, and a case costs about 2 reads + 2 x (other vehicles) finder runs.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "data" / "plates"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("plates", help="plate reading: read rate, accuracy, guesses, cost per case")
    parser.add_argument("--fixture", type=Path, default=FIXTURE, help="folder with labels.yaml and the crops")
    parser.add_argument("--threads", type=int, default=1, help="onnxruntime threads of the reader")
    parser.add_argument("--repeats", type=int, default=3, help="timed passes over the fixture")
    parser.set_defaults(func=run)


def evaluate(fixture: Path, threads: int = 1, repeats: int = 1) -> dict[str, float]:
    import cv2
    import yaml

    from streetwatch.benchmarks.timing import Timing
    from streetwatch.edge.plates import PlateReader

    labels = yaml.safe_load((fixture / "labels.yaml").read_text(encoding="utf-8"))
    reader = PlateReader(threads=threads)
    read_ms: list[float] = []
    find_ms: list[float] = []
    legible = read = correct = guesses = illegible = 0
    real_legible = real_read = real_correct = 0
    for row in labels:
        image = cv2.imread(str(fixture / row["file"]))
        box = (0.0, 0.0, float(image.shape[1]), float(image.shape[0]))
        for attempt in range(repeats):
            started = time.perf_counter()
            result = reader.read(image, box)
            read_ms.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            reader.plate_boxes(image, [box])
            find_ms.append((time.perf_counter() - started) * 1000)
            if attempt:
                continue
            if row["text"] is None:
                illegible += 1
                guesses += result.read
                print(f"  {row['file']:<24} label: illegible  read: {result.text or 'unread'}")
            else:
                legible += 1
                read += result.read
                correct += result.text == row["text"]
                if row.get("real"):
                    real_legible += 1
                    real_read += result.read
                    real_correct += result.text == row["text"]
                print(f"  {row['file']:<24} label: {row['text']:<10} read: {result.text or 'unread'}")
    reads, finds = Timing("read", read_ms), Timing("find", find_ms)
    return {
        "legible": legible,
        "read_rate": read / legible if legible else 0.0,
        "exact_match": correct / read if read else 0.0,
        "exact_of_legible": correct / legible if legible else 0.0,
        "real_legible": real_legible,
        "real_read_rate": real_read / real_legible if real_legible else 0.0,
        "real_exact_match": real_correct / real_read if real_read else 0.0,
        "real_wrong": real_read - real_correct,
        "illegible": illegible,
        "guesses": guesses,
        "read_ms": reads.median,
        "read_p95_ms": reads.percentile(95),
        "find_ms": finds.median,
    }


def run(args: argparse.Namespace) -> int:
    result = evaluate(args.fixture, args.threads, args.repeats)
    legible, illegible = int(result["legible"]), int(result["illegible"])
    real = int(result["real_legible"])
    print(
        f"legible ({legible - real} synthetic plates on real cars, {real} real): {legible}; read rate "
        f"{result['read_rate']:.0%}, exact match {result['exact_match']:.0%} of reads "
        f"({result['exact_of_legible']:.0%} of all legible)"
    )
    print(
        f"real legible plates: n={real}; read rate {result['real_read_rate']:.0%}, exact match "
        f"{result['real_exact_match']:.0%} of reads (wrong reads: {int(result['real_wrong'])})"
    )
    print(f"illegible real plates: {illegible}; guesses (read when unreadable): {int(result['guesses'])}")
    per_case = 2 * result["read_ms"] + 2 * 3 * result["find_ms"]
    print(
        f"cost, {args.threads} thread(s): read median {result['read_ms']:.0f} ms (p95 {result['read_p95_ms']:.0f}), "
        f"plate finder {result['find_ms']:.0f} ms per vehicle; a parking case with 3 other vehicles per frame "
        f"about {per_case:.0f} ms"
    )
    return 0
