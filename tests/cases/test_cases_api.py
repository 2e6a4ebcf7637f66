"""The filing contract and the case API against a live server, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from case_builders import file_new, images_for_case, post_case, report, sha
from live_server import LiveServer, make_token

from streetwatch.cases import migrate
from streetwatch.cases.schemas import CasePublic


def test_filing_creates_a_case_that_reads_back_with_its_evidence(server: LiveServer) -> None:
    token, device, cameras = server.new_device()
    images = images_for_case(seed=1)
    body = report(device, cameras[0], images)
    with server.client() as client:
        response = post_case(client, token, body, list(images.values()))
    assert response.status_code == 201, response.text
    case = CasePublic.model_validate(response.json())
    assert response.headers["location"] == f"/api/v1/cases/{case.id}"
    assert (case.status.value, case.event_id, case.camera_id) == ("reported", body["event_id"], cameras[0])
    assert {e.role: e.sha256 for e in case.evidence} == {role: sha(data) for role, data in images.items()}
    with server.reviewer_client() as reviewer:
        again = reviewer.get(f"/api/v1/cases/{case.id}").json()
        assert again["history"][0] | {"at": None} == {
            "at": None, "actor": device, "actor_kind": "device", "action": "filed", "from_status": None,
            "to_status": "reported", "reason": None, "violation_type": None,
        }  # fmt: skip
        for evidence in case.evidence:
            download = reviewer.get(evidence.url)
            assert download.status_code == 200
            assert download.headers["content-type"] == "image/jpeg"
            assert download.content == images[evidence.role]


def test_replay_with_same_body_is_200_and_other_body_is_409(server: LiveServer) -> None:
    token, device, cameras = server.new_device()
    images = images_for_case(seed=2)
    body = report(device, cameras[0], images)
    with server.client() as client:
        first = post_case(client, token, body, list(images.values()))
        replay = post_case(client, token, body, list(reversed(images.values())))  # part order does not matter
        changed = post_case(client, token, body | {"zone_id": "zone-2"}, list(images.values()))
    assert (first.status_code, replay.status_code) == (201, 200)
    assert replay.json()["id"] == first.json()["id"]
    assert changed.status_code == 409
    assert "different body" in changed.json()["detail"]


def test_concurrent_replays_of_one_key_make_one_case(server: LiveServer) -> None:
    token, device, cameras = server.new_device()
    images = images_for_case(seed=3)
    body = report(device, cameras[0], images)

    def attempt(_: int) -> httpx.Response:
        with server.client() as client:
            return post_case(client, token, body, list(images.values()))

    with ThreadPoolExecutor(max_workers=12) as pool:
        responses = list(pool.map(attempt, range(24)))
    codes = sorted(r.status_code for r in responses)
    assert codes == [200] * 23 + [201], [r.text for r in responses if r.status_code >= 300]
    assert len({r.json()["id"] for r in responses}) == 1
    with server.reviewer_client() as reviewer:
        listed = reviewer.get("/api/v1/cases", params={"camera_id": cameras[0]}).json()["items"]
    assert [c["event_id"] for c in listed] == [body["event_id"]]


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        ({"device_id": "someone-else"}, 403, "belongs to device"),
        ({"camera_id": "not-my-camera"}, 403, "may file for cameras"),
    ],
)
def test_a_device_files_only_for_itself_and_its_cameras(
    server: LiveServer, change: dict, status: int, message: str
) -> None:
    token, device, cameras = server.new_device()
    images = images_for_case(seed=4)
    body = report(device, cameras[0], images) | change
    with server.client() as client:
        response = post_case(client, token, body, list(images.values()))
    assert response.status_code == status
    assert message in response.json()["detail"]


def test_tokens_are_checked(server: LiveServer) -> None:
    token, device, cameras = server.new_device()
    images = images_for_case(seed=5)
    body = report(device, cameras[0], images)
    with server.client() as client:
        assert post_case(client, None, body, list(images.values())).status_code == 401
        assert post_case(client, "swd_not-a-token", body, list(images.values())).status_code == 401
        by_reviewer = post_case(client, server.reviewer, body, list(images.values()))
        assert by_reviewer.status_code == 403
        assert "only device tokens" in by_reviewer.json()["detail"]
        assert client.get("/api/v1/cases").status_code == 401
        as_device = client.get("/api/v1/cases", headers={"Authorization": f"Bearer {token}"})
        assert as_device.status_code == 403


def test_a_revoked_token_is_refused(server: LiveServer) -> None:
    from streetwatch.cases.db import make_engine, make_sessionmaker, session_scope
    from streetwatch.cases.tokens import list_tokens, revoke_token

    token, device, cameras = server.new_device()
    engine = make_engine(server.db_url)
    with session_scope(make_sessionmaker(engine)) as session:
        record = next(t for t in list_tokens(session) if t.subject == device)
        revoke_token(session, record.id)
    engine.dispose()
    images = images_for_case(seed=6)
    with server.client() as client:
        response = post_case(client, token, report(device, cameras[0], images), list(images.values()))
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


@pytest.mark.parametrize(
    ("mutate", "loc"),
    [
        (lambda b: b.pop("location"), ["case", "location"]),
        (lambda b: b.update(violation_type="jaywalking"), ["case", "violation_type"]),
        (lambda b: b.update(first_seen="yesterday"), ["case", "first_seen"]),
        (lambda b: b["detections"][0].update({"class": "unicorn"}), ["case", "detections", 0]),
        (lambda b: b.update(surprise=1), ["case", "surprise"]),
    ],
)
def test_invalid_case_json_says_which_field(server: LiveServer, mutate, loc: list) -> None:
    token, device, cameras = server.new_device()
    images = images_for_case(seed=7)
    body = report(device, cameras[0], images)
    mutate(body)
    with server.client() as client:
        response = post_case(client, token, body, list(images.values()))
    assert response.status_code == 422
    assert any(error["loc"][: len(loc)] == loc for error in response.json()["detail"]), response.text


def test_idempotency_key_must_be_the_event_id(server: LiveServer) -> None:
    token, device, cameras = server.new_device()
    images = images_for_case(seed=8)
    body = report(device, cameras[0], images)
    with server.client() as client:
        response = post_case(client, token, body, list(images.values()), key=str(uuid.uuid4()))
    assert response.status_code == 422
    assert "must equal case.event_id" in response.json()["detail"]


def test_list_filters_and_cursor_pagination(server: LiveServer) -> None:
    token, device, cameras = server.new_device()
    base = datetime(2026, 3, 1, 12, tzinfo=UTC)
    filed = []
    with server.client() as client:
        for i in range(5):
            filed.append(
                file_new(
                    client, token, device, cameras[i % 2], seed=100 + i,
                    violation_type="exposed_garbage" if i == 4 else "illegal_parking",
                    confirmed_at=base + timedelta(hours=i), lat=30.0 + i, lon=120.0 + i,
                )
            )  # fmt: skip
    ids = [c["id"] for c in filed]
    with server.reviewer_client() as reviewer:

        def listed(**params: object) -> list[int]:
            response = reviewer.get("/api/v1/cases", params={"camera_id": cameras[0], **params})
            assert response.status_code == 200, response.text
            return [c["id"] for c in response.json()["items"]]

        assert listed() == [ids[4], ids[2], ids[0]]
        assert listed(violation_type="illegal_parking") == [ids[2], ids[0]]
        assert listed(since=(base + timedelta(hours=1)).isoformat(), until=(base + timedelta(hours=4)).isoformat()) == [
            ids[2]
        ]
        assert listed(bbox="121.5,31.5,124.5,34.5") == [ids[4], ids[2]]
        assert listed(status="accepted,rejected") == []
        assert listed(status="reported") == [ids[4], ids[2], ids[0]]
        # Pages of two, newest first, until the cursor runs out.
        seen, cursor = [], None
        while True:
            params = {"camera_id": cameras[1], "limit": 1} | ({"cursor": cursor} if cursor else {})
            page = reviewer.get("/api/v1/cases", params=params).json()
            seen += [c["id"] for c in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == [ids[3], ids[1]]
        for bad in ({"bbox": "1,2,3"}, {"status": "lost"}, {"cursor": "garbage!"}, {"since": "2026-01-01T00:00:00"}):
            response = reviewer.get("/api/v1/cases", params=bad)
            assert response.status_code == 422, (bad, response.text)


def test_unknown_case_and_evidence_are_404(server: LiveServer) -> None:
    with server.reviewer_client() as reviewer:
        assert reviewer.get("/api/v1/cases/999999").status_code == 404
        assert reviewer.get(f"/api/v1/cases/1/evidence/{'0' * 64}").status_code == 404


def test_healthz_and_metrics(server: LiveServer) -> None:
    with server.client() as client:
        health = client.get("/healthz").json()
        head = migrate.head_revision()  # the newest migration, whichever that is
        assert head is not None
        assert health == {"status": "ok", "database": "ok", "evidence_store": "ok", "schema_revision": head}
        text = client.get("/metrics").text
    assert "streetwatch_http_requests_total" in text
    assert "streetwatch_case_filings_total" in text


def test_open311_view(server: LiveServer) -> None:
    token, device, cameras = server.new_device()
    with server.client() as client:
        services = client.get("/open311/v2/services.json").json()
        codes = {s["service_code"]: s for s in services}
        assert {"05-05", "05-06", "05-01", "01-02", "01-27"} <= set(codes)
        case = file_new(client, token, device, cameras[0], seed=200, violation_type="open_burning",
                        standard_code="01-27")  # fmt: skip
        one = client.get(f"/open311/v2/requests/{case['id']}.json").json()
        assert len(one) == 1
        assert (one[0]["service_code"], one[0]["status"], one[0]["lat"]) == ("01-27", "open", 31.23)
        assert "media_url" in one[0] and one[0]["media_url"] is None  # evidence is not public

        created = client.post(
            "/open311/v2/requests.json",
            data={"api_key": server.client_key, "service_code": "01-02", "lat": "31.2", "long": "121.4",
                  "description": "bags of rubbish by the bus stop", "email": "someone@example.org"},
        )  # fmt: skip
        assert created.status_code == 201, created.text
        request_id = created.json()[0]["service_request_id"]
        citizen = client.get(f"/open311/v2/requests/{request_id}.json").json()[0]
        assert (citizen["service_code"], citizen["description"]) == ("01-02", "bags of rubbish by the bus stop")
        assert "someone@example.org" not in json.dumps(citizen)

        with server.reviewer_client() as reviewer:
            rejected = reviewer.post(
                f"/api/v1/cases/{request_id}/transitions", json={"to": "rejected", "reason": "dup"}
            )
            assert rejected.status_code == 200, rejected.text
        closed = client.get("/open311/v2/requests.json", params={"status": "closed", "service_request_id": request_id})
        assert [r["service_request_id"] for r in closed.json()] == [request_id]
        assert closed.json()[0]["status_notes"] == "rejected: dup"

        for data, code in (
            ({"api_key": server.client_key, "service_code": "99999", "lat": "1", "long": "1"}, 400),
            ({"api_key": "nope", "service_code": "01-02", "lat": "1", "long": "1"}, 403),
            ({"api_key": token, "service_code": "01-02", "lat": "1", "long": "1"}, 403),
            ({"api_key": server.client_key, "service_code": "01-02"}, 400),
        ):
            response = client.post("/open311/v2/requests.json", data=data)
            assert response.status_code == code, response.text
            assert response.json()[0]["code"] == code
        assert client.get("/open311/v2/requests/999999.json").json() == [
            {"code": 404, "description": "no service request 999999"}
        ]


def test_make_token_rejects_bad_ids(server: LiveServer) -> None:
    from streetwatch.errors import InputError

    with pytest.raises(InputError, match="not a valid device/camera id"):
        make_token(server.db_url, "device", "edge 1", ["cam-1"])
    with pytest.raises(InputError, match="needs at least one camera"):
        make_token(server.db_url, "device", "edge-1", [])
