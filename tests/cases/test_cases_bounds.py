"""Hostile values on both backends (SQLite and PostgreSQL, through the live service): every number,
date and string a client can send is bounded, and the answer is a 4xx JSON error, never a 5xx.

Each case here was answered 500 (or stored as garbage) by an earlier version of the service."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from case_builders import file_new, images_for_case, post_case, report
from live_server import LiveServer

OVERFLOWING = "9999-12-31T23:59:59-14:00"  # valid ISO-8601, but past datetime.max in UTC
UNDERFLOWING = "0001-01-01T00:00:00+14:00"
DEEP = 100_000


def _set(body: dict, path: str, value: object) -> dict:
    """`body` with the value at a dotted path (list indices as numbers) replaced."""
    target: object = body
    keys = [int(k) if k.isdigit() else k for k in path.split(".")]
    for key in keys[:-1]:
        target = target[key]  # type: ignore[index]
    target[keys[-1]] = value  # type: ignore[index]
    return body


# (dotted path in the case JSON, hostile value, words the 422 must contain)
HOSTILE_FIELDS = [
    ("detections.0.box.2", math.inf, "finite"),
    ("detections.0.box.0", -math.inf, "finite"),
    ("detections.0.box.1", math.nan, "finite"),
    ("detections.0.confidence", math.nan, "confidence"),
    ("detections.0.box", [10.0, 8.0, 4000.0, 30.0], "outside the frame"),
    ("detections.0.box", [10.0, 8.0, 1e300, 30.0], "less than or equal"),
    ("detections.0.tracker_id", 10**19, "tracker_id"),
    ("location.lat", math.nan, "lat"),
    ("location.lon", math.inf, "lon"),
    ("frame_size", [10**19, 5], "frame_size"),
    ("frame_size", [0, 48], "frame_size"),
    ("frame_size", [-64, 48], "frame_size"),
    ("first_seen", OVERFLOWING, "out of range"),
    ("confirmed_at", OVERFLOWING, "out of range"),
    ("first_seen", UNDERFLOWING, "out of range"),
    ("evidence.0.captured_at", OVERFLOWING, "out of range"),
    ("confirmed_at", "2150-01-01T00:00:00Z", "server's clock"),
    ("first_seen", "2001-01-01T00:00:00Z", "server's clock"),
    ("location.address", "1 Example\x00 Road", "NUL"),
    ("location.grid_code", "310101\x00", "NUL"),
    ("standard_code", "09\x00009", "NUL"),
    ("model.name", "yolo\x00", "NUL"),
    ("model.version", "\x00", "NUL"),
    ("detections.0.class", "car\x00", "class"),
    ("device_id", "edge\x00", "device_id"),
]


def _assert_json_4xx(response: httpx.Response, *, status: int | tuple[int, ...] = 422) -> object:
    statuses = (status,) if isinstance(status, int) else status
    assert response.status_code in statuses, (response.status_code, response.text[:500])
    assert response.headers["content-type"].startswith("application/json"), response.headers
    return response.json()


@pytest.mark.parametrize(("path", "value", "words"), HOSTILE_FIELDS, ids=[f"{p}={v!r}" for p, v, _ in HOSTILE_FIELDS])
def test_hostile_case_fields_are_refused(server: LiveServer, path: str, value: object, words: str) -> None:
    token, device, cameras = server.new_device()
    images = images_for_case(seed=abs(hash((path, repr(value)))) % 10_000)
    body = _set(report(device, cameras[0], images), path, value)
    text = json.dumps(body)  # json.dumps writes NaN / Infinity literals, as a hostile client may
    with server.client() as client:
        response = post_case(client, token, text, list(images.values()), key=body["event_id"])
        detail = _assert_json_4xx(response)
        assert words in json.dumps(detail, ensure_ascii=False), detail
        with server.reviewer_client() as reviewer:
            mine = reviewer.get("/api/v1/cases", params={"camera_id": cameras[0]}).json()
        assert mine["items"] == []
    # Nothing reached the store either: the images of a refused case are not kept.
    for data in images.values():
        assert not any(server.evidence_dir.rglob(f"{__import__('hashlib').sha256(data).hexdigest()}*"))


@pytest.mark.parametrize("where", ["whole", "detections"])
def test_deeply_nested_json_is_a_422(server: LiveServer, where: str) -> None:
    token, device, cameras = server.new_device()
    images = images_for_case(seed=31)
    nested = "[" * DEEP + "]" * DEEP
    if where == "whole":
        text = nested
    else:
        text = json.dumps(report(device, cameras[0], images)).replace('"detections": [', f'"detections": [{nested},', 1)
    with server.client() as client:
        response = post_case(client, token, text, list(images.values()), key=None)
        _assert_json_4xx(response, status=(413, 422))
        # The reviewer's JSON endpoint too (FastAPI parses that body itself).
        case = file_new(client, token, device, cameras[0], seed=32)
        with server.reviewer_client() as reviewer:
            deep = reviewer.post(
                f"/api/v1/cases/{case['id']}/transitions",
                content=nested.encode(),
                headers={"Content-Type": "application/json"},
            )
            _assert_json_4xx(deep, status=(400, 422))
            nul = reviewer.post(f"/api/v1/cases/{case['id']}/transitions", json={"to": "rejected", "reason": "a\x00b"})
            _assert_json_4xx(nul)


@pytest.mark.parametrize(
    "params",
    [
        {"until": OVERFLOWING},
        {"since": OVERFLOWING},
        {"since": UNDERFLOWING},
        {"camera_id": "cam\x00"},
        {"cursor": "\x00"},
        {"status": "reported\x00"},
        {"bbox": "nan,nan,nan,nan"},
        {"bbox": "-inf,-90,inf,90"},
    ],
    ids=lambda p: next(iter(p.items())).__repr__(),
)
def test_hostile_api_filters(server: LiveServer, params: dict[str, str]) -> None:
    with server.reviewer_client() as reviewer:
        _assert_json_4xx(reviewer.get("/api/v1/cases", params=params))


@pytest.mark.parametrize(
    "params",
    [{"start_date": OVERFLOWING}, {"end_date": OVERFLOWING}, {"start_date": UNDERFLOWING}, {"service_code": "\x00"}],
    ids=lambda p: next(iter(p.items())).__repr__(),
)
def test_hostile_open311_reads(server: LiveServer, params: dict[str, str]) -> None:
    """Open311 reads are unauthenticated: anyone on the internet can send these."""
    with server.client() as client:
        body = _assert_json_4xx(client.get("/open311/v2/requests.json", params=params), status=400)
    assert isinstance(body, list) and body[0]["code"] == 400


@pytest.mark.parametrize(
    ("field", "value"),
    [("description", "fire\x00"), ("address_string", "\x00"), ("email", "a\x00@b"), ("lat", "nan"), ("long", "inf")],
)
def test_hostile_open311_post(server: LiveServer, field: str, value: str) -> None:
    form = {"api_key": server.client_key, "service_code": "01-27", "lat": "39.9", "long": "116.4", field: value}
    with server.client() as client:
        service_code = client.get("/open311/v2/services.json").json()[0]["service_code"]
        form["service_code"] = service_code
        body = _assert_json_4xx(client.post("/open311/v2/requests.json", data=form), status=400)
    assert isinstance(body, list) and body[0]["code"] == 400


def test_a_valid_case_at_the_bounds_is_accepted(server: LiveServer) -> None:
    """The bounds refuse nothing real: a box touching the frame's edges, a case held a month offline."""
    token, device, cameras = server.new_device()
    images = images_for_case(seed=33)
    month_ago = datetime.now(UTC) - timedelta(days=30)
    body = report(device, cameras[0], images, confirmed_at=month_ago)
    body["detections"][0]["box"] = [0.0, 0.0, 64.0, 48.0]
    with server.client() as client:
        response = post_case(client, token, body, list(images.values()))
    assert response.status_code == 201, response.text
    assert response.json()["detections"][0]["box"] == [0.0, 0.0, 64.0, 48.0]
