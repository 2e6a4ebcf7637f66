"""A case's clip plays on the review page in a real headless Chromium (Debian's package)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from case_builders import clip_ref, images_for_case, mp4, post_case, report
from live_server import LiveServer
from test_cases_review_browser import CSP_WATCH, browser, screenshot_dir, sign_in

pytestmark = pytest.mark.browser
__all__ = ["browser"]  # the fixture, imported so that this module can use it
STREET = (
    Path(__file__).resolve().parents[1]
    / "data"
    / "images"
    / "garbage-000001_jpg.rf.b9137d03763db7f755d4aaef403f6cfa.jpg"
)
SIZE = (320, 180)


def street_with_a_moving_car(i: int) -> np.ndarray:
    """(180, 320, 3) RGB: the real street, and a red block driving across it."""
    scene = cv2.cvtColor(cv2.resize(cv2.imread(str(STREET)), SIZE), cv2.COLOR_BGR2RGB)
    x = 10 + i * 6
    cv2.rectangle(scene, (x, 120), (x + 50, 150), (220, 30, 30), -1)
    return scene


def test_the_clip_plays_on_the_case_page(browser, sqlite_server: LiveServer, tmp_path: Path) -> None:
    clip = mp4(seconds=4.0, fps=10, size=SIZE, frame_at=street_with_a_moving_car)
    images = images_for_case(950)
    token, device, cameras = sqlite_server.new_device()
    body = report(device, cameras[0], images, clip=clip_ref(clip, size=SIZE, seconds=4.0))
    with sqlite_server.client() as client:
        response = post_case(client, token, body, list(images.values()), clip=clip)
    assert response.status_code == 201, response.text
    case_id = response.json()["id"]
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    context.add_init_script(CSP_WATCH)
    page = context.new_page()
    statuses: list[int] = []
    page.on(
        "response",
        lambda r: statuses.append(r.status) if "/evidence/" in r.url and r.request.resource_type == "media" else None,
    )
    try:
        sign_in(page, sqlite_server)
        link = page.locator(f"#case-{case_id} a.clip-link")
        assert link.count() == 1  # the queue says the case has a clip
        page.goto(f"{sqlite_server.base_url}/review/cases/{case_id}")
        video = page.locator("figure.clip video")
        assert video.count() == 1
        page.evaluate("v => { v.play(); }", video.element_handle())
        page.wait_for_function(
            "v => v.readyState >= 2 && v.videoWidth === 320 && v.videoHeight === 180 && v.currentTime > 1.0",
            arg=video.element_handle(),
            timeout=20_000,
        )
        assert abs(page.evaluate("v => v.duration", video.element_handle()) - 4.0) < 0.2
        page.evaluate("v => { v.pause(); v.currentTime = 2.0; }", video.element_handle())
        page.wait_for_function("v => !v.seeking && v.readyState >= 2", arg=video.element_handle())
        assert 200 in statuses or 206 in statuses
        assert page.evaluate("window.__cspViolations") == []
        assert "视频片段" in page.text_content("figure.clip figcaption")
        page.screenshot(path=str(screenshot_dir(tmp_path) / "review-case-clip-zh.jpg"), quality=70, full_page=True)
    finally:
        context.close()
