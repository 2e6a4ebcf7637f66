"""Originals for reviewers only, every view of one in the audit log; public copies for anyone. Filed
by the edge box's real evidence builder (pixelated copies) through its real outbox and sender, to a
live service on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import numpy as np
import pytest
from case_builders import jpeg, post_case, report, sha
from live_server import LiveServer, make_token, start_server, stop_server
from test_cases_plates import camera_config, deliver
from test_cases_review_browser import browser, screenshot_dir, sign_in  # noqa: F401 (browser: a fixture)

from streetwatch.contract import ModelRef
from streetwatch.edge.events import Moment, ViolationEvent
from streetwatch.edge.evidence import EvidenceBuilder
from streetwatch.edge.privacy import Pixelate
from streetwatch.inference.detections import Detections
from streetwatch.models.taxonomy import CLASS_NAMES, ViolationType


@pytest.fixture(scope="module")
def live(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A service that takes a whole filing: 4 frames + 4 public copies (the shared one allows 6 parts)."""
    server = start_server(
        db_url, tmp_path_factory.mktemp("privacy"), env={"STREETWATCH_CASES_MAX_EVIDENCE_COUNT": "12"}
    )
    server.reviewer = make_token(db_url, "reviewer", "alice")
    server.client_key = make_token(db_url, "client", "city-app")
    try:
        yield server
    finally:
        stop_server(server)


def street_bundle(device: str, camera: str):  # -> CaseBundle
    rng = np.random.default_rng(1)
    frame = rng.integers(0, 255, (360, 640, 3), dtype=np.uint8)  # (H, W, 3): detail everywhere
    scene = Detections(
        xyxy=np.array([[20, 100, 300, 300], [400, 50, 470, 300]], dtype=np.float32),
        confidence=np.array([0.9, 0.8], dtype=np.float32),
        class_id=np.array([CLASS_NAMES.index("car"), CLASS_NAMES.index("person")]),
        tracker_id=np.array([1, -1]),
    )
    now = datetime.now(UTC)
    parked = scene[np.array([0])]
    later = frame.copy()
    later[:20] = 0  # the two moments' frames differ, so each image is one role's
    first = Moment(t=0.0, wall=now - timedelta(minutes=6), frame=frame, detections=parked, scene=scene)
    confirmed = Moment(t=360.0, wall=now, frame=later, detections=parked, scene=scene)
    event = ViolationEvent(camera, "curb", ViolationType.ILLEGAL_PARKING, "05-05", False, first, confirmed)
    builder = EvidenceBuilder(
        device_id=device,
        model=ModelRef(name="m", version="1", sha256="0" * 64),
        names=CLASS_NAMES,
        tz=ZoneInfo("Asia/Shanghai"),
        privacy=Pixelate(),
    )
    config = camera_config(camera).model_copy(
        update={
            "zones": [
                camera_config(camera).zones[0].model_copy(update={"polygon": [[0, 0], [640, 0], [640, 360], [0, 360]]})
            ]
        }
    )
    return builder.build(event, config)


def test_originals_for_reviewers_only_and_every_view_audited(live: LiveServer, tmp_path: Path) -> None:
    token, device, (camera, _) = live.new_device()
    bundle = street_bundle(device, camera)
    deliver(live, token, bundle, tmp_path)
    with live.reviewer_client() as reviewer:
        case = reviewer.get("/api/v1/cases", params={"camera_id": camera}).json()["items"][0]
    frames = {e["role"]: e for e in case["evidence"]}
    assert set(frames) == {"first_seen", "first_seen_clean", "confirmation", "confirmation_clean"}
    clean = frames["confirmation_clean"]
    public_bytes = next(i.jpeg for i in bundle.images if i.public and i.role == "confirmation_clean")
    assert clean["public_sha256"] == sha(public_bytes) != clean["sha256"]
    assert clean["public_url"] == f"/open311/v2/media/{case['id']}/{clean['public_sha256']}.jpg"

    # Anyone gets the public copy, cacheable; nobody gets an original through the public route.
    anonymous = httpx.Client(base_url=live.base_url, timeout=30)
    with anonymous:
        got = anonymous.get(clean["public_url"])
        assert got.status_code == 200 and got.content == public_bytes
        assert got.headers["cache-control"].startswith("public")
        original_as_public = f"/open311/v2/media/{case['id']}/{clean['sha256']}.jpg"
        assert anonymous.get(original_as_public).status_code == 404
        assert anonymous.get(clean["url"]).status_code == 401
        for other in (live.client_key, token):  # a client app's token, the device's own token
            refused = anonymous.get(clean["url"], headers={"Authorization": f"Bearer {other}"})
            assert refused.status_code == 403 and "reviewer" in refused.json()["detail"]

    with live.reviewer_client() as reviewer:
        history = reviewer.get(f"/api/v1/cases/{case['id']}").json()["history"]
        assert [h for h in history if h["action"] == "original"] == []  # refusals showed nothing
        got = reviewer.get(clean["url"])
        original = next(i.jpeg for i in bundle.images if not i.public and i.role == "confirmation_clean")
        assert got.status_code == 200 and got.content == original
        assert got.headers["cache-control"] == "private, no-store"  # each view is a request, so audited
        reviewer.get(clean["url"])
        reviewer.get(f"/api/v1/cases/{case['id']}/evidence/{clean['public_sha256']}")  # a copy: not audited
        views = [h for h in reviewer.get(f"/api/v1/cases/{case['id']}").json()["history"] if h["action"] == "original"]
    assert len(views) == 2
    assert all(v["actor"] == "alice" and v["actor_kind"] == "reviewer" for v in views)
    assert views[0]["reason"] == f"confirmation_clean {clean['sha256'][:16]}"


