"""Slow clients and floods, against the live service (`streetwatch cases serve` on 127.0.0.1) over raw
sockets and real HTTP: a slow-loris client is cut off at the request deadlines while others are
served; the N+1th Open311 report or sign-in within a minute from one address is refused with 429 and
`Retry-After`, while another address (other loopback source addresses, 127.0.0.3 and .4) is not."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from live_server import LiveServer, make_token, start_server, stop_server

HEADER_S = 1.5
BODY_S = 1.5
MIN_RATE = 1000  # bytes per second extend the body deadline by a second
PER_MINUTE = 3


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    workdir = tmp_path_factory.mktemp("limited")
    db = f"sqlite:///{workdir / 'cases.db'}"
    env = {
        "STREETWATCH_CASES_REQUEST_HEADER_TIMEOUT_S": str(HEADER_S),
        "STREETWATCH_CASES_REQUEST_BODY_TIMEOUT_S": str(BODY_S),
        "STREETWATCH_CASES_REQUEST_BODY_MIN_RATE": str(MIN_RATE),
        "STREETWATCH_CASES_RATE_LIMIT_OPEN311_PER_MINUTE": str(PER_MINUTE),
        "STREETWATCH_CASES_RATE_LIMIT_LOGIN_PER_MINUTE": str(PER_MINUTE),
    }
    live = start_server(db, workdir, env=env)
    live.client_key = make_token(db, "client", "citizen-app")
    try:
        yield live
    finally:
        stop_server(live)


def connect(server: LiveServer) -> socket.socket:
    host, port = server.base_url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    return sock


def read_to_close(sock: socket.socket, timeout: float) -> bytes:
    """Everything the server sends until it closes; fails if it is still open after `timeout`."""
    sock.settimeout(timeout)
    data = b""
    try:
        while chunk := sock.recv(4096):
            data += chunk
    except TimeoutError:
        raise AssertionError(f"the connection is still open after {timeout} s more; got {data[:80]!r}") from None
    except ConnectionResetError:
        pass
    return data


def closed_after(sock: socket.socket, trickle: bytes, every_s: float, limit_s: float) -> tuple[float, bytes]:
    """Send `trickle` one byte per `every_s` until the server closes; (seconds it took, what it answered)."""
    start = time.monotonic()
    answer = b""
    sock.settimeout(every_s)
    for byte in trickle:
        if time.monotonic() - start > limit_s:
            raise AssertionError(f"the server still holds the connection after {limit_s} s")
        try:
            sock.sendall(bytes([byte]))
        except (BrokenPipeError, ConnectionResetError):
            return time.monotonic() - start, answer
        try:
            chunk = sock.recv(4096)
        except TimeoutError:
            continue
        except ConnectionResetError:
            return time.monotonic() - start, answer
        answer += chunk
        if not chunk:
            return time.monotonic() - start, answer
        while chunk:  # read the rest of the answer up to the close
            try:
                chunk = sock.recv(4096)
            except (TimeoutError, ConnectionResetError):
                break
            answer += chunk
        return time.monotonic() - start, answer
    raise AssertionError("the trickle ran out before the server closed the connection")


@pytest.mark.slow
def test_slow_loris_headers_and_body_are_cut_off_while_other_clients_are_served(limited: LiveServer) -> None:
    # Twenty connections trickle their headers (one byte every 0.2 s), five send nothing at all.
    headers = b"POST /open311/v2/requests.json HTTP/1.1\r\nHost: x\r\nX-Padding: " + b"a" * 500
    idle = [connect(limited) for _ in range(5)]
    slow = [connect(limited) for _ in range(20)]
    started = time.monotonic()
    for sock in slow:
        sock.sendall(headers[:10])
    with httpx.Client(base_url=limited.base_url, timeout=5) as other:
        for _ in range(5):  # meanwhile, an ordinary client is answered at once
            assert other.get("/healthz").status_code == 200
    _, answer = closed_after(slow[0], headers[10:], every_s=0.2, limit_s=HEADER_S + 5)
    elapsed = time.monotonic() - started  # the header deadline runs from the connection's start
    assert HEADER_S - 0.3 <= elapsed <= HEADER_S + 2
    assert answer.startswith(b"HTTP/1.1 408 ") and b"request headers did not arrive" in answer
    for sock in [*slow[1:], *idle]:  # every other slow or silent connection is gone too
        assert read_to_close(sock, timeout=3).startswith(b"HTTP/1.1 408 ")
        sock.close()

    # A body trickle: the headers arrive, then the body a byte every 0.2 s (5 B/s, under the minimum).
    sock = connect(limited)
    body = b"x" * 10_000
    sock.sendall(
        b"POST /open311/v2/requests.json HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
    )
    took, answer = closed_after(sock, body, every_s=0.2, limit_s=BODY_S + 5)
    sock.close()
    assert BODY_S - 0.3 <= took <= BODY_S + 2
    assert answer == b"" or answer.startswith(b"HTTP/1.1 ")

    # An honest slow upload (above the minimum rate) outlasts the body timeout and is answered.
    sock = connect(limited)
    form = f"api_key={limited.client_key}&service_code=05-01&address_string=slow+road&description=".encode()
    form += b"d" * (4000 - len(form))
    sock.sendall(
        b"POST /open311/v2/requests.json HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        + f"Content-Length: {len(form)}\r\nConnection: close\r\n\r\n".encode()
    )
    start = time.monotonic()
    for at in range(0, len(form), 250):  # 250 bytes every 0.1 s: 2,500 B/s, over 1.6 s
        sock.sendall(form[at : at + 250])
        time.sleep(0.1)
    sock.settimeout(10)
    answer = b""
    while chunk := sock.recv(4096):
        answer += chunk
    sock.close()
    assert time.monotonic() - start > BODY_S
    assert answer.startswith(b"HTTP/1.1 201 "), answer[:200]


def client_from(server: LiveServer, source: str) -> httpx.Client:
    transport = httpx.HTTPTransport(local_address=source)
    return httpx.Client(base_url=server.base_url, timeout=10, transport=transport)


def test_open311_reports_and_sign_ins_over_the_limit_get_429_with_retry_after(limited: LiveServer) -> None:
    report = {"api_key": limited.client_key, "service_code": "05-01", "address_string": "1 Example Road"}
    with client_from(limited, "127.0.0.3") as flood, client_from(limited, "127.0.0.4") as neighbour:
        for _ in range(PER_MINUTE):
            assert flood.post("/open311/v2/requests.json", data=report).status_code == 201
        refused = flood.post("/open311/v2/requests.json", data=report)
        assert refused.status_code == 429
        assert refused.headers["content-type"].startswith("application/json")
        [error] = refused.json()  # GeoReport v2's error list
        assert error["code"] == 429 and f"the limit is {PER_MINUTE} a minute" in error["description"]
        assert 1 <= int(refused.headers["retry-after"]) <= 60 / PER_MINUTE + 1
        as_xml = flood.post("/open311/v2/requests.xml", data=report)  # one bucket for both formats
        assert as_xml.status_code == 429 and as_xml.text.startswith("<?xml") and "<code>429</code>" in as_xml.text
        assert neighbour.post("/open311/v2/requests.json", data=report).status_code == 201
        assert flood.get("/open311/v2/requests.json").status_code == 200  # reads are not limited

        for _ in range(PER_MINUTE):
            assert flood.post("/review/login", data={"token": "guess"}).status_code == 401
        refused = flood.post("/review/login", data={"token": "guess"})
        assert refused.status_code == 429
        assert "too many sign-in attempts" in refused.json()["detail"]
        assert int(refused.headers["retry-after"]) >= 1
        assert neighbour.post("/review/login", data={"token": "guess"}).status_code == 401


def test_token_buckets_refill_continuously_up_to_the_burst() -> None:
    from streetwatch.cases.rate_limit import TokenBuckets

    now = [0.0]
    buckets = TokenBuckets(6, clock=lambda: now[0])  # 6 a minute: one every 10 s
    assert [buckets.take("a") for _ in range(6)] == [0.0] * 6
    assert buckets.take("a") == pytest.approx(10.0)
    assert buckets.take("b") == 0.0  # another key, its own bucket
    now[0] = 25.0  # 2.5 tokens back
    assert [buckets.take("a") > 0 for _ in range(3)] == [False, False, True]
    now[0] = 10_000.0  # never more than the burst
    assert sum(buckets.take("a") == 0.0 for _ in range(10)) == 6


def test_settings_refuse_nonsense_limits(tmp_path: Path) -> None:
    from streetwatch.cases.settings import load_settings
    from streetwatch.errors import ConfigError

    with pytest.raises(ConfigError, match="request_header_timeout_s"):
        load_settings(dev_mode=True, request_header_timeout_s=0)
    with pytest.raises(ConfigError, match="rate_limit_login_per_minute"):
        load_settings(dev_mode=True, rate_limit_login_per_minute=-1)
