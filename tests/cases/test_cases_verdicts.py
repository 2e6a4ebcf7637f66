"""Reject reasons and the reviewer's boxes through the live API (both database backends)."""

from __future__ import annotations

import pytest
from case_builders import file_new
from live_server import LiveServer


@pytest.mark.parametrize("code", ["false_detection", "not_a_violation", "duplicate", "camera_problem"])
def test_reject_reason_codes_are_stored_with_the_note(server: LiveServer, code: str) -> None:
    token, device, cameras = server.new_device()
    with server.client() as client:
        case = file_new(client, token, device, cameras[0], seed=900)
    with server.reviewer_client() as reviewer:
        body = {"to": "rejected", "reject_code": code, "reason": "seen on site"}
        response = reviewer.post(f"/api/v1/cases/{case['id']}/transitions", json=body)
        assert response.status_code == 200, response.text
        again = reviewer.get(f"/api/v1/cases/{case['id']}").json()
    assert (again["status"], again["reject_code"], again["reject_reason"]) == ("rejected", code, "seen on site")
    assert again["history"][-1]["reason"] == f"{code}: seen on site"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"to": "rejected", "reject_code": "looked_wrong"}, "false_detection"),
        ({"to": "accepted", "reject_code": "duplicate"}, "reject_code is only allowed when rejecting"),
    ],
)
def test_bad_reject_codes_are_refused(server: LiveServer, body: dict, message: str) -> None:
    token, device, cameras = server.new_device()
    with server.client() as client:
        case = file_new(client, token, device, cameras[0], seed=901)
    with server.reviewer_client() as reviewer:
        response = reviewer.post(f"/api/v1/cases/{case['id']}/transitions", json=body)
    assert response.status_code == 422 and message in response.text


def test_a_code_alone_is_enough_to_reject(server: LiveServer) -> None:
    token, device, cameras = server.new_device()
    with server.client() as client:
        case = file_new(client, token, device, cameras[0], seed=902)
    with server.reviewer_client() as reviewer:
        body = {"to": "rejected", "reject_code": "duplicate"}
        assert reviewer.post(f"/api/v1/cases/{case['id']}/transitions", json=body).status_code == 200


def test_box_edits_decide_machine_or_human_and_are_audited(server: LiveServer) -> None:
    token, device, cameras = server.new_device()
    with server.client() as client:
        case = file_new(client, token, device, cameras[0], seed=903)
    url = f"/api/v1/cases/{case['id']}/boxes"
    with server.reviewer_client() as reviewer:
        untouched = {"boxes": [{"class": "car", "box": [10.2, 8, 40, 30], "detection": 0}]}
        first = reviewer.put(url, json=untouched).json()
        assert [(b["class"], b["origin"], b["confidence"]) for b in first["reviewed_boxes"]] == [
            ("car", "machine", 0.91)
        ]
        edited = {
            "boxes": [
                {"class": "truck", "box": [10, 8, 40, 30], "detection": 0},  # re-classed: human
                {"class": "stall", "box": [40, 10, 60, 40]},  # drawn: human
            ]
        }
        second = reviewer.put(url, json=edited).json()
        case_now = reviewer.get(f"/api/v1/cases/{case['id']}").json()
    assert [(b["class"], b["origin"], b["detection"]) for b in second["reviewed_boxes"]] == [
        ("truck", "human", 0),
        ("stall", "human", None),
    ]
    assert second["boxes_by"] == "alice" and second["boxes_at"] is not None
    assert second["detections"] == case["detections"]  # what the model filed is never rewritten
    events = [h for h in case_now["history"] if h["action"] == "boxes"]
    assert [(e["actor"], e["to_status"]) for e in events] == [("alice", "reported"), ("alice", "reported")]
    assert "1 drawn, 1 corrected, 0 model boxes deleted" in events[-1]["reason"]


@pytest.mark.parametrize(
    ("boxes", "status", "message"),
    [
        ([{"class": "stall", "box": [10, 10, 90, 30]}], 422, "reaches outside the 64x48 frame"),
        ([{"class": "kiosk", "box": [1, 1, 5, 5]}], 422, "class must be one of"),
        ([{"class": "stall", "box": [5, 5, 5, 9]}], 422, "x1 < x2"),
        ([{"class": "car", "box": [1, 1, 5, 5], "detection": 3}], 422, "detection 3 does not exist"),
        (
            [
                {"class": "car", "box": [1, 1, 5, 5], "detection": 0},
                {"class": "car", "box": [2, 2, 6, 6], "detection": 0},
            ],
            422,
            "used by two boxes",
        ),
    ],
)
def test_bad_box_edits_are_refused_clearly(server: LiveServer, boxes: list, status: int, message: str) -> None:
    token, device, cameras = server.new_device()
    with server.client() as client:
        case = file_new(client, token, device, cameras[0], seed=904)
    with server.reviewer_client() as reviewer:
        response = reviewer.put(f"/api/v1/cases/{case['id']}/boxes", json={"boxes": boxes})
        unchanged = reviewer.get(f"/api/v1/cases/{case['id']}").json()
    assert response.status_code == status and message in response.text
    assert unchanged["reviewed_boxes"] is None


def test_devices_cannot_edit_boxes_and_unknown_cases_are_404(server: LiveServer) -> None:
    token, device, cameras = server.new_device()
    with server.client() as client:
        case = file_new(client, token, device, cameras[0], seed=905)
        response = client.put(
            f"/api/v1/cases/{case['id']}/boxes", json={"boxes": []}, headers={"Authorization": f"Bearer {token}"}
        )
    assert response.status_code == 403
    with server.reviewer_client() as reviewer:
        assert reviewer.put("/api/v1/cases/999999/boxes", json={"boxes": []}).status_code == 404


def test_the_edit_summary_reads_back_what_it_wrote() -> None:
    from streetwatch.verdicts import EditSummary

    summary = EditSummary(boxes=3, drawn=1, corrected=1, deleted=2, classes=("car", "stall"), before=4)
    assert summary.text() == "boxes: 3 (1 drawn, 1 corrected, 2 model boxes deleted); classes: car, stall; before: 4"
    assert EditSummary.parse(summary.text()) == summary
    empty = EditSummary(boxes=0, drawn=0, corrected=0, deleted=1, classes=(), before=1)
    assert EditSummary.parse(empty.text()) == empty
    assert EditSummary.parse("cleared") is None and EditSummary.parse(summary.text()[:40]) is None
