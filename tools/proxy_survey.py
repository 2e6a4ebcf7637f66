"""Which stall proxies a detector sees together on a folder of street photos.

    python tools/proxy_survey.py PHOTOS [--model models/releases/coco-teacher/yolov8n-coco.onnx] [--conf 0.35]

Counts photos with an umbrella or a table, and boxes: umbrellas with a person beside them,
umbrellas with a table beside them and tables with a person beside them, "beside" as the vending rule means it
(`streetwatch.edge.vending.near`, keeper_near_frac 0.5), and lists the umbrella + person photos
so that a person can look at them (docs/vending.md quotes the figures for garbage-cn).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from streetwatch.edge.vending import near
from streetwatch.inference.detector import Detector

NEAR_FRAC = 0.5  # VendingRule.keeper_near_frac's default


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", type=Path)
    parser.add_argument("--model", type=Path, default=Path("models/releases/coco-teacher/yolov8n-coco.onnx"))
    parser.add_argument("--conf", type=float, default=0.35)
    args = parser.parse_args()
    detector = Detector(args.model, conf=args.conf, threads=1)
    names = [n.replace(" ", "_") for n in detector.names]
    files = sorted(p for p in args.photos.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    keys = ("photos", "with umbrella or table", "umbrellas with a person beside", "umbrellas with a table beside")
    counts = dict.fromkeys((*keys, "tables with a person beside"), 0)
    pairs: list[str] = []
    for path in files:
        frame = cv2.imread(str(path))
        if frame is None:
            continue
        counts["photos"] += 1
        found = detector.detect(frame)
        by_class = {
            c: found.xyxy[[names[int(k)] == c for k in found.class_id]] for c in ("umbrella", "dining_table", "person")
        }
        umbrellas, tables, people = by_class["umbrella"], by_class["dining_table"], by_class["person"]
        if not len(umbrellas) and not len(tables):
            continue
        counts["with umbrella or table"] += 1

        def beside(boxes: np.ndarray, others: np.ndarray) -> int:  # boxes (N, 4), others (M, 4)
            return sum(bool(near(b, others, NEAR_FRAC).any()) for b in boxes) if len(others) else 0

        counts["umbrellas with a person beside"] += beside(umbrellas, people)
        counts["umbrellas with a table beside"] += beside(umbrellas, tables)
        counts["tables with a person beside"] += beside(tables, people)
        if beside(umbrellas, people):
            pairs.append(path.name)
    for key, value in counts.items():
        print(f"{key}: {value}")
    print("umbrella + person photos:", ", ".join(pairs) or "none")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