def test_a_public_copy_must_be_the_same_frame(live: LiveServer) -> None:
    device = f"edge-{uuid.uuid4().hex[:6]}"
    token = make_token(live.db_url, "device", device, ["cam-x"])
    frame, smaller = jpeg(64, 48, seed=3), jpeg(32, 24, seed=4)
    body = report(device, "cam-x", {"confirmation_clean": frame})
    body["evidence"][0]["public_sha256"] = sha(smaller)
    with live.client() as client:
        response = post_case(client, token, body, [frame, smaller])
        assert response.status_code == 422
        assert "the public copy is 32x24, the frame 64x48" in response.json()["detail"]
        missing = post_case(client, token, body, [frame])
        assert missing.status_code == 422 and sha(smaller) in missing.json()["detail"]


def test_open311_media_url_is_the_public_copy(live: LiveServer, tmp_path: Path) -> None:
    token, device, (camera, _) = live.new_device()
    bundle = street_bundle(device, camera)
    deliver(live, token, bundle, tmp_path)
    with live.reviewer_client() as reviewer:
        case = reviewer.get("/api/v1/cases", params={"camera_id": camera}).json()["items"][0]
    confirmation = next(e for e in case["evidence"] if e["role"] == "confirmation")
    with httpx.Client(base_url=live.base_url, timeout=30) as anonymous:
        [one] = anonymous.get(f"/open311/v2/requests/{case['id']}.json").json()
        assert one["media_url"] == f"{live.base_url}{confirmation['public_url']}"
        xml = anonymous.get(f"/open311/v2/requests/{case['id']}.xml").text
        assert f"<media_url>{live.base_url}{confirmation['public_url']}</media_url>" in xml
        listed = anonymous.get("/open311/v2/requests.json", params={"service_request_id": case["id"]}).json()
        assert listed[0]["media_url"] == one["media_url"]
        image = httpx.get(one["media_url"], timeout=30)
    public = next(i.jpeg for i in bundle.images if i.public and i.role == "confirmation")
    assert image.status_code == 200 and image.content == public
    assert confirmation["sha256"] not in one["media_url"]  # never the original


def test_an_export_marked_public_has_only_public_copies(live: LiveServer, tmp_path: Path) -> None:
    from case_builders import file_new

    from streetwatch.cli import main
    from streetwatch.datasets.case_export import CASES_FILE, MANIFEST_FILE, CaseExportManifest, ExportedCase

    token, device, (camera, other) = live.new_device()
    started = datetime.now(UTC) - timedelta(seconds=1)
    bundle = street_bundle(device, camera)
    deliver(live, token, bundle, tmp_path)
    with live.client() as client:
        file_new(client, token, device, other, seed=901)  # filed without public copies
    with live.reviewer_client() as reviewer:
        for cam in (camera, other):
            case = reviewer.get("/api/v1/cases", params={"camera_id": cam}).json()["items"][0]
            assert reviewer.post(f"/api/v1/cases/{case['id']}/transitions", json={"to": "accepted"}).status_code == 200
    storage = ["--db", live.db_url, "--evidence-dir", str(live.evidence_dir), "--since", started.isoformat()]
    assert main(["cases", "export", *storage, "--public", "--out", str(tmp_path / "public")]) == 0
    assert main(["cases", "export", *storage, "--out", str(tmp_path / "internal")]) == 0
    public = CaseExportManifest.model_validate_json((tmp_path / "public" / MANIFEST_FILE).read_text())
    assert public.public and public.count == 1  # the case without a public copy is left out
    [row] = [ExportedCase.model_validate_json(line) for line in (tmp_path / "public" / CASES_FILE).open()]
    copy = next(i.jpeg for i in bundle.images if i.public and i.role == "confirmation_clean")
    original = next(i.jpeg for i in bundle.images if not i.public and i.role == "confirmation_clean")
    assert row.image_sha256 == sha(copy) and (tmp_path / "public" / row.image).read_bytes() == copy
    assert row.reviewer is None  # no staff names in what is published
    internal = [ExportedCase.model_validate_json(line) for line in (tmp_path / "internal" / CASES_FILE).open()]
    assert len(internal) == 2 and sha(original) in {r.image_sha256 for r in internal}
    assert not CaseExportManifest.model_validate_json((tmp_path / "internal" / MANIFEST_FILE).read_text()).public


