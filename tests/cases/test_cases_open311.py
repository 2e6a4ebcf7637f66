"""Open311 GeoReport v2 as specified: XML (required) and JSON, service definitions, address-only
reports, deadlines as expected_datetime, and the code filter applied before the 1000-request cap."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.etree import ElementTree

import pytest
from case_builders import file_new
from live_server import LiveServer, make_token, start_server, stop_server

from streetwatch.cases.db import make_engine, make_sessionmaker, session_scope
from streetwatch.cases.models import Case


def xml(response) -> ElementTree.Element:  # type: ignore[no-untyped-def]
    assert response.headers["content-type"].startswith("application/xml"), response.headers["content-type"]
    return ElementTree.fromstring(response.content)


def test_services_in_xml_and_json(server: LiveServer) -> None:
    with server.client() as client:
        as_json = client.get("/open311/v2/services.json").json()
        root = xml(client.get("/open311/v2/services.xml"))
        assert root.tag == "services"
        from_xml = [{child.tag: child.text for child in service} for service in root.findall("service")]
        assert [s["service_code"] for s in from_xml] == [s["service_code"] for s in as_json]
        parking = next(s for s in from_xml if s["service_code"] == "05-06")
        assert (parking["service_name"], parking["group"], parking["metadata"]) == (
            "非机动车乱停放",
            "街面秩序",
            "false",
        )
        assert parking["type"] == "realtime" and parking["keywords"] == "illegal_parking"

        definition = xml(client.get("/open311/v2/services/05-06.xml"))
        assert definition.tag == "service_definition"
        assert definition.findtext("service_code") == "05-06" and definition.find("attributes") is not None
        assert client.get("/open311/v2/services/05-06.json").json() == {"service_code": "05-06", "attributes": []}
        missing = client.get("/open311/v2/services/99-99.xml")
        assert missing.status_code == 404
        error = xml(missing)
        assert error.tag == "errors" and error.find("error/code").text == "404"
        assert client.get("/open311/v2/services.csv").status_code == 404


def test_requests_in_xml_with_deadline_and_department(server: LiveServer) -> None:
    token, device, cameras = server.new_device()
    with server.client() as client:
        case = file_new(client, token, device, cameras[0], seed=950, violation_type="exposed_garbage")
    with server.reviewer_client() as reviewer:
        for step in ("accepted", "dispatched"):
            assert reviewer.post(f"/api/v1/cases/{case['id']}/transitions", json={"to": step}).status_code == 200
        due = reviewer.get(f"/api/v1/cases/{case['id']}").json()["due_at"]
    with server.client() as client:
        root = xml(client.get(f"/open311/v2/requests/{case['id']}.xml"))
        assert root.tag == "service_requests"
        [request] = root.findall("request")
        fields = {child.tag: child.text for child in request}
        assert fields["service_request_id"] == str(case["id"])
        assert (fields["service_code"], fields["service_name"], fields["status"]) == ("01-02", "暴露垃圾", "open")
        assert datetime.fromisoformat(fields["expected_datetime"]) == datetime.fromisoformat(due)
        assert fields["agency_responsible"] == "环卫中心"
        assert fields["media_url"] is None  # no public copy of the frames: nothing is published
        one = client.get(f"/open311/v2/requests/{case['id']}.json").json()[0]
        assert datetime.fromisoformat(one["expected_datetime"]) == datetime.fromisoformat(due)


def test_a_report_with_only_an_address(server: LiveServer) -> None:
    with server.client() as client:
        created = client.post(
            "/open311/v2/requests.xml",
            data={"api_key": server.client_key, "service_code": "05-01", "address_string": "朝阳区光华路 9 号门口",
                  "description": "有人摆摊卖水果"},
        )  # fmt: skip
        assert created.status_code == 201, created.text
        request_id = xml(created).findtext("request/service_request_id")
        shown = client.get(f"/open311/v2/requests/{request_id}.json").json()[0]
        assert (shown["address"], shown["lat"], shown["long"]) == ("朝阳区光华路 9 号门口", None, None)
        by_grid = client.post(
            "/open311/v2/requests.json",
            data={"api_key": server.client_key, "service_code": "01-02", "address_id": "110105-017"},
        )
        assert by_grid.status_code == 201, by_grid.text
        for data, message in (
            ({"service_code": "05-01"}, "a location is required"),
            ({"service_code": "05-01", "lat": "39.9"}, "lat and long come together"),
        ):
            refused = client.post("/open311/v2/requests.json", data={"api_key": server.client_key, **data})
            assert refused.status_code == 400
            assert message in refused.json()[0]["description"]
    with server.reviewer_client() as reviewer:
        case = reviewer.get(f"/api/v1/cases/{request_id}").json()
    assert case["location"] == {"lat": None, "lon": None, "address": "朝阳区光华路 9 号门口", "grid_code": None}


@pytest.fixture(scope="module")
def crowded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, int]]:
    """A service holding 1,100 parking cases (05-05) and, older than all of them, 5 garbage cases (01-02)."""
    workdir = tmp_path_factory.mktemp("crowded")
    db = f"sqlite:///{workdir / 'cases.db'}"
    live = start_server(db, workdir)
    live.client_key = make_token(db, "client", "app")
    engine = make_engine(db)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    rows = []
    for i in range(1105):
        garbage = i < 5
        at = start + timedelta(minutes=i)
        fields = {
            "event_id": str(uuid.uuid4()), "body_sha256": "0" * 64, "source": "edge", "status": "reported",
            "violation_type": "exposed_garbage" if garbage else "illegal_parking",
            "standard_code": "01-02" if garbage else "05-05", "urgent": False, "device_id": "edge-x",
            "camera_id": "cam-x", "zone_id": "z", "first_seen": at, "confirmed_at": at, "received_at": at,
            "updated_at": at, "lat": 39.9, "lon": 116.4, "detections": [],
        }  # fmt: skip
        rows.append(Case(**fields))
    with session_scope(make_sessionmaker(engine)) as session:
        session.add_all(rows)
    engine.dispose()
    try:
        yield live, 1105
    finally:
        stop_server(live)


def test_code_filter_applies_before_the_cap(crowded: tuple[LiveServer, int]) -> None:
    live, _ = crowded
    with live.client() as client:
        everything = client.get("/open311/v2/requests.json").json()
        assert len(everything) == 1000  # the cap
        garbage = client.get("/open311/v2/requests.json", params={"service_code": "01-02"}).json()
        # The five oldest cases: a filter applied after the cap would have found none of them.
        assert sorted(int(r["service_request_id"]) for r in garbage) == [1, 2, 3, 4, 5]
        both = client.get("/open311/v2/requests.xml", params={"service_code": "01-02,05-05", "page_size": 10})
        assert len(xml(both).findall("request")) == 10


def test_pages_reach_past_the_cap(crowded: tuple[LiveServer, int]) -> None:
    live, total = crowded
    seen: list[int] = []
    with live.client() as client:
        for page in (1, 2, 3):
            rows = client.get("/open311/v2/requests.json", params={"page": page, "page_size": 500}).json()
            seen += [int(r["service_request_id"]) for r in rows]
        assert client.get("/open311/v2/requests.json", params={"page": 4, "page_size": 500}).json() == []
        too_big = client.get("/open311/v2/requests.json", params={"page_size": 1001})
        assert too_big.status_code == 400
    assert sorted(seen) == list(range(1, total + 1))  # every request once, newest first within pages
    assert seen[0] == total


def test_bad_filters_are_explained(tmp_path: Path, server: LiveServer) -> None:
    with server.client() as client:
        response = client.get("/open311/v2/requests.xml", params={"service_code": "09009"})
        assert response.status_code == 400
        assert "unknown service_code '09009'" in xml(response).findtext("error/description")
