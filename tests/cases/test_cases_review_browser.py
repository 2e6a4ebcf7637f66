"""The review page in a real headless Chromium (Debian's package; never a downloaded browser)."""

from __future__ import annotations

import contextlib
import http.server
import os
import shutil
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from case_builders import file_new
from live_server import LiveServer, make_token, start_server, stop_server

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
                          standard_code="01-02")  # fmt: skip
    page = browser.new_page()
    try:
        page.goto(f"{sqlite_server.base_url}/review")
        assert page.url.endswith("/review/login")
        page.fill("#token", "not-a-token")
        page.click("button[type=submit]")
        assert "这不是有效的审核员令牌" in page.text_content(".error")  # Chinese by default
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
        assert f"案件 {first['id']}：已立案" in page.text_content("#flash")
        assert page.locator(f"#case-{first['id']}").count() == 0

        page.locator(f"#case-{second['id']} h2").click()
        page.keyboard.press("r")
        page.keyboard.press("1")  # false detection; the note follows
        page.keyboard.type("only leaves on the pavement")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert f"案件 {second['id']}：已作废" in page.text_content("#flash")
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
        assert "已立案 （改为占道经营）" in page.text_content("#flash")
        # A forged form post (right cookie, no CSRF token) is refused.
        forged = context.request.post(
            f"{sqlite_server.base_url}/review/cases/{case['id']}", form={"action": "accept", "csrf": "x" * 32}
        )
        assert forged.status == 403
    finally:
        context.close()


def screenshot_dir(tmp_path: Path) -> Path:
    """Where the screenshots go: STREETWATCH_SCREENSHOTS (to look at them, or refresh docs/images), else tmp."""
    target = Path(os.environ.get("STREETWATCH_SCREENSHOTS") or tmp_path)
    target.mkdir(parents=True, exist_ok=True)
    return target


def sign_in(page, server: LiveServer, path: str = "/review") -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{server.base_url}/review/login")
    page.fill("#token", server.reviewer)
    with page.expect_navigation():
        page.click("button[type=submit]")
    page.goto(f"{server.base_url}{path}")


@pytest.fixture(scope="module")
def paged_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Its own service (the queue of the shared one holds other tests' cases), 5 cases a page."""
    workdir = tmp_path_factory.mktemp("paged-server")
    db = f"sqlite:///{workdir / 'cases.db'}"
    live = start_server(db, workdir, env={"STREETWATCH_CASES_PAGE_SIZE": "5"})
    live.reviewer = make_token(db, "reviewer", "wang")
    try:
        yield live
    finally:
        stop_server(live)


def test_filters_search_paging_and_city_time(browser, paged_server: LiveServer, tmp_path: Path) -> None:
    sqlite_server = paged_server
    token, device, cameras = sqlite_server.new_device()
    start = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)  # 10:00 in Beijing
    with sqlite_server.client() as client:
        for i in range(7):
            file_new(client, token, device, cameras[0], seed=800 + i, confirmed_at=start + timedelta(minutes=i))
        bicycle = file_new(
            client, token, device, cameras[1], seed=830, confirmed_at=start,
            location={"lat": 39.92, "lon": 116.45, "address": "朝阳路 88 号", "grid_code": "110105-017"},
            detections=[{"class": "bicycle", "confidence": 0.8, "box": [5.0, 5.0, 30.0, 40.0]}],
        )  # fmt: skip
    assert (bicycle["standard_code"], bicycle["filed_code"]) == ("05-06", "05-05")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        sign_in(page, sqlite_server, f"/review?camera={cameras[0]}")
        assert page.text_content("#queue-count") == "7"
        assert page.locator("article.case").count() == 5
        assert page.text_content("#page-of") == "第 1 页，共 2 页"
        # The oldest first in the queue, in Beijing time (first seen 6 minutes before confirmation).
        first = page.locator("article.case").first
        assert "2026-03-01 09:54:00 → 10:00:00" in first.text_content()
        assert "UTC+08:00" in first.text_content()
        assert "05-05" in first.text_content() and "街面秩序 › 机动车乱停放" in first.text_content()
        page.screenshot(path=str(screenshot_dir(tmp_path) / "review-queue-zh.jpg"), quality=70)
        with page.expect_navigation():
            page.click("#next-page")
        assert page.locator("article.case").count() == 2
        assert page.text_content("#page-of") == "第 2 页，共 2 页"

        # Search by address (Chinese text), from the search box the `/` key focuses.
        page.goto(f"{sqlite_server.base_url}/review?status=all")
        page.keyboard.press("/")
        page.keyboard.type("朝阳路")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.locator("article.case").count() == 1
        found = page.locator(f"#case-{bicycle['id']}")
        assert "05-06" in found.text_content() and "非机动车乱停放" in found.text_content()
        assert "网格 110105-017" in found.text_content()

        # Filters combine: another camera's cases, or another type, do not show.
        page.goto(f"{sqlite_server.base_url}/review?status=all&camera={cameras[1]}&violation_type=exposed_garbage")
        assert page.locator("#empty").is_visible()
    finally:
        page.close()


