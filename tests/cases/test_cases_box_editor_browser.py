"""The reviewer's box editor in a real headless Chromium: keyboard and mouse edits, saved with who/when."""

from __future__ import annotations

from pathlib import Path

import pytest
from case_builders import file_new
from live_server import LiveServer
from test_cases_review_browser import browser, screenshot_dir  # noqa: F401 (the shared Chromium fixture)

pytestmark = pytest.mark.browser


def _login(page, server: LiveServer) -> None:
    page.goto(f"{server.base_url}/review/login")
    page.fill("#token", server.reviewer)
    page.click("button[type=submit]")


def _frame_point(page, case_id: int, x: float, y: float) -> tuple[float, float]:
    """Page coordinates of source-frame pixel (x, y) on the 64x48 evidence of a case."""
    box = page.locator(f"#case-{case_id} .frame svg").bounding_box()
    return box["x"] + x / 64 * box["width"], box["y"] + y / 48 * box["height"]


def test_edit_boxes_with_keyboard_and_mouse_then_accept(browser, sqlite_server: LiveServer) -> None:  # noqa: F811
    token, device, cameras = sqlite_server.new_device()
    with sqlite_server.client() as client:
        case = file_new(client, token, device, cameras[0], seed=950, violation_type="occupied_lane_vending")
    cid = case["id"]
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    try:
        _login(page, sqlite_server)
        article = page.locator(f"#case-{cid}")
        article.locator("h2").click()
        page.keyboard.press("e")
        assert "editing" in article.get_attribute("class")
        assert article.locator("rect.box.machine").count() == 1  # the model's car, untouched
        page.keyboard.press("ArrowRight")  # move the car one pixel: now a human box
        assert article.locator("rect.box.human").count() == 1
        page.keyboard.press("a")  # the queue's accept shortcut does nothing while editing
        assert page.locator(f"#case-{cid}").count() == 1
        page.keyboard.press("b")  # add a box: a stall, in the middle
        page.keyboard.press("Shift+ArrowRight")  # and widen it
        assert article.locator("rect.box[data-cls=stall]").count() == 1
        # Draw a second box with the mouse on empty space, then re-class it as an umbrella.
        x0, y0 = _frame_point(page, cid, 46, 2)
        x1, y1 = _frame_point(page, cid, 62, 14)
        page.mouse.move(x0, y0)
        page.mouse.down()
        page.mouse.move((x0 + x1) / 2, (y0 + y1) / 2)
        page.mouse.move(x1, y1)
        page.mouse.up()
        page.keyboard.press("t")  # to the class list
        page.select_option(f"#case-{cid} select.box-class", "umbrella")
        page.keyboard.press("Escape")  # leave the class list, back to the editor
        assert article.locator("rect.box").count() == 3
        page.keyboard.press("s")
        page.wait_for_function(
            "el => el.textContent === '已保存 3 个标注框'", arg=article.locator(".editor-status").element_handle()
        )
        page.keyboard.press("Escape")  # done editing: the queue's shortcuts work again
        with page.expect_navigation():
            page.keyboard.press("a")
        assert f"案件 {cid}：已立案" in page.text_content("#flash")
    finally:
        page.close()
    with sqlite_server.reviewer_client() as reviewer:
        saved = reviewer.get(f"/api/v1/cases/{cid}").json()
    boxes = saved["reviewed_boxes"]
    assert [(b["class"], b["origin"], b["detection"]) for b in boxes] == [
        ("car", "human", 0),
        ("stall", "human", None),
        ("umbrella", "human", None),
    ]
    assert boxes[0]["box"] == [11.0, 8.0, 41.0, 30.0]
    stall = boxes[1]["box"]
    assert stall[2] - stall[0] > 64 * 0.2  # widened beyond the 20 % it started with
    umbrella = boxes[2]["box"]
    assert abs(umbrella[0] - 46) <= 1.5 and abs(umbrella[3] - 14) <= 1.5  # where the mouse drew it
    assert (saved["boxes_by"], saved["status"]) == ("bob", "accepted")
    # The page's frames are originals: each one sent to the reviewer is an audit row of its own.
    actions = [h["action"] for h in saved["history"]]
    assert "original" in actions
    steps = [h for h in saved["history"] if h["action"] != "original"]
    assert [h["action"] for h in steps] == ["filed", "boxes", "transition"]
    assert steps[1]["actor"] == "bob"