@pytest.fixture(scope="module")
def live_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    workdir = tmp_path_factory.mktemp("privacy-sqlite")
    db = f"sqlite:///{workdir / 'cases.db'}"
    server = start_server(db, workdir, env={"STREETWATCH_CASES_MAX_EVIDENCE_COUNT": "12"})
    server.reviewer = make_token(db, "reviewer", "bob")
    try:
        yield server
    finally:
        stop_server(server)


@pytest.mark.browser
def test_review_list_shows_public_copies_the_case_page_originals(
    browser,  # noqa: F811
    live_sqlite: LiveServer,
    sample_images: list[Path],
    tmp_path: Path,
) -> None:
    import cv2

    coco = Path(__file__).resolve().parents[2] / "models" / "releases" / "coco-teacher" / "yolov8n-coco.onnx"
    if not coco.is_file():
        pytest.skip("the COCO teacher release is not in models/releases/coco-teacher")
    from streetwatch.inference.detector import Detector

    detector = Detector(coco, conf=0.3)
    frame = cv2.resize(cv2.imread(str(next(p for p in sample_images if p.name == "bus.jpg"))), (540, 720))
    scene = detector.detect(frame)  # the bus and the people on the pavement
    bus = scene[scene.class_id == detector.names.index("bus")]
    later = frame.copy()
    later[-8:] = 0  # the two moments differ, so every frame is its own image
    token, device, (camera, _) = live_sqlite.new_device()
    now = datetime.now(UTC)
    event = ViolationEvent(
        camera, "curb", ViolationType.ILLEGAL_PARKING, "05-05", False,
        Moment(t=0.0, wall=now - timedelta(minutes=6), frame=frame, detections=bus, scene=scene),
        Moment(t=360.0, wall=now, frame=later, detections=bus, scene=scene),
    )  # fmt: skip
    builder = EvidenceBuilder(
        device_id=device,
        model=ModelRef(name="coco-teacher", version="1", sha256="0" * 64),
        names=detector.names,
        tz=ZoneInfo("Asia/Shanghai"),
        privacy=Pixelate(),
    )
    zone = camera_config(camera).zones[0].model_copy(update={"polygon": [[0, 0], [540, 0], [540, 720], [0, 720]]})
    bundle = builder.build(event, camera_config(camera).model_copy(update={"zones": [zone]}))
    deliver(live_sqlite, token, bundle, tmp_path)
    with live_sqlite.reviewer_client() as reviewer:
        case = reviewer.get("/api/v1/cases", params={"camera_id": camera}).json()["items"][0]
    clean = next(e for e in case["evidence"] if e["role"] == "confirmation_clean")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        sign_in(page, live_sqlite, f"/review?camera={camera}")
        shown = page.locator(f"#case-{case['id']} .frame img")
        assert shown.get_attribute("src") == clean["public_url"]  # the queue shows the hidden copy
        page.wait_for_function("img => img.complete && img.naturalWidth === 540", arg=shown.element_handle())
        assert "已遮挡" in page.locator(f"#case-{case['id']} figcaption").first.text_content()
        page.screenshot(path=str(screenshot_dir(tmp_path) / "review-queue-public-zh.jpg"), quality=70)

        page.goto(f"{live_sqlite.base_url}/review/cases/{case['id']}")
        frames = page.locator(".frame img")
        assert frames.count() == 4
        for i in range(4):
            assert "/api/v1/cases/" in frames.nth(i).get_attribute("src")  # originals, on this page only
            page.wait_for_function(
                "img => img.complete && img.naturalWidth === 540", arg=frames.nth(i).element_handle()
            )
        page.reload()
        views = page.locator("#original-views tbody tr")
        assert views.count() >= 4 and "bob" in views.first.text_content()
        page.screenshot(path=str(screenshot_dir(tmp_path) / "review-case-originals-zh.jpg"), quality=70, full_page=True)
    finally:
        page.close()


def test_the_store_sweep_keeps_public_copies(live: LiveServer, tmp_path: Path) -> None:
    """Public copies are referenced by their frame's row (`public_sha256`), not by a row of their own:
    the sweep of unreferenced images must keep them however old they are."""
    import os
    import time

    from streetwatch.cases.db import make_engine, make_sessionmaker
    from streetwatch.cases.evidence import EvidenceStore
    from streetwatch.cases.evidence_sweep import sweep

    token, device, (camera, _) = live.new_device()
    bundle = street_bundle(device, camera)
    deliver(live, token, bundle, tmp_path)
    store = EvidenceStore(live.evidence_dir)
    files = [store.path(i.sha256) for i in bundle.images]
    old = time.time() - 7 * 86400
    for path in files:
        os.utime(path, (old, old))
    engine = make_engine(live.db_url)
    try:
        sweep(store, make_sessionmaker(engine), grace_s=3600)
    finally:
        engine.dispose()
    assert all(path.exists() for path in files), [p.name for p in files if not p.exists()]
    with live.reviewer_client() as reviewer:
        case = reviewer.get("/api/v1/cases", params={"camera_id": camera}).json()["items"][0]
    public_url = next(e["public_url"] for e in case["evidence"] if e["role"] == "confirmation")
    assert httpx.get(f"{live.base_url}{public_url}", timeout=30).status_code == 200
