"""The parked vehicle's plate, end to end: the edge box's real evidence builder with the real PP-OCRv4
reader, its real outbox and sender, a live case service on SQLite and PostgreSQL, the stored plate,
its crop, and finding cases by plate."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import cv2
import numpy as np
import pytest
from case_builders import images_for_case, post_case, report
from live_server import LiveServer, make_token
from test_cases_review_browser import browser, screenshot_dir, sign_in  # noqa: F401 (browser: a fixture)

from streetwatch.contract import CaseReport, ModelRef
from streetwatch.edge.events import Moment, ViolationEvent
from streetwatch.edge.evidence import EvidenceBuilder
from streetwatch.edge.outbox import Outbox
from streetwatch.edge.sender import Sender
from streetwatch.inference.detections import Detections
from streetwatch.models.taxonomy import CLASS_NAMES, ViolationType

PLATES = Path(__file__).resolve().parents[1] / "data" / "plates"
LEGIBLE = "rendered-00-near.jpg"  # a garbage-cn car with a drawn plate 鄂MFS8866 (labels.yaml)
ILLEGIBLE = "real-00.jpg"  # the same car as photographed: its plate cannot be read by anyone


@pytest.fixture(scope="module")
def reader():  # -> PlateReader
    from streetwatch.edge.plates import PlateReader

    return PlateReader(threads=1)


def street(car_file: str, at: tuple[int, int] = (300, 200)) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """A 1280x720 frame (H, W, 3) with the fixture's car pasted at `at`; returns the frame and the car's box."""
    car = cv2.imread(str(PLATES / car_file))
    frame = np.full((720, 1280, 3), 90, dtype=np.uint8)
    x, y = at
    h, w = car.shape[:2]
    frame[y : y + h, x : x + w] = car
    return frame, (float(x), float(y), float(x + w), float(y + h))


def parking_event(frame: np.ndarray, box: tuple[float, float, float, float], camera: str) -> ViolationEvent:
    vehicle = Detections(
        xyxy=np.array([box], dtype=np.float32),
        confidence=np.array([0.9], dtype=np.float32),
        class_id=np.array([CLASS_NAMES.index("car")]),
        tracker_id=np.array([3]),
    )
    now = datetime.now(UTC).replace(microsecond=0)
    first = Moment(t=0.0, wall=now - timedelta(minutes=6), frame=frame, detections=vehicle)
    confirmed = Moment(t=360.0, wall=now, frame=frame, detections=vehicle)
    return ViolationEvent(camera, "curb", ViolationType.ILLEGAL_PARKING, "05-05", False, first, confirmed)


def builder(device: str, reader) -> EvidenceBuilder:
    return EvidenceBuilder(
        device_id=device,
        model=ModelRef(name="street", version="1", sha256="0" * 64),
        names=CLASS_NAMES,
        tz=ZoneInfo("Asia/Shanghai"),
        plates=reader,
    )


def camera_config(camera: str):  # -> CameraConfig
    from streetwatch.edge.config import CameraConfig

    return CameraConfig.model_validate(
        {
            "id": camera,
            "source": "clip.mp4",
            "location": {"lat": 31.2, "lon": 121.5, "address": "1 Nanjing Rd"},
            "zones": [{"id": "curb", "type": "no_parking", "polygon": [[0, 0], [1280, 0], [1280, 720], [0, 720]]}],
        }
    )


def deliver(server: LiveServer, token: str, bundle, tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / f"box-{uuid.uuid4().hex[:6]}", max_bytes=100 * 1024**2, retention_days=1)
    try:
        assert outbox.enqueue(bundle)
        sender = Sender(outbox, base_url=server.base_url, token=token)
        try:
            item, _ = outbox.next_due()
            assert item is not None
            assert sender.send_one(item) == "sent", outbox.rows()
        finally:
            sender.close()
    finally:
        outbox.close()


@pytest.mark.slow
def test_plate_read_filed_stored_and_found(server: LiveServer, reader, tmp_path: Path) -> None:
    token, device, (camera, other_camera) = server.new_device()
    frame, box = street(LEGIBLE)
    bundle = builder(device, reader).build(parking_event(frame, box, camera), camera_config(camera))
    plate = bundle.report.plate
    assert plate is not None and plate.status == "read" and plate.text == "鄂MFS8866", plate
    assert plate.confidence is not None and plate.confidence >= reader.min_confidence
    x1, y1, x2, y2 = plate.box
    assert box[0] <= x1 < x2 <= box[2] and box[1] <= y1 < y2 <= box[3]  # on the car, in frame pixels
    crop = next(i for i in bundle.images if i.role == "plate")
    deliver(server, token, bundle, tmp_path)

    frame2, box2 = street(ILLEGIBLE)
    unread = builder(device, reader).build(parking_event(frame2, box2, other_camera), camera_config(other_camera))
    assert unread.report.plate is not None and unread.report.plate.status == "unread"
    assert unread.report.plate.text is None  # never a guess
    deliver(server, token, unread, tmp_path)

    with server.reviewer_client() as client:
        found = client.get("/api/v1/cases", params={"camera_id": camera}).json()["items"]
        assert len(found) == 1
        case = found[0]
        assert case["plate"]["status"] == "read" and case["plate"]["text"] == "鄂MFS8866"
        assert case["plate"]["frame"] == "confirmation_clean" and case["plate"]["box"] == list(plate.box)
        image = next(e for e in case["evidence"] if e["role"] == "plate")
        got = client.get(image["url"])
        assert got.status_code == 200 and got.content == crop.jpeg
        # The plate filter: whole number, its start, and as people type it (lower case, the dot).
        for query in ("鄂MFS8866", "鄂M", "鄂m·fs8866"):
            ids = [c["id"] for c in client.get("/api/v1/cases", params={"plate": query}).json()["items"]]
            assert case["id"] in ids, query
        assert client.get("/api/v1/cases", params={"plate": "鄂MFS8867"}).json()["items"] == []
        ids = [c["id"] for c in client.get("/api/v1/cases", params={"q": "FS886"}).json()["items"]]
        assert case["id"] in ids
        other = client.get("/api/v1/cases", params={"camera_id": other_camera}).json()["items"][0]
        assert other["plate"]["status"] == "unread" and other["plate"]["text"] is None
        assert client.get("/api/v1/cases", params={"plate": "x" * 17}).status_code == 422


@pytest.mark.parametrize(
    ("plate", "message"),
    [
        ({"status": "read", "text": "鄂M1234"}, "String should match pattern"),  # not a plate number
        ({"status": "read", "text": "鄂MFS8866"}, "a read plate needs text, kind and confidence"),
        ({"status": "unread", "text": "鄂MFS8866", "kind": "new_energy"}, "never a guess"),
        ({"status": "read", "text": "鄂MFS8866", "kind": "new_energy", "confidence": 1.5}, "less than or equal to 1"),
        ({"status": "unread", "box": [1, 1, 5, 5]}, "box and frame go together"),
        ({"status": "unread", "frame": "confirmation", "box": [1, 1, 5, 5]}, "first_seen_clean or confirmation_clean"),
        ({"status": "unread", "frame": "confirmation_clean", "box": [1, 1, 500, 5]}, "reaches outside the frame"),
    ],
)
def test_contract_refuses_bad_plates(plate: dict, message: str) -> None:
    images = images_for_case(1)
    body = {**report("edge-1", "cam-1", images), "plate": plate}
    with pytest.raises(ValueError, match=message):
        CaseReport.model_validate(body)


def test_service_answers_422_for_a_plate_on_the_wrong_case(sqlite_server: LiveServer) -> None:
    device = f"edge-{uuid.uuid4().hex[:6]}"
    token = make_token(sqlite_server.db_url, "device", device, ["cam-p"])
    images = images_for_case(2)
    body = report(device, "cam-p", images, violation_type="exposed_garbage", standard_code="01-02")
    body["plate"] = {"status": "unread"}
    with sqlite_server.client() as client:
        response = post_case(client, token, json.dumps(body), list(images.values()), key=body["event_id"])
    assert response.status_code == 422
    assert "plate is for illegal_parking cases" in response.text


@pytest.mark.browser
@pytest.mark.slow
def test_review_page_shows_and_finds_the_plate(browser, sqlite_server: LiveServer, reader, tmp_path: Path) -> None:  # noqa: F811
    token, device, (camera, other_camera) = sqlite_server.new_device()
    frame, box = street(LEGIBLE)
    deliver(
        sqlite_server,
        token,
        builder(device, reader).build(parking_event(frame, box, camera), camera_config(camera)),
        tmp_path,
    )
    frame2, box2 = street(ILLEGIBLE)
    unread = builder(device, reader).build(parking_event(frame2, box2, other_camera), camera_config(other_camera))
    deliver(sqlite_server, token, unread, tmp_path)
    with sqlite_server.reviewer_client() as client:
        case = client.get("/api/v1/cases", params={"camera_id": camera}).json()["items"][0]
        other = client.get("/api/v1/cases", params={"camera_id": other_camera}).json()["items"][0]
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        sign_in(page, sqlite_server, "/review?status=all")
        page.keyboard.press("/")
        page.keyboard.type("鄂mfs")  # as an inspector types it
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.locator("article.case").count() == 1
        plate = page.locator(f"#plate-{case['id']}")
        assert plate.locator(".plate-text").text_content() == "鄂MFS8866"
        assert "车牌" in page.locator(f"#case-{case['id']} dl").text_content()
        crop = plate.locator("img.plate-crop")
        page.wait_for_function("img => img.complete && img.naturalWidth > 20", arg=crop.element_handle())

        page.goto(f"{sqlite_server.base_url}/review/cases/{case['id']}")
        assert page.locator(".frame").count() == 4  # the frames; the plate crop sits with the facts
        assert page.locator(f"#plate-{case['id']} .plate-text").text_content() == "鄂MFS8866"
        page.wait_for_function(
            "img => img.complete && img.naturalWidth > 20", arg=page.locator("img.plate-crop").element_handle()
        )
        page.screenshot(path=str(screenshot_dir(tmp_path) / "review-case-plate-zh.jpg"), quality=70, full_page=True)

        page.goto(f"{sqlite_server.base_url}/review/cases/{other['id']}")
        assert page.locator(f"#plate-{other['id']} .plate-unread").text_content() == "未识别"
        assert page.locator(f"#plate-{other['id']} .plate-text").count() == 0
    finally:
        page.close()


@pytest.mark.slow
def test_a_view_from_the_dwell_reads_when_the_kept_frames_do_not(reader) -> None:
    """A passer-by covers the plate in both frames the case keeps; a view from the dwell shows it."""
    from streetwatch.edge.events import VehicleView

    frame, box = street(LEGIBLE)
    x1, y1, x2, y2 = (int(v) for v in reader.read(frame, box).box)
    covered = frame.copy()
    covered[y1 - 4 : y2 + 4, x1 - 4 : x2 + 4] = 30  # the plate hidden behind someone's coat
    bx1, by1, bx2, by2 = (int(v) for v in box)
    event = parking_event(covered, box, "cam-1")
    seen_at = event.confirmed.wall - timedelta(minutes=2)
    view = VehicleView(seen_at, frame[by1:by2, bx1:bx2].copy())
    event = ViolationEvent(
        event.camera_id, event.zone_id, event.violation, event.standard_code, event.urgent,
        event.first_seen, event.confirmed, views=(view,),
    )  # fmt: skip
    bundle = builder("edge-1", reader).build(event, camera_config("cam-1"))
    plate = bundle.report.plate
    assert plate is not None and plate.status == "read" and plate.text == "鄂MFS8866"
    assert plate.frame is None and plate.box is None  # not on a filed frame: the crop is the record
    [crop] = [r for r in bundle.report.evidence if r.role == "plate"]
    assert crop.captured_at == seen_at
    # Without the view, the same case is unread: the test can fail.
    alone = builder("edge-1", reader).build(parking_event(covered, box, "cam-1"), camera_config("cam-1"))
    assert alone.report.plate is not None and alone.report.plate.status == "unread"
