"""Lifecycle: the transition table, and transitions with their audit log on a live server."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from case_builders import file_new
from live_server import LiveServer

from streetwatch.cases.lifecycle import CaseStatus, IllegalTransition, check_transition, open311_status

LEGAL = [
    ("reported", "accepted"),
    ("reported", "rejected"),
    ("accepted", "dispatched"),
    ("dispatched", "resolved"),
    ("resolved", "verified"),
    ("resolved", "dispatched"),
    ("verified", "closed"),
]
# 核查不通过 sends a case back and needs the reason.
NEEDS_REASON = {("reported", "rejected"), ("resolved", "dispatched")}


@pytest.mark.parametrize(("current", "target"), [(a.value, b.value) for a in CaseStatus for b in CaseStatus])
def test_transition_table(current: str, target: str) -> None:
    if (current, target) in LEGAL:
        check_transition(CaseStatus(current), CaseStatus(target), "a reason")
        if (current, target) in NEEDS_REASON:
            with pytest.raises(IllegalTransition, match="needs a reason"):
                check_transition(CaseStatus(current), CaseStatus(target))
        else:
            check_transition(CaseStatus(current), CaseStatus(target))
    else:
        with pytest.raises(IllegalTransition, match=f"a {current} case cannot become {target}"):
            check_transition(CaseStatus(current), CaseStatus(target))


@pytest.mark.parametrize(
    ("status", "expected"),
    [("reported", "open"), ("accepted", "open"), ("dispatched", "open"), ("rejected", "closed"),
     ("resolved", "closed"), ("verified", "closed"), ("closed", "closed")],
)  # fmt: skip
def test_open311_status(status: str, expected: str) -> None:
    assert open311_status(CaseStatus(status)) == expected


def test_full_lifecycle_with_audit_log(server: LiveServer) -> None:
    token, device, cameras = server.new_device()
    with server.client() as client:
        case = file_new(client, token, device, cameras[0], seed=300)
    path = f"/api/v1/cases/{case['id']}/transitions"
    with server.reviewer_client() as reviewer:
        illegal = reviewer.post(path, json={"to": "resolved"})
        assert illegal.status_code == 409
        assert "a reported case cannot become resolved; allowed: accepted, rejected" in illegal.json()["detail"]
        accepted = reviewer.post(path, json={"to": "accepted", "violation_type": "occupied_lane_vending"})
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["reviewed_violation_type"] == "occupied_lane_vending"
        assert accepted.json()["reviewer"] == "alice"
        steps = (("dispatched", "team 3"), ("resolved", "car towed"), ("verified", None), ("closed", None))
        for target, reason in steps:
            response = reviewer.post(path, json={"to": target} | ({"reason": reason} if reason else {}))
            assert response.status_code == 200, response.text
        assert reviewer.post(path, json={"to": "reported"}).status_code == 409
        history = reviewer.get(f"/api/v1/cases/{case['id']}").json()["history"]
    assert [(h["action"], h["from_status"], h["to_status"], h["actor"], h["reason"]) for h in history] == [
        ("filed", None, "reported", device, None),
        ("transition", "reported", "accepted", "alice", None),
        ("transition", "accepted", "dispatched", "alice", "team 3"),
        ("transition", "dispatched", "resolved", "alice", "car towed"),
        ("transition", "resolved", "verified", "alice", None),
        ("transition", "verified", "closed", "alice", None),
    ]
    assert history[1]["violation_type"] == "occupied_lane_vending"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"to": "rejected"}, "rejecting a case needs a reason"),
        ({"to": "rejected", "reason": "x", "violation_type": "open_burning"}, "only allowed when accepting"),
        ({"to": "archived"}, "Input should be"),
    ],
)
def test_invalid_transition_requests(server: LiveServer, body: dict, message: str) -> None:
    token, device, cameras = server.new_device()
    with server.client() as client:
        case = file_new(client, token, device, cameras[0], seed=310)
    with server.reviewer_client() as reviewer:
        response = reviewer.post(f"/api/v1/cases/{case['id']}/transitions", json=body)
    assert response.status_code == 422
    assert message in response.text


def test_devices_cannot_review(server: LiveServer) -> None:
    token, device, cameras = server.new_device()
    with server.client() as client:
        case = file_new(client, token, device, cameras[0], seed=320)
        response = client.post(
            f"/api/v1/cases/{case['id']}/transitions",
            json={"to": "accepted"},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert response.status_code == 403


def test_two_reviewers_racing_one_case_one_wins(server: LiveServer) -> None:
    token, device, cameras = server.new_device()
    with server.client() as client:
        case = file_new(client, token, device, cameras[0], seed=330)

    def act(target: str) -> int:
        body = {"to": target} | ({"reason": "not a car"} if target == "rejected" else {})
        with server.reviewer_client() as reviewer:
            return reviewer.post(f"/api/v1/cases/{case['id']}/transitions", json=body).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(act, ["accepted", "rejected"] * 4))
    assert sorted(codes) == [200] + [409] * 7
    with server.reviewer_client() as reviewer:
        history = reviewer.get(f"/api/v1/cases/{case['id']}").json()["history"]
    assert len(history) == 2