def test_unsaved_edits_travel_with_the_rejection(browser, sqlite_server: LiveServer) -> None:  # noqa: F811
    token, device, cameras = sqlite_server.new_device()
    with sqlite_server.client() as client:
        case = file_new(client, token, device, cameras[0], seed=951)
    cid = case["id"]
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    try:
        _login(page, sqlite_server)
        page.locator(f"#case-{cid} h2").click()
        page.keyboard.press("e")
        page.keyboard.press("Delete")  # the model's only box is wrong
        assert page.locator(f"#case-{cid} rect.box").count() == 0
        page.keyboard.press("Escape")
        page.keyboard.press("r")
        page.keyboard.press("1")  # false detection
        page.keyboard.type("a shadow")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert f"案件 {cid}：已作废" in page.text_content("#flash")
    finally:
        page.close()
    with sqlite_server.reviewer_client() as reviewer:
        saved = reviewer.get(f"/api/v1/cases/{cid}").json()
    assert (saved["reject_code"], saved["reject_reason"], saved["reviewed_boxes"]) == (
        "false_detection",
        "a shadow",
        [],
    )
    assert "1 model boxes deleted" in next(h["reason"] for h in saved["history"] if h["action"] == "boxes")


EDITOR_WORDS = {
    # language: (status while editing, the car's label, the added stall's label, its tooltip, after saving 2)
    "zh_CN": ("正在编辑标注框", "汽车", "摊位", "摊位（人工）", "已保存 2 个标注框"),
    "en": ("editing boxes", "car", "stall", "stall (human)", "saved 2 boxes"),
}


@pytest.mark.parametrize("language", list(EDITOR_WORDS))
def test_the_editor_speaks_the_page_language(browser, sqlite_server: LiveServer, tmp_path: Path, language) -> None:  # noqa: F811
    """Chinese by default, English when chosen: the script's status line, box labels, tooltips and
    class list all come from the page's catalogue."""
    editing, car, stall, stall_title, saved = EDITOR_WORDS[language]
    token, device, cameras = sqlite_server.new_device()
    with sqlite_server.client() as client:
        seed = 960 + len(language)
        case = file_new(client, token, device, cameras[0], seed=seed, violation_type="occupied_lane_vending")
    cid = case["id"]
    page = browser.new_page(viewport={"width": 1000, "height": 700})
    try:
        _login(page, sqlite_server)
        if language != "zh_CN":  # nothing to choose for Chinese: it is the default
            page.goto(f"{sqlite_server.base_url}/review?lang={language}")
        article = page.locator(f"#case-{cid}")
        article.locator("h2").click()
        page.keyboard.press("e")
        status = article.locator(".editor-status")
        assert status.text_content() == editing
        assert article.locator("svg text.label").all_text_contents() == [car]
        page.keyboard.press("b")  # a stall
        assert article.locator("svg text.label").all_text_contents() == [car, stall]
        assert article.locator("rect.box[data-cls=stall] title").text_content() == stall_title
        assert article.locator("select.box-class option[value=stall]").text_content() == stall
        assert article.locator("select.box-class option:checked").text_content() == stall
        article.scroll_into_view_if_needed()
        page.screenshot(path=str(screenshot_dir(tmp_path) / f"box-editor-{language}.png"))
        page.keyboard.press("s")
        page.wait_for_function("([el, want]) => el.textContent === want", arg=[status.element_handle(), saved])
        page.keyboard.press("Escape")
    finally:
        page.close()
    with sqlite_server.reviewer_client() as reviewer:
        boxes = reviewer.get(f"/api/v1/cases/{cid}").json()["reviewed_boxes"]
    assert [b["class"] for b in boxes] == ["car", "stall"]  # labels are for people; the API keeps taxonomy names


NOT_SAVED = {
    "zh_CN": "未保存：未登录或登录已过期，请重新登录",
    "en": "not saved: you are not signed in, or your sign-in has ended; sign in again",
}


@pytest.mark.parametrize("language", list(NOT_SAVED))
def test_a_refused_save_is_told_in_the_page_language(
    browser,  # noqa: F811
    sqlite_server: LiveServer,
    tmp_path: Path,
    language: str,
) -> None:
    """The sign-in ended (cookies gone) before `s`: the status line says so in the page's language, and
    shows the API's own detail only as secondary text."""
    token, device, cameras = sqlite_server.new_device()
    with sqlite_server.client() as client:
        case = file_new(client, token, device, cameras[0], seed=975 + len(language))
    cid = case["id"]
    context = browser.new_context(viewport={"width": 1000, "height": 700})
    page = context.new_page()
    try:
        _login(page, sqlite_server)
        page.goto(f"{sqlite_server.base_url}/review?lang={language}")
        article = page.locator(f"#case-{cid}")
        article.locator("h2").click()
        page.keyboard.press("e")
        page.keyboard.press("b")
        context.clear_cookies()
        page.keyboard.press("s")
        detail = article.locator(".editor-status small.error-detail")
        detail.wait_for()
        status = article.locator(".editor-status")
        assert status.evaluate("el => el.firstChild.textContent") == NOT_SAVED[language]
        assert detail.text_content() == "missing `Authorization: Bearer <reviewer token>` header"
        article.scroll_into_view_if_needed()
        page.screenshot(path=str(screenshot_dir(tmp_path) / f"box-editor-refused-{language}.png"))
    finally:
        context.close()
    with sqlite_server.reviewer_client() as reviewer:
        assert reviewer.get(f"/api/v1/cases/{cid}").json()["reviewed_boxes"] is None  # nothing was saved
