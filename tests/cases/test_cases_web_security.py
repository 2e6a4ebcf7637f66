"""The review page against the web's usual attacks: framing (clickjacking), sniffing, leaking
referrers, sessions that outlive their sign-out, and attacker text shown as the page's own alert.
Through the live service (the browser side is in test_cases_review_browser.py)."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

import httpx
import pytest
from case_builders import file_new
from live_server import LiveServer


@contextlib.contextmanager
def signed_in(server: LiveServer) -> Iterator[httpx.Client]:
    with server.client(follow_redirects=False) as client:
        response = client.post("/review/login", data={"token": server.reviewer})
        assert response.status_code == 303, response.text
        yield client


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/review/login"),
        ("GET", "/review"),
        ("GET", "/healthz"),
        ("GET", "/static/review.css"),
        ("GET", "/api/v1/cases"),  # 401
        ("GET", "/open311/v2/services.json"),
        ("GET", "/no/such/page"),  # 404
        ("POST", "/review/login"),  # 422: no token
        ("GET", "/docs"),
    ],
)
def test_security_headers_on_every_response(sqlite_server: LiveServer, method: str, path: str) -> None:
    with sqlite_server.client() as client:
        response = client.request(method, path)
    headers = response.headers
    assert headers.get("x-frame-options") == "DENY", (path, dict(headers))
    assert headers.get("x-content-type-options") == "nosniff"
    assert headers.get("referrer-policy") == "no-referrer"
    csp = headers.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in csp, csp
    assert "object-src 'none'" in csp
    if path != "/docs":  # Swagger UI is the one page that needs its CDN and an inline script
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp, csp


def test_sign_out_revokes_the_session_on_the_server(server: LiveServer) -> None:
    """The old cookie, replayed after sign-out (as a thief who copied it would), opens nothing; on
    PostgreSQL the service runs two workers, so the revocation must be shared, not in one process."""
    sqlite_server = server
    token, device, cameras = sqlite_server.new_device()
    with sqlite_server.client() as filer:
        case = file_new(filer, token, device, cameras[0], seed=880)
    with signed_in(sqlite_server) as client:
        cookie = client.cookies.get("sw_review")
        assert client.get("/review").status_code == 200
        assert client.get(f"/api/v1/cases/{case['id']}").status_code == 200
        page = client.get("/review").text
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
        assert client.post("/review/logout").status_code == 303
    with sqlite_server.client(follow_redirects=False, cookies={"sw_review": cookie}) as thief:
        assert thief.get("/review").headers["location"] == "/review/login"
        assert thief.get(f"/api/v1/cases/{case['id']}").status_code == 401
        act = thief.post(f"/review/cases/{case['id']}", data={"action": "accept", "csrf": csrf})
        assert act.status_code == 303 and act.headers["location"] == "/review/login"
    with sqlite_server.reviewer_client() as reviewer:
        assert reviewer.get(f"/api/v1/cases/{case['id']}").json()["status"] == "reported"


def test_two_sessions_are_separate(sqlite_server: LiveServer) -> None:
    """Signing out in one browser leaves the reviewer's other browser signed in."""
    with signed_in(sqlite_server) as office, signed_in(sqlite_server) as phone:
        assert office.post("/review/logout").status_code == 303
        assert phone.get("/review").status_code == 200


@pytest.mark.parametrize(
    "text",
    [
        "Your session expired. Sign in again at https://evil.example/review",
        "<b>bold</b>",
        "Case 1: choose why it is rejected.",  # even a real message's words, when the service did not sign them
    ],
)
def test_review_alerts_show_only_the_services_own_notices(sqlite_server: LiveServer, text: str) -> None:
    token, device, cameras = sqlite_server.new_device()
    with sqlite_server.client() as filer:
        case = file_new(filer, token, device, cameras[0], seed=890 + len(text))
    with signed_in(sqlite_server) as client:
        for path in ("/review", f"/review/cases/{case['id']}"):
            for params in ({"error": text}, {"error": text, "sig": "0" * 32}):
                page = client.get(path, params=params).text
                assert text not in page and "&lt;b&gt;" not in page  # (the language link carries it URL-encoded)
                assert 'id="flash-error"' not in page, page[:2000]
    with sqlite_server.client() as anonymous:
        login = anonymous.get("/review/login", params={"error": text}).text
        assert text not in login and 'role="alert"' not in login


def test_the_services_own_notice_is_shown(sqlite_server: LiveServer) -> None:
    """A rejection without a reason comes back with the service's (signed) notice, which shows."""
    token, device, cameras = sqlite_server.new_device()
    with sqlite_server.client() as filer:
        case = file_new(filer, token, device, cameras[0], seed=899)
    with signed_in(sqlite_server) as client:
        page = client.get("/review", params={"lang": "en"}).text
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
        refused = client.post(f"/review/cases/{case['id']}", data={"action": "reject", "csrf": csrf})
        assert refused.status_code == 303 and "sig=" in refused.headers["location"]
        shown = client.get(refused.headers["location"]).text
        assert 'id="flash-error"' in shown
        assert f"Case {case['id']}: choose why it is rejected." in shown


def test_a_notices_detail_is_signed_with_it(sqlite_server: LiveServer) -> None:
    """A refusal's secondary detail (the API's words) is under the notice's signature: a link that swaps
    it shows no alert at all."""
    token, device, cameras = sqlite_server.new_device()
    with sqlite_server.client() as filer:
        case = file_new(filer, token, device, cameras[0], seed=898)
    with sqlite_server.reviewer_client() as other:
        assert other.post(f"/api/v1/cases/{case['id']}/transitions", json={"to": "accepted"}).status_code == 200
    with signed_in(sqlite_server) as client:
        page = client.get(f"/review/cases/{case['id']}").text
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
        refused = client.post(f"/review/cases/{case['id']}", data={"action": "accept", "csrf": csrf})
        location = refused.headers["location"]
        assert refused.status_code == 303 and "detail=" in location
        shown = client.get(location).text
        assert 'class="error-detail"' in shown and "cannot become accepted" in shown
        swapped = re.sub(r"detail=[^&]*", "detail=call+0800+evil", location)
        page = client.get(swapped).text
        assert 'id="flash-error"' not in page and "0800" not in page.split('id="page-messages"')[1]
