"""Export of reviewed cases, read back with the datasets side's models (the round trip)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from case_builders import file_new
from live_server import LiveServer

from streetwatch.cli import main
from streetwatch.datasets.case_export import CASES_FILE, MANIFEST_FILE, CaseExportManifest, ExportedCase


@dataclass
class Result:
    returncode: int
    stderr: str


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]):
    """The `streetwatch` console entry point, in this process."""

    def invoke(*args: str) -> Result:
        capsys.readouterr()
        code = main(list(args))
        return Result(code, capsys.readouterr().err)

    return invoke


def test_export_round_trip(run_cli, server: LiveServer, tmp_path: Path) -> None:
    token, device, cameras = server.new_device()
    started = datetime.now(UTC) - timedelta(seconds=1)
    with server.client() as client:
        cases = [file_new(client, token, device, cameras[0], seed=500 + i) for i in range(4)]
    with server.reviewer_client() as reviewer:
        for case, body in zip(
            cases[:3],
            [
                {"to": "accepted"},
                {"to": "accepted", "violation_type": "occupied_lane_vending"},
                {"to": "rejected", "reject_code": "false_detection", "reason": "a parked bicycle, not a car"},
            ],
            strict=True,
        ):
            if body.get("violation_type"):  # the reviewer corrects the car box and draws a stall first
                edit = {"boxes": [{"class": "car", "box": [11, 8, 40, 30], "detection": 0},
                                  {"class": "stall", "box": [40, 10, 60, 40]}]}  # fmt: skip
                assert reviewer.put(f"/api/v1/cases/{case['id']}/boxes", json=edit).status_code == 200
            assert reviewer.post(f"/api/v1/cases/{case['id']}/transitions", json=body).status_code == 200
        # Reviewed and then dispatched: still an accepted case for training.
        assert (
            reviewer.post(f"/api/v1/cases/{cases[0]['id']}/transitions", json={"to": "dispatched"}).status_code == 200
        )
    out = tmp_path / "export"
    result = run_cli(
        "cases", "export", "--db", server.db_url, "--evidence-dir", str(server.evidence_dir),
        "--status", "accepted,rejected", "--since", started.isoformat(), "--out", str(out),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    manifest = CaseExportManifest.model_validate_json((out / MANIFEST_FILE).read_text())
    rows = [ExportedCase.model_validate_json(line) for line in (out / CASES_FILE).read_text().splitlines()]
    mine = {row.case_id: row for row in rows if row.camera_id == cameras[0]}
    assert set(mine) == {str(c["id"]) for c in cases[:3]}  # the unreviewed case is not exported
    assert manifest.count == len(rows) and manifest.statuses == ["accepted", "rejected"]
    plain, reclassified, rejected = (mine[str(c["id"])] for c in cases[:3])
    assert (plain.status, plain.reviewed_violation_type, plain.reviewer) == ("accepted", None, "alice")
    assert [(b.class_name, b.origin, b.confidence) for b in plain.boxes] == [("car", "machine", 0.91)]
    assert [d.class_name for d in plain.detections] == ["car"] and not plain.boxes_edited
    assert reclassified.reviewed_violation_type == "occupied_lane_vending"
    assert reclassified.violation_type == "illegal_parking" and reclassified.detections == plain.detections
    assert [(b.class_name, b.origin, b.box) for b in reclassified.boxes] == [
        ("car", "human", (11, 8, 40, 30)),
        ("stall", "human", (40, 10, 60, 40)),
    ]
    assert (reclassified.boxes_edited, reclassified.boxes_by) == (True, "alice")
    assert (rejected.status, rejected.reject_code, rejected.reject_reason) == (
        "rejected",
        "false_detection",
        "a parked bicycle, not a car",
    )
    assert [d.class_name for d in rejected.detections] == ["car"]
    for row, case in zip((plain, reclassified, rejected), cases[:3], strict=True):
        clean = next(e for e in case["evidence"] if e["role"] == "confirmation_clean")
        assert row.image_sha256 == clean["sha256"]
        assert hashlib.sha256((out / row.image).read_bytes()).hexdigest() == row.image_sha256
        assert (row.width, row.height) == (64, 48)

    only_rejected = tmp_path / "rejected"
    again = run_cli(
        "cases", "export", "--db", server.db_url, "--evidence-dir", str(server.evidence_dir),
        "--status", "rejected", "--since", started.isoformat(), "--out", str(only_rejected),
    )  # fmt: skip
    assert again.returncode == 0
    statuses = {json.loads(line)["status"] for line in (only_rejected / CASES_FILE).read_text().splitlines()}
    assert statuses == {"rejected"}


def test_export_refuses_bad_arguments(run_cli, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cases.db'}"
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    for args, words in (
        (["--status", "reported", "--out", str(tmp_path / "a")], "--status takes accepted and/or rejected"),
        (["--out", str(tmp_path / "full")], "exists and is not empty"),
    ):
        result = run_cli("cases", "export", "--db", db, *args)
        assert result.returncode == 2
        assert words in result.stderr and "Traceback" not in result.stderr
    with pytest.raises(SystemExit) as exited:  # argparse's own usage error
        run_cli("cases", "export", "--db", db, "--since", "2026-01-01T00:00:00", "--out", str(tmp_path / "b"))
    assert exited.value.code == 2