@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_date_filters_speak_the_page_language_and_the_city_calendar(
    browser, sqlite_server: LiveServer, tmp_path: Path, language: str
) -> None:
    token, device, cameras = sqlite_server.new_device()
    late = datetime(2026, 3, 1, 15, 30, tzinfo=UTC)  # 23:30 on 1 March in Beijing
    after_midnight = datetime(2026, 3, 1, 16, 30, tzinfo=UTC)  # 00:30 on 2 March in Beijing, 1 March in UTC
    with sqlite_server.client() as client:
        inside = file_new(client, token, device, cameras[0], seed=880, confirmed_at=late)
        outside = file_new(client, token, device, cameras[0], seed=881, confirmed_at=after_midnight)
    # A browser of its own mind: US English (mm/dd/yyyy) in New York; the page follows neither.
    context = browser.new_context(
        locale="en-US", timezone_id="America/New_York", viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    zh = language == "zh_CN"
    try:
        sign_in(page, sqlite_server, f"/review?status=all&camera={cameras[0]}&lang={language}")
        assert page.locator("article.case").count() == 2
        field = page.locator("input[name=from]")
        assert field.get_attribute("placeholder") == ("年-月-日" if zh else "yyyy-mm-dd")
        assert "UTC+08:00" in field.get_attribute("title")
        bar = page.locator("#filters").bounding_box()
        shots = screenshot_dir(tmp_path)
        page.screenshot(path=str(shots / f"review-date-empty-{language}.png"), clip=bar)
        typed = "2026年3月1日" if zh else "1 March 2026"
        page.fill("input[name=from]", typed)
        page.fill("input[name=to]", typed)
        page.screenshot(path=str(shots / f"review-date-typed-{language}.png"), clip=bar)
        with page.expect_navigation():
            page.click("#filters button[type=submit]")
        shown = [int(a.get_attribute("data-case-id")) for a in page.locator("article.case").all()]
        assert shown == [inside["id"]], f"1 March in Beijing holds case {inside['id']} only, not {outside['id']}"
        read_back = (page.input_value("input[name=from]"), page.input_value("input[name=to]"))
        assert read_back == ("2026-03-01", "2026-03-01")  # the day it read, year first
        page.fill("input[name=from]", "2026-03-02")
        page.fill("input[name=to]", "2026/3/2")
        with page.expect_navigation():
            page.click("#filters button[type=submit]")
        shown = [int(a.get_attribute("data-case-id")) for a in page.locator("article.case").all()]
        assert shown == [outside["id"]]

        # A day that does not exist: said in the page's language, and the filter is dropped.
        page.fill("input[name=from]", "2026-02-30")
        with page.expect_navigation():
            page.click("#filters button[type=submit]")
        notice = page.text_content("#flash-error")
        assert notice == (
            "2026-02-30 不是日期（年-月-日），已忽略。" if zh else "2026-02-30 is not a date (yyyy-mm-dd); ignored."
        )
    finally:
        context.close()


REFUSALS = {
    "zh_CN": "案件 {id} 未更改：案件当前状态下不能进行此步骤，请刷新页面",
    "en": "Case {id} not changed: this step is not possible in the case's current status; reload the page",
}


@pytest.mark.parametrize("language", list(REFUSALS))
def test_a_refused_action_is_told_in_the_page_language(
    browser, sqlite_server: LiveServer, tmp_path: Path, language: str
) -> None:
    """Another reviewer accepted the case while this page was open: the refusal of a second accept is a
    known message in the page's language, the API's own words only as secondary text."""
    token, device, cameras = sqlite_server.new_device()
    with sqlite_server.client() as client:
        case = file_new(client, token, device, cameras[0], seed=886 + len(language))
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        sign_in(page, sqlite_server, f"/review/cases/{case['id']}?lang={language}")
        with sqlite_server.reviewer_client() as other:
            moved = other.post(f"/api/v1/cases/{case['id']}/transitions", json={"to": "accepted"})
            assert moved.status_code == 200, moved.text
        with page.expect_navigation():
            page.click("form.accept button")
        assert page.text_content("#flash-error .message") == REFUSALS[language].format(id=case["id"])
        detail = page.text_content("#flash-error .error-detail")
        assert detail.startswith(f"case {case['id']}: ") and "accepted" in detail  # the API's words, as it wrote them
        page.locator("#flash-error").screenshot(path=str(screenshot_dir(tmp_path) / f"review-refusal-{language}.png"))
    finally:
        page.close()


def test_case_page_runs_the_whole_workflow(browser, sqlite_server: LiveServer, tmp_path: Path) -> None:
    token, device, cameras = sqlite_server.new_device()
    with sqlite_server.client() as client:
        garbage = [{"class": "garbage", "confidence": 0.77, "box": [12.0, 20.0, 50.0, 44.0]}]
        case = file_new(
            client, token, device, cameras[0], seed=850, violation_type="exposed_garbage", detections=garbage
        )
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    path = f"/review/cases/{case['id']}"
    try:
        sign_in(page, sqlite_server, path)
        assert "01-02" in page.text_content("dl") and "市容环境 › 暴露垃圾" in page.text_content("dl")
        assert page.locator(".frame").count() == 4  # every frame; boxes over the clean confirmation frame
        assert page.locator("svg rect.box").count() == 1
        with page.expect_navigation():
            page.keyboard.press("a")
        assert f"案件 {case['id']}：已立案" in page.text_content("#flash")
        # Routed to its department by the workflow table; dispatch starts the deadline.
        assert page.locator("form.dispatch select").input_value() == "sanitation"
        with page.expect_navigation():
            page.keyboard.press("d")
        assert "已派遣" in page.text_content(".status")
        assert "环卫中心" in page.text_content("dl") and "处置时限" in page.text_content("dl")
        page.fill("form.resolve input[name=reason]", "已清运")
        with page.expect_navigation():
            page.click("form.resolve button")
        # 核查不通过: back to the department, with the reason.
        page.fill("form.return input[name=reason]", "仍有垃圾袋")
        with page.expect_navigation():
            page.click("form.return button")
        assert "已派遣" in page.text_content(".status")
        with page.expect_navigation():
            page.click("form.resolve button")
        with page.expect_navigation():
            page.click("form.verify button")
        with page.expect_navigation():
            page.click("form.close button")
        assert "已结案" in page.text_content(".status")
        rows = page.locator("#history tbody tr")
        assert rows.count() == 8
        assert "已清运" in rows.nth(3).text_content()
        assert "仍有垃圾袋" in rows.nth(4).text_content()
        assert "已处置（待核查） → 已派遣（处置中）" in rows.nth(4).text_content()
        page.screenshot(path=str(screenshot_dir(tmp_path) / "review-case-zh.jpg"), quality=70, full_page=True)

        # English on request, remembered by a cookie.
        page.goto(f"{sqlite_server.base_url}{path}?lang=en")
        assert "Closed" in page.text_content(".status")
        assert page.get_attribute("html", "lang") == "en"
        page.goto(f"{sqlite_server.base_url}/review?status=closed")
        assert "History" not in page.text_content("body") and "Cases" in page.text_content("h1")
        page.screenshot(path=str(screenshot_dir(tmp_path) / "review-closed-en.jpg"), quality=70)
    finally:
        page.close()
    with sqlite_server.reviewer_client() as reviewer:
        final = reviewer.get(f"/api/v1/cases/{case['id']}").json()
    assert (final["status"], final["department"], final["standard_code"]) == ("closed", "sanitation", "01-02")
    assert final["due_at"] is not None and final["resolved_at"] is not None


@contextlib.contextmanager
def attacker_site(html: str) -> Iterator[str]:
    """A page served from another port of 127.0.0.1: another origin, as an attacker's site would be."""
    body = html.encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()


CSP_WATCH = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', e => window.__cspViolations.push(
  e.violatedDirective + ' ' + (e.blockedURI || 'inline')));
