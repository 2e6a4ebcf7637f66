"""`streetwatch bench privacy`: what public copies and plate reading cost the edge box per case.

On a 1920x1080 frame with a parked car (a fixture car with a drawn plate), three other cars and
four people, each scaled into the street:
- hiding: pixelate and blur of the people and plate regions of one frame (the filter alone);
- the whole evidence of one parking case (`EvidenceBuilder.build`: four JPEGs, and, as configured
  by default, the plate read on two frames and the three dwell views with its crop, and the public
  copies with the plate finder on the other cars), against the same build with plates and privacy
  off, in one run.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "data" / "plates"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("privacy", help="public copies and plate reading: cost per image and per case")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs of each measurement")
    parser.add_argument("--threads", type=int, default=1, help="onnxruntime threads of the plate reader")
    parser.set_defaults(func=run)


def street():  # -> (frame (1080, 1920, 3) uint8, Detections)
    import cv2
    import numpy as np

    from streetwatch.inference.detections import Detections
    from streetwatch.models.taxonomy import CLASS_NAMES

    rng = np.random.default_rng(0)
    # Texture at the scale of a street scene (pure pixel noise would make every JPEG several MB).
    frame = cv2.resize(
        rng.integers(60, 200, (108, 192, 3), dtype=np.uint8), (1920, 1080), interpolation=cv2.INTER_CUBIC
    )
    boxes, classes = [], []
    for i, (name, x) in enumerate(
        (
            ("rendered-00-near.jpg", 100),
            ("rendered-05-near.jpg", 600),
            ("rendered-01-near.jpg", 1050),
            ("rendered-03-near.jpg", 1500),
        )
    ):
        car = cv2.imread(str(FIXTURE / name))
        car = cv2.resize(car, None, fx=1.3, fy=1.3)
        h, w = car.shape[:2]
        y = 600 - 40 * i
        frame[y : y + h, x : x + w] = car
        boxes.append([x, y, x + w, y + h])
        classes.append(CLASS_NAMES.index("car"))
    for x in (450, 900, 1350, 1800):
        boxes.append([x, 300, x + 90, 560])
        classes.append(CLASS_NAMES.index("person"))
    n = len(boxes)
    scene = Detections(
        xyxy=np.array(boxes, dtype=np.float32),
        confidence=np.full(n, 0.9, dtype=np.float32),
        class_id=np.array(classes),
        tracker_id=np.arange(n),
    )
    return frame, scene


def run(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    import numpy as np

    from streetwatch.benchmarks.timing import Timing
    from streetwatch.contract import ModelRef
    from streetwatch.edge.config import CameraConfig
    from streetwatch.edge.events import Moment, VehicleView, ViolationEvent
    from streetwatch.edge.evidence import EvidenceBuilder
    from streetwatch.edge.plates import PlateReader
    from streetwatch.edge.privacy import Blur, Pixelate, private_regions
    from streetwatch.edge.rules import MAX_VIEWS
    from streetwatch.models.taxonomy import CLASS_NAMES, ViolationType

    reader = PlateReader(threads=args.threads)
    frame, scene = street()
    parked = scene[np.array([0])]
    regions = private_regions(frame, scene, CLASS_NAMES, reader, keep=parked)
    print(f"frame 1920x1080: {len(regions)} regions to hide (4 people, plate-like boxes found on 3 other cars)")

    def timed(label: str, work) -> Timing:
        samples = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            work()
            samples.append((time.perf_counter() - started) * 1000)
        return Timing(label, samples)

    pixelate = timed("pixelate", lambda: Pixelate().apply(frame, regions))
    blur = timed("blur", lambda: Blur().apply(frame, regions))
    find = timed("find", lambda: private_regions(frame, scene, CLASS_NAMES, reader, keep=parked))
    print(
        f"per frame: pixelate {pixelate.median:.1f} ms, blur {blur.median:.1f} ms (the filter alone); "
        f"finding the regions (plate finder on 3 cars) {find.median:.0f} ms"
    )

    camera = CameraConfig.model_validate(
        {
            "id": "cam-1",
            "source": "clip.mp4",
            "location": {"lat": 31.2, "lon": 121.5},
            "zones": [{"id": "z", "type": "no_parking", "polygon": [[0, 0], [1920, 0], [1920, 1080], [0, 1080]]}],
        }
    )
    now = datetime.now(UTC)
    x1, y1, x2, y2 = (int(v) for v in parked.xyxy[0])
    event = ViolationEvent(
        "cam-1",
        "z",
        ViolationType.ILLEGAL_PARKING,
        "05-05",
        False,
        Moment(t=0.0, wall=now - timedelta(minutes=6), frame=frame, detections=parked, scene=scene),
        Moment(t=360.0, wall=now, frame=frame.copy(), detections=parked, scene=scene),
        views=tuple(VehicleView(now, frame[y1:y2, x1:x2].copy()) for _ in range(MAX_VIEWS)),
    )
    common = {"device_id": "box-1", "model": ModelRef(name="m", version="1", sha256="0" * 64)}
    common |= {"names": CLASS_NAMES, "tz": ZoneInfo("Asia/Shanghai")}
    bare = EvidenceBuilder(**common)
    full = EvidenceBuilder(**common, privacy=Pixelate(), plates=reader)
    base = timed("bare", lambda: bare.build(event, camera))
    case = timed("full", lambda: full.build(event, camera))
    bundle = full.build(event, camera)
    sizes = sum(len(i.jpeg) for i in bundle.images), sum(len(i.jpeg) for i in bare.build(event, camera).images)
    print(
        f"per parking case: evidence with plate + public copies {case.median:.0f} ms, without {base.median:.0f} ms "
        f"(x{case.median / base.median:.1f}); plate {bundle.report.plate.text if bundle.report.plate else None}; "
        f"upload {sizes[0] / 1024:.0f} KiB vs {sizes[1] / 1024:.0f} KiB ({len(bundle.images)} vs 4 images)"
    )
    return 0
