"""City event codes (CJ/T 214 layout) chosen from what a case shows, and the 数字城管 workflow:
routing to departments, deadlines (处置时限), overdue marking. Live servers, real databases."""

from __future__ import annotations

import subprocess
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from builders import wait_until
from case_builders import file_new
from live_server import LiveServer, make_token, start_server, stop_server

from streetwatch.cases.service_codes import load_catalogue
from streetwatch.cases.workflow import load_workflow
from streetwatch.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("violation_type", "classes", "zone_kind", "code"),
    [
        ("illegal_parking", ["car"], None, "05-05"),
        ("illegal_parking", ["truck", "person"], None, "05-05"),
        ("illegal_parking", ["bicycle"], None, "05-06"),
        ("illegal_parking", ["motorcycle"], "shop_front", "05-06"),
        ("illegal_parking", [], None, "05-05"),  # nothing known: the type's first unconditional entry
        ("occupied_lane_vending", ["umbrella"], "shop_front", "05-04"),
        ("occupied_lane_vending", ["umbrella"], None, "05-01"),
        ("occupied_lane_vending", ["dining_table"], "street_food", "05-01"),
        ("exposed_garbage", ["garbage"], None, "01-02"),
        ("open_burning", ["smoke"], "street_food", "05-10"),
        ("open_burning", ["fire"], None, "01-27"),
    ],
)
def test_code_from_what_the_case_shows(violation_type: str, classes: list[str], zone_kind: str | None, code: str):
    assert load_catalogue().resolve(violation_type, classes, zone_kind).code == code


def test_every_code_says_where_it_comes_from() -> None:
    catalogue = load_catalogue()
    assert {c.code: c.name for c in catalogue.categories} == {"01": "市容环境", "05": "街面秩序"}
    for service in catalogue.services:
        assert service.source, service.code
        assert service.basis in ("base", "local_extension"), service.code
        assert service.code.startswith(f"{service.category}-"), service.code
    assert {s.code for s in catalogue.services if s.basis == "local_extension"} == {"01-27", "05-10"}


def test_the_unfindable_standard_is_cited_nowhere() -> None:
    listed = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    this = Path(__file__).relative_to(REPO).as_posix()
    citing = []
    for name in listed:
        path = REPO / name
        if name == this or path.suffix not in {".py", ".md", ".yaml", ".yml", ".html", ".txt"} or not path.is_file():
            continue
        if "47678" in path.read_text(encoding="utf-8", errors="replace"):
            citing.append(name)
    # The design guide may tell the story of the wrong claim; nothing may rely on it.
    assert [n for n in citing if not n.endswith("DESIGN.md")] == []


