"""Public copies: people found by the real detector and plates found by the real PP-OCRv4 finder are
hidden; the parked vehicle's plate still reads, another car's no longer does; originals untouched."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import cv2
import numpy as np
import pytest

from streetwatch.contract import ModelRef
from streetwatch.edge.events import Moment, ViolationEvent
from streetwatch.edge.evidence import EvidenceBuilder
from streetwatch.edge.privacy import Blur, Pixelate, private_regions
from streetwatch.inference.detections import Detections
from streetwatch.models.taxonomy import CLASS_NAMES, ViolationType

ROOT = Path(__file__).resolve().parents[2]
COCO = ROOT / "models" / "releases" / "coco-teacher" / "yolov8n-coco.onnx"
PLATES = ROOT / "tests" / "data" / "plates"
OFFENDER, OFFENDER_PLATE = "rendered-00-near.jpg", "鄂MFS8866"
OTHER, OTHER_PLATE = "rendered-05-near.jpg", "浙CDP0938"


@pytest.fixture(scope="module")
def reader():  # -> PlateReader
    from streetwatch.edge.plates import PlateReader

    return PlateReader(threads=1)


def detail_kept(hidden: np.ndarray, original: np.ndarray) -> float:
    """Correlation of the two regions' fine detail (grey minus a sigma-2 Gaussian): 1 for the original
    itself, about 0 when none of its detail survives (block edges of a pixelation are not its detail)."""

    def fine(image: np.ndarray) -> np.ndarray:
        grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float64)
        return (grey - cv2.GaussianBlur(grey, (0, 0), 2)).ravel()

    a, b = fine(hidden), fine(original)
    return float(np.corrcoef(a, b)[0, 1]) if a.std() > 0 else 0.0


@pytest.mark.parametrize("kind", [Pixelate, Blur])
def test_people_found_by_the_detector_are_hidden(kind: type, sample_images: list[Path]) -> None:
    if not COCO.is_file():
        pytest.skip("the COCO teacher release is not in models/releases/coco-teacher")
    from streetwatch.inference.detector import Detector

    frame = cv2.imread(str(next(p for p in sample_images if p.name == "bus.jpg")))
    detector = Detector(COCO, conf=0.3)
    scene = detector.detect(frame)
    people = scene.xyxy[scene.class_id == detector.names.index("person")]
    assert len(people) >= 3  # bus.jpg: people on the pavement
    before = frame.copy()
    hidden = kind().apply(frame, private_regions(frame, scene, detector.names, plates=None))
    assert np.array_equal(frame, before)  # the original is never edited
    for x1, y1, x2, y2 in people.astype(int):
        region, was = hidden[y1:y2, x1:x2], frame[y1:y2, x1:x2]
        assert detail_kept(region, was) < 0.25, (kind.__name__, (x1, y1, x2, y2))
    # Away from people and vehicles nothing changed (top rows: sky and buildings above the bus).
    mask = np.ones(frame.shape[:2], dtype=bool)
    for x1, y1, x2, y2 in scene.xyxy.astype(int):
        mask[max(0, y1 - 40) : y2 + 40, max(0, x1 - 40) : x2 + 40] = False  # boxes are padded by 5 %
    assert mask.sum() > 10_000 and np.array_equal(hidden[mask], frame[mask])


def two_cars() -> tuple[np.ndarray, Detections]:
    """A 1280x720 frame (H, W, 3): the parked car on the left, a passing car on the right, a person."""
    frame = np.full((720, 1280, 3), 90, dtype=np.uint8)
    boxes = []
    for name, x in ((OFFENDER, 100), (OTHER, 800)):
        car = cv2.imread(str(PLATES / name))
        h, w = car.shape[:2]
        frame[200 : 200 + h, x : x + w] = car
        boxes.append([x, 200, x + w, 200 + h])
    rng = np.random.default_rng(0)
    frame[100:400, 550:650] = rng.integers(0, 255, (300, 100, 3), dtype=np.uint8)  # a "person": all detail
    boxes.append([550, 100, 650, 400])
    scene = Detections(
        xyxy=np.array(boxes, dtype=np.float32),
        confidence=np.array([0.9, 0.9, 0.8], dtype=np.float32),
        class_id=np.array([CLASS_NAMES.index("car"), CLASS_NAMES.index("car"), CLASS_NAMES.index("person")]),
        tracker_id=np.array([1, 2, -1]),
    )
    return frame, scene


def build(reader, privacy, frame: np.ndarray, scene: Detections, violation=ViolationType.ILLEGAL_PARKING, packed=False):
    """One case's evidence; `packed`: as the evidence worker builds it, from the queued clean JPEGs."""
    from streetwatch.edge.config import CameraConfig

    camera = CameraConfig.model_validate(
        {
            "id": "cam-1",
            "source": "clip.mp4",
            "location": {"lat": 31.2, "lon": 121.5},
            "zones": [{"id": "z", "type": "no_parking", "polygon": [[0, 0], [1280, 0], [1280, 720], [0, 720]]}],
        }
    )
    now = datetime.now(UTC)
    parked = scene[np.array([0])]
    first = Moment(t=0.0, wall=now - timedelta(minutes=6), frame=frame, detections=parked, scene=scene)
    confirmed = Moment(t=360.0, wall=now, frame=frame, detections=parked, scene=scene)
    event = ViolationEvent("cam-1", "z", violation, "05-05", False, first, confirmed)
    builder = EvidenceBuilder(
        device_id="box-1",
        model=ModelRef(name="m", version="1", sha256="0" * 64),
        names=CLASS_NAMES,
        tz=ZoneInfo("Asia/Shanghai"),
        privacy=privacy,
        plate_finder=reader,
    )
    return builder.build(builder.pack(event) if packed else event, camera)


