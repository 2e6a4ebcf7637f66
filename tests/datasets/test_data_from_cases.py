from __future__ import annotations

import hashlib
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from streetwatch.contract import DetectionRecord, ModelRef
from streetwatch.datasets.case_export import CaseExportManifest, ExportedCase
from streetwatch.datasets.from_cases import cases_to_source
from streetwatch.datasets.importing import SourceSpec, import_source
from streetwatch.datasets.store import Dataset
from streetwatch.errors import InputError

MODEL = ModelRef(name="v1", version="1", sha256="a" * 64)


def _case(export: Path, image: Path, case_id: str, status: str, labels: list[DetectionRecord]) -> ExportedCase:
    data = image.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    (export / "images").mkdir(parents=True, exist_ok=True)
    (export / "images" / f"{sha}.jpg").write_bytes(data)
    return ExportedCase(
        case_id=case_id,
        event_id=f"evt-{case_id}",
        status=status,
        violation_type="exposed_garbage",
        camera_id="cam-7",
        image=f"images/{sha}.jpg",
        image_sha256=sha,
        width=320,
        height=320,
        labels=labels,
        rejected_detections=[]
        if labels
        else [DetectionRecord(**{"class": "garbage", "confidence": 0.6, "box": (1, 1, 9, 9)})],
        model=MODEL,
    )


def _write_export(export: Path, cases: list[ExportedCase]) -> None:
    manifest = CaseExportManifest(exported_at=datetime.now(UTC), statuses=["accepted", "rejected"], count=len(cases))
    (export / "manifest.json").write_text(manifest.model_dump_json())
    (export / "cases.jsonl").write_text("".join(c.model_dump_json(by_alias=True) + "\n" for c in cases))


@pytest.fixture()
def case_export(tmp_path: Path, real_sources: Path) -> Path:
    export = tmp_path / "export"
    images = sorted((real_sources / "garbage-cn" / "images").glob("*.jpg"))
    garbage = DetectionRecord(**{"class": "garbage", "confidence": 0.8, "box": (10, 20, 110, 220)})
    cases = [
        _case(export, images[0], "c1", "accepted", [garbage]),
        _case(export, images[1], "c2", "rejected", []),
    ]
    _write_export(export, cases)
    return export


def test_cases_become_an_importable_source(case_export: Path, tmp_path: Path) -> None:
    out = tmp_path / "cases-source"
    result = cases_to_source(case_export, out)
    assert (result.accepted, result.rejected, result.boxes) == (1, 1, 1)
    again = cases_to_source(case_export, out)  # idempotent
    assert again == result
    dataset = Dataset()
    record = import_source(dataset, SourceSpec("cases", out, out / "mapping.yaml"))
    assert record.format == "coco" and record.labelled == []
    accepted = next(i for i in dataset.items if not i.hard_negative)
    rejected = next(i for i in dataset.items if i.hard_negative)
    assert [(b.cls, b.xyxy) for b in accepted.boxes] == [("garbage", (10, 20, 110, 220))]
    assert accepted.group == rejected.group == "cases:cam-7"  # one camera: one scene
    assert rejected.boxes == [] and rejected.negative and rejected.labelled == []


def test_tampered_or_incomplete_export(case_export: Path, tmp_path: Path) -> None:
    image = next((case_export / "images").glob("*.jpg"))
    image.write_bytes(image.read_bytes() + b"x")
    with pytest.raises(InputError, match="does not match its image_sha256"):
        cases_to_source(case_export, tmp_path / "o1")
    shutil.rmtree(case_export / "images")
    with pytest.raises(InputError, match="missing from"):
        cases_to_source(case_export, tmp_path / "o2")
    (case_export / "cases.jsonl").write_text("")
    with pytest.raises(InputError, match=r"count says 2 cases, cases\.jsonl has 0"):
        cases_to_source(case_export, tmp_path / "o3")
    with pytest.raises(InputError, match="not a case export"):
        cases_to_source(tmp_path, tmp_path / "o4")