def test_bad_tables_are_refused(tmp_path: Path) -> None:
    codes = tmp_path / "codes.yaml"
    codes.write_text(
        'categories: [{code: "05", name: 街面秩序}]\n'
        'services:\n  - {code: "05-05", category: "09", name: x, violation_type: illegal_parking}\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="names category '09'"):
        load_catalogue(codes)
    codes.write_text(
        'services:\n  - {code: "1", name: x, violation_type: illegal_parking, when: {classes: [lorry]}}\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="unknown class 'lorry'"):
        load_catalogue(codes)
    flow = tmp_path / "workflow.yaml"
    flow.write_text(
        "departments: [{id: a, name: A}]\n"
        "routes: [{violation_type: illegal_parking, department: b, deadline_hours: 1}]\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="names department 'b'"):
        load_workflow(flow)
    flow.write_text(
        "departments: [{id: a, name: A}]\n"
        "routes: [{violation_type: illegal_parking, department: a, deadline_hours: 1}]\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="missing: occupied_lane_vending, exposed_garbage, open_burning"):
        load_workflow(flow)


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_cases_carry_the_city_code_and_follow_the_workflow(server: LiveServer) -> None:
    token, device, cameras = server.new_device()
    with server.client() as client:
        bicycle = file_new(
            client, token, device, cameras[0], seed=900,
            detections=[{"class": "bicycle", "confidence": 0.8, "box": [1.0, 1.0, 20.0, 30.0]}],
        )  # fmt: skip
        shop = file_new(
            client, token, device, cameras[0], seed=901, violation_type="occupied_lane_vending",
            standard_code="05-01", zone_kind="shop_front",
            detections=[{"class": "umbrella", "confidence": 0.7, "box": [1.0, 1.0, 20.0, 30.0]}],
        )  # fmt: skip
    assert (bicycle["standard_code"], bicycle["filed_code"]) == ("05-06", "05-05")
    assert (shop["standard_code"], shop["filed_code"], shop["zone_kind"]) == ("05-04", "05-01", "shop_front")
    with server.reviewer_client() as reviewer:
        path = f"/api/v1/cases/{bicycle['id']}/transitions"
        accepted = reviewer.post(path, json={"to": "accepted"}).json()
        assert (accepted["department"], accepted["due_at"]) == ("enforcement", None)
        unknown = reviewer.post(path, json={"to": "dispatched", "department": "nobody"})
        assert unknown.status_code == 422 and "unknown department 'nobody'" in unknown.text
        dispatched = reviewer.post(path, json={"to": "dispatched"}).json()
        # 非机动车乱停放 goes by its type's route: enforcement, 4 hours from dispatch.
        assert _when(dispatched["due_at"]) - _when(dispatched["dispatched_at"]) == timedelta(hours=4)
        assert dispatched["overdue"] is False
        listed = reviewer.get("/api/v1/cases", params={"department": "enforcement", "camera_id": cameras[0]}).json()
        assert [c["id"] for c in listed["items"]] == [bicycle["id"]]
        assert reviewer.get("/api/v1/cases", params={"overdue": "true", "camera_id": cameras[0]}).json()["items"] == []

        # Reclassified at review: re-coded from the table, routed by the new code (05-05 -> traffic).
        reclassified = reviewer.post(
            f"/api/v1/cases/{shop['id']}/transitions", json={"to": "accepted", "violation_type": "illegal_parking"}
        ).json()
        assert (reclassified["standard_code"], reclassified["department"]) == ("05-05", "traffic")
        search = reviewer.get("/api/v1/cases", params={"q": "example road", "camera_id": cameras[0]}).json()
        assert {c["id"] for c in search["items"]} == {bicycle["id"], shop["id"]}
    # A bicycle the model called vending: reclassified as parking, it becomes 非机动车乱停放.
    with server.client() as client:
        cart = file_new(
            client, token, device, cameras[1], seed=902, violation_type="occupied_lane_vending",
            detections=[{"class": "bicycle", "confidence": 0.6, "box": [1.0, 1.0, 20.0, 30.0]}],
        )  # fmt: skip
    assert cart["standard_code"] == "05-01"
    with server.reviewer_client() as reviewer:
        recoded = reviewer.post(
            f"/api/v1/cases/{cart['id']}/transitions", json={"to": "accepted", "violation_type": "illegal_parking"}
        ).json()
    assert (recoded["standard_code"], recoded["department"]) == ("05-06", "enforcement")


def test_overdue_cases_are_marked(tmp_path: Path) -> None:
    flow = tmp_path / "workflow.yaml"
    flow.write_text(
        "departments: [{id: crew, name: 清运队}]\nroutes:\n"
        "  - {violation_type: exposed_garbage, department: crew, deadline_hours: 0.0002}\n"  # 0.72 s
        + "".join(
            f"  - {{violation_type: {v}, department: crew, deadline_hours: 8}}\n"
            for v in ("illegal_parking", "occupied_lane_vending", "open_burning")
        ),
        encoding="utf-8",
    )
    db = f"sqlite:///{tmp_path / 'cases.db'}"
    live = start_server(db, tmp_path, env={"STREETWATCH_CASES_WORKFLOW_FILE": str(flow)})
    try:
        live.reviewer = make_token(db, "reviewer", "zhang")
        token, device, cameras = live.new_device()
        with live.client() as client:
            garbage = file_new(client, token, device, cameras[0], seed=910, violation_type="exposed_garbage")
            parking = file_new(client, token, device, cameras[0], seed=911)
        with live.reviewer_client() as reviewer:
            for case in (garbage, parking):
                for step in ("accepted", "dispatched"):
                    response = reviewer.post(f"/api/v1/cases/{case['id']}/transitions", json={"to": step})
                    assert response.status_code == 200, response.text
            overdue = wait_until(
                lambda: reviewer.get("/api/v1/cases", params={"overdue": "true"}).json()["items"],
                "an overdue case",
                30,
                poll_s=0.2,
            )
            assert [c["id"] for c in overdue] == [garbage["id"]]
            assert reviewer.get(f"/api/v1/cases/{garbage['id']}").json()["overdue"] is True
            assert reviewer.get(f"/api/v1/cases/{parking['id']}").json()["overdue"] is False
            # Resolved late is no longer "overdue" (it is off the department's desk); resolved_at tells.
            done = reviewer.post(f"/api/v1/cases/{garbage['id']}/transitions", json={"to": "resolved"}).json()
            assert done["overdue"] is False and _when(done["resolved_at"]) > _when(done["due_at"])
    finally:
        stop_server(live)