"""


def test_the_page_works_under_its_content_security_policy(browser, sqlite_server: LiveServer) -> None:
    """The queue renders, its image and boxes show, its shortcuts act, and the browser reports no
    violation of the policy the service sends (an inline script or style would be one)."""
    token, device, cameras = sqlite_server.new_device()
    with sqlite_server.client() as client:
        case = file_new(client, token, device, cameras[0], seed=720)
    context = browser.new_context()
    context.add_init_script(CSP_WATCH)
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    try:
        response = page.goto(f"{sqlite_server.base_url}/review/login")
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        sign_in(page, sqlite_server)
        article = page.locator(f"#case-{case['id']}")
        image = article.locator(".frame img")
        image.scroll_into_view_if_needed()
        page.wait_for_function("img => img.complete && img.naturalWidth === 64", arg=image.element_handle())
        box = article.locator(".frame").bounding_box()
        assert box is not None and box["height"] > 10  # the frame keeps the image's shape without inline style
        article.locator("h2").click()
        with page.expect_navigation():
            page.keyboard.press("a")
        assert f"案件 {case['id']}：已立案" in page.text_content("#flash")
        assert page.evaluate("window.__cspViolations") == []
        assert not [m for m in console if "Content Security Policy" in m], console
    finally:
        context.close()


def test_another_site_cannot_frame_the_review_page(browser, sqlite_server: LiveServer) -> None:
    """Clickjacking: a page on another origin puts the signed-in queue in an invisible frame."""
    token, device, cameras = sqlite_server.new_device()
    with sqlite_server.client() as client:
        case = file_new(client, token, device, cameras[0], seed=730)
    context = browser.new_context()
    page = context.new_page()
    try:
        sign_in(page, sqlite_server)
        page.wait_for_selector(f"#case-{case['id']}")
        attacker = context.new_page()
        # Another port is another origin but the same site, so the SameSite cookie still goes along.
        with attacker_site(f'<iframe src="{sqlite_server.base_url}/review" width="800" height="600"></iframe>') as evil:
            attacker.goto(evil)
            attacker.wait_for_timeout(1500)
            framed = [f for f in attacker.frames if f is not attacker.main_frame]
            assert framed
            for frame in framed:
                try:
                    loaded = frame.locator(f"#case-{case['id']}").count()
                except Exception:  # a blocked frame has no document to query
                    loaded = 0
                assert loaded == 0, f"the review queue loaded inside another origin's frame ({frame.url})"
    finally:
        context.close()