@pytest.mark.slow
@pytest.mark.parametrize("packed", [False, True], ids=["raw", "packed"])
def test_public_copy_keeps_the_offenders_plate_and_hides_the_rest(reader, packed: bool) -> None:
    frame, scene = two_cars()
    offender, other = (tuple(float(v) for v in b) for b in scene.xyxy[:2])
    assert reader.read(frame, other).text == OTHER_PLATE  # readable in the original: the test can fail
    bundle = build(reader, Pixelate(), frame, scene, packed=packed)
    refs = {r.role.value: r for r in bundle.report.evidence}
    images = {(i.role.value, i.public): i for i in bundle.images}
    assert set(refs) == {"first_seen", "first_seen_clean", "confirmation", "confirmation_clean"}
    for role, ref in refs.items():
        assert ref.public_sha256 is not None and ref.public_sha256 != ref.sha256, role
        assert images[(role, True)].sha256 == ref.public_sha256
    public = cv2.imdecode(np.frombuffer(images[("confirmation_clean", True)].jpeg, np.uint8), cv2.IMREAD_COLOR)
    original = cv2.imdecode(np.frombuffer(images[("confirmation_clean", False)].jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert reader.read(original, other).text == OTHER_PLATE
    assert reader.read(public, offender).text == OFFENDER_PLATE  # what the case is about stays readable
    assert not reader.read(public, other).read  # another driver's plate does not
    assert detail_kept(public[100:400, 550:650], original[100:400, 550:650]) < 0.25  # the person

    # Not a parking case: every plate is hidden, the offender's too.
    garbage = build(reader, Pixelate(), frame, scene, violation=ViolationType.EXPOSED_GARBAGE, packed=packed)
    public = cv2.imdecode(
        np.frombuffer(next(i.jpeg for i in garbage.images if i.public and i.role == "confirmation_clean"), np.uint8),
        cv2.IMREAD_COLOR,
    )
    assert not reader.read(public, offender).read and not reader.read(public, other).read


def test_privacy_none_files_no_public_copies() -> None:
    frame, scene = two_cars()
    bundle = build(None, None, frame, scene)
    assert all(r.public_sha256 is None for r in bundle.report.evidence)
    assert not any(i.public for i in bundle.images)


@pytest.mark.parametrize("packed", [False, True], ids=["raw", "packed"])
def test_nothing_to_hide_makes_the_original_its_own_public_copy(packed: bool) -> None:
    frame = np.full((360, 640, 3), 120, dtype=np.uint8)
    parked = Detections(
        xyxy=np.array([[10, 10, 200, 150]], dtype=np.float32),
        confidence=np.array([0.9], dtype=np.float32),
        class_id=np.array([CLASS_NAMES.index("car")]),
        tracker_id=np.array([1]),
    )
    bundle = build(None, Pixelate(), frame, parked, packed=packed)
    assert all(r.public_sha256 == r.sha256 for r in bundle.report.evidence)  # the same bytes: sent once
    assert len(bundle.images) == 4
