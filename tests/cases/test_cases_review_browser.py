"""The review page in a real headless Chromium (Debian's package; never a downloaded browser)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest
from case_builders import file_new
from conftest import LiveServer

pytestmark = pytest.mark.browser
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not os.path.exists(CHROMIUM):
        pytest.skip("chromium not installed (bash tools/install-browser.sh)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def test_review_with_keyboard_shortcuts(browser, sqlite_server: LiveServer) -> None:
    token, device, cameras = sqlite_server.new_device()
    with sqlite_server.client() as client:
        first = file_new(client, token, device, cameras[0], seed=700)
        second = file_new(client, token, device, cameras[0], seed=701, violation_type="exposed_garbage",
                          standard_code="06010")  # fmt: skip
    page = browser.new_page()
    try:
        page.goto(f"{sqlite_server.base_url}/review")
        assert page.url.endswith("/review/login")
        page.fill("#token", "not-a-token")
        page.click("button[type=submit]")
        assert "not a valid reviewer token" in page.text_content(".error")
        page.fill("#token", sqlite_server.reviewer)
        page.click("button[type=submit]")
        page.wait_for_selector(f"#case-{first['id']}")

        article = page.locator(f"#case-{first['id']}")
        # Evidence image loaded through the session cookie, with the detection box drawn over it.
        image = article.locator(".frame img")
        image.scroll_into_view_if_needed()
        page.wait_for_function("img => img.complete && img.naturalWidth === 64", arg=image.element_handle())
        assert article.locator("svg rect.box").count() == 1
        assert "streetwatch-yolo11n 2026.1" in article.text_content()
        assert "1 Example Road" in article.text_content()

        article.locator("h2").click()  # select this case; then the shortcut acts on it
        assert "selected" in article.get_attribute("class")
        with page.expect_navigation():
            page.keyboard.press("a")
        assert f"case {first['id']} accepted" in page.text_content("#flash")
        assert page.locator(f"#case-{first['id']}").count() == 0

        page.locator(f"#case-{second['id']} h2").click()
        page.keyboard.press("r")
        page.keyboard.press("1")  # false detection; the note follows
        page.keyboard.type("only leaves on the pavement")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert f"case {second['id']} rejected" in page.text_content("#flash")
    finally:
        page.close()
    with sqlite_server.reviewer_client() as reviewer:
        accepted = reviewer.get(f"/api/v1/cases/{first['id']}").json()
        rejected = reviewer.get(f"/api/v1/cases/{second['id']}").json()
    assert (accepted["status"], accepted["reviewer"]) == ("accepted", "bob")
    assert (rejected["status"], rejected["reject_code"], rejected["reject_reason"]) == (
        "rejected",
        "false_detection",
        "only leaves on the pavement",
    )


def test_reclassify_and_csrf(browser, sqlite_server: LiveServer) -> None:
    token, device, cameras = sqlite_server.new_device()
    with sqlite_server.client() as client:
        case = file_new(client, token, device, cameras[0], seed=710)
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(f"{sqlite_server.base_url}/review/login")
        page.fill("#token", sqlite_server.reviewer)
        page.click("button[type=submit]")
        article = page.locator(f"#case-{case['id']}")
        article.locator("h2").click()
        page.keyboard.press("c")
        page.select_option(f"#case-{case['id']} form.reclassify select", "occupied_lane_vending")
        with page.expect_navigation():
            article.locator("form.reclassify button").click()
        assert "accepted as occupied_lane_vending" in page.text_content("#flash")
        # A forged form post (right cookie, no CSRF token) is refused.
        forged = context.request.post(
            f"{sqlite_server.base_url}/review/cases/{case['id']}", form={"action": "accept", "csrf": "x" * 32}
        )
        assert forged.status == 403
    finally:
        context.close()
