from __future__ import annotations

import hashlib
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import pytest

from streetwatch.contract import DetectionRecord, ModelRef
from streetwatch.datasets.case_export import CaseExportManifest, ExportedCase
from streetwatch.datasets.from_cases import cases_to_source
from streetwatch.datasets.importing import SourceSpec, import_source
from streetwatch.datasets.pseudo import merge
from streetwatch.datasets.stats import compute_stats, to_markdown
from streetwatch.datasets.store import Dataset
from streetwatch.errors import InputError
from streetwatch.verdicts import BoxEdit, machine_boxes, resolve_boxes

MODEL = ModelRef(name="street", version="1.1.0", sha256="a" * 64)
GARBAGE = DetectionRecord(**{"class": "garbage", "confidence": 0.8, "box": (10, 20, 110, 220)})
CAR = DetectionRecord(**{"class": "car", "confidence": 0.7, "box": (150, 150, 300, 300)})


def _case(
    export: Path,
    image: Path,
    case_id: str,
    status: str,
    detections: list[DetectionRecord],
    *,
    code: str | None = None,
    edits: list[BoxEdit] | None = None,
) -> ExportedCase:
    data = image.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    (export / "images").mkdir(parents=True, exist_ok=True)
    (export / "images" / f"{sha}.jpg").write_bytes(data)
    boxes = machine_boxes(detections) if edits is None else resolve_boxes(edits, detections, (320, 320))
    return ExportedCase(
        case_id=case_id,
        event_id=f"evt-{case_id}",
        status=status,
        violation_type="exposed_garbage",
        reject_code=code,
        camera_id="cam-7",
        image=f"images/{sha}.jpg",
        image_sha256=sha,
        width=320,
        height=320,
        detections=detections,
        boxes=boxes,
        boxes_edited=edits is not None,
        boxes_by="bob" if edits is not None else None,
        model=MODEL,
    )


def _write_export(export: Path, cases: list[ExportedCase]) -> None:
    manifest = CaseExportManifest(exported_at=datetime.now(UTC), statuses=["accepted", "rejected"], count=len(cases))
    (export / "manifest.json").write_text(manifest.model_dump_json())
    (export / "cases.jsonl").write_text("".join(c.model_dump_json(by_alias=True) + "\n" for c in cases))


@pytest.fixture()
def images(tmp_path: Path) -> list[Path]:
    """Eight distinct 320x320 JPEGs (one frame per case)."""
    folder = tmp_path / "frames"
    folder.mkdir()
    paths = []
    for k in range(8):
        frame = np.random.default_rng(k).integers(0, 255, (320, 320, 3), dtype=np.uint8)
        path = folder / f"frame{k}.jpg"
        cv2.imwrite(str(path), frame)
        paths.append(path)
    return paths


@pytest.fixture()
def case_export(tmp_path: Path, images: list[Path]) -> Path:
    export = tmp_path / "export"
    moved = BoxEdit(**{"class": "garbage", "box": (12, 20, 110, 220), "detection": 0})
    drawn = BoxEdit(**{"class": "stall", "box": (200, 100, 300, 200)})
    kept_car = BoxEdit(**{"class": "car", "box": CAR.box, "detection": 1})
    cases = [
        _case(export, images[0], "1", "accepted", [GARBAGE]),  # accepted as filed
        _case(export, images[1], "2", "accepted", [GARBAGE, CAR], edits=[moved, drawn]),  # car deleted
        _case(export, images[2], "3", "rejected", [GARBAGE], code="false_detection"),
        _case(export, images[3], "4", "rejected", [GARBAGE, CAR], code="false_detection", edits=[kept_car]),
        _case(export, images[4], "5", "rejected", [GARBAGE, CAR], code="not_a_violation"),
        _case(export, images[5], "6", "rejected", [GARBAGE], code="duplicate"),
        _case(export, images[6], "7", "rejected", [GARBAGE], code="camera_problem"),
        _case(export, images[7], "8", "rejected", [GARBAGE]),  # before reason codes: unknown why
    ]
    _write_export(export, cases)
    return export


def _by_case(out: Path) -> dict[str, dict]:
    coco = json.loads((out / "annotations.json").read_text())
    names = {c["id"]: c["name"] for c in coco["categories"]}
    rows = {}
    for image in coco["images"]:
        anns = [a for a in coco["annotations"] if a["image_id"] == image["id"]]
        rows[image["case_id"]] = {
            "labelled": image["labelled"],
            "boxes": sorted((names[a["category_id"]], a["origin"]) for a in anns),
            "ruled_out": sorted(r["class"] for r in image["ruled_out"]),
        }
    return rows


def test_each_verdict_teaches_what_it_means(case_export: Path, tmp_path: Path) -> None:
    out = tmp_path / "cases-source"
    result = cases_to_source(case_export, out)
    rows = _by_case(out)
    # No verdict labels a class image-wide (`labelled` stays empty): a deleted or falsely detected
    # box rules out its own region for its class, so another real object of that class stays open.
    assert rows == {
        "1": {"labelled": [], "boxes": [("garbage", "machine")], "ruled_out": []},
        # moved garbage is human, the drawn stall human; the deleted car's region is "not a car"
        "2": {"labelled": [], "boxes": [("garbage", "human"), ("stall", "human")], "ruled_out": ["car"]},
        # false detection, no edit: the garbage box's region is not garbage, nothing else
        "3": {"labelled": [], "boxes": [], "ruled_out": ["garbage"]},
        # false detection with an edit: the reviewer kept the car, so only the garbage box is ruled out
        "4": {"labelled": [], "boxes": [("car", "machine")], "ruled_out": ["garbage"]},
        # permitted here: the objects are real and stay labels
        "5": {"labelled": [], "boxes": [("car", "machine"), ("garbage", "machine")], "ruled_out": []},
        "6": {"labelled": [], "boxes": [("garbage", "machine")], "ruled_out": []},
    }
    assert result.left_out == {"camera problem": 1, "rejected without a reason code": 1}
    assert (result.accepted, result.rejected, result.human_boxes, result.machine_boxes) == (2, 4, 2, 5)
    assert result.ruled_out == {"car": 1, "garbage": 2}
    assert cases_to_source(case_export, out) == result  # idempotent


def test_imported_cases_keep_origins_and_ruled_out_classes(case_export: Path, tmp_path: Path) -> None:
    out = tmp_path / "cases-source"
    cases_to_source(case_export, out)
    dataset = Dataset()
    record = import_source(dataset, SourceSpec("cases", out, out / "mapping.yaml"))
    assert record.format == "coco" and record.labelled == []
    items = {Path(i.image).name: i for i in dataset.items}
    assert len(items) == 6 and not any(i.hard_negative for i in items.values())
    assert {i.group for i in items.values()} == {"cases:cam-7"}  # one camera: one scene
    edited = next(i for i in items.values() if any(b.cls == "stall" for b in i.boxes))
    assert edited.labelled == [] and [(r.cls, r.xyxy) for r in edited.ruled_out] == [("car", CAR.box)]
    assert sorted((b.cls, b.origin, b.filed_by) for b in edited.boxes) == [
        ("garbage", "human", None),
        ("stall", "human", None),
    ]
    plain = next(i for i in items.values() if [b.cls for b in i.boxes] == ["garbage"] and not i.ruled_out)
    assert (plain.boxes[0].origin, plain.boxes[0].conf, plain.boxes[0].filed_by) == ("machine", 0.8, "street 1.1.0")
    # The teacher fills around case boxes: it neither replaces the case model's boxes nor adds a box
    # where the reviewer ruled its class out; elsewhere in the frame it still may.
    teacher = [("garbage", 0.9, 10.0, 20.0, 110.0, 220.0), ("person", 0.9, 0.0, 0.0, 50.0, 50.0)]
    merged = merge(plain, teacher, {"person", "garbage"}, 0.35, 0.5)
    assert sorted((b.cls, b.filed_by) for b in merged) == [("garbage", "street 1.1.0"), ("person", None)]
    ruled_out = next(i for i in items.values() if [r.cls for r in i.ruled_out] == ["garbage"] and not i.boxes)
    elsewhere = ("garbage", 0.9, 200.0, 200.0, 300.0, 300.0)
    assert [(b.cls, b.xyxy) for b in merge(ruled_out, [*teacher, elsewhere], {"garbage", "person"}, 0.35, 0.5)] == [
        ("person", (0.0, 0.0, 50.0, 50.0)),
        ("garbage", (200.0, 200.0, 300.0, 300.0)),
    ]


UMBRELLA_A = DetectionRecord(**{"class": "umbrella", "confidence": 0.6, "box": (20, 20, 80, 80)})
UMBRELLA_B = DetectionRecord(**{"class": "umbrella", "confidence": 0.7, "box": (200, 200, 260, 260)})


def test_a_deleted_box_rules_out_its_region_not_its_class(tmp_path: Path, images: list[Path]) -> None:
    """Deleting one model box says "this box is wrong": the other umbrella stays a label, the class is
    not made absent image-wide, and the teacher may not put the deleted box back (but may add a real
    umbrella the model missed)."""
    export = tmp_path / "export"
    keep_b = BoxEdit(**{"class": "umbrella", "box": UMBRELLA_B.box, "detection": 1})
    keep_car = BoxEdit(**{"class": "car", "box": CAR.box, "detection": 1})
    cases = [
        _case(export, images[0], "1", "accepted", [UMBRELLA_A, UMBRELLA_B], edits=[keep_b]),  # one of two deleted
        _case(export, images[1], "2", "accepted", [UMBRELLA_A, CAR], edits=[keep_car]),  # the only umbrella deleted
    ]
    _write_export(export, cases)
    out = tmp_path / "cases-source"
    result = cases_to_source(export, out)
    coco = json.loads((out / "annotations.json").read_text())
    assert [(i["labelled"], i["ruled_out"]) for i in coco["images"]] == [
        ([], [{"class": "umbrella", "bbox": [20.0, 20.0, 60.0, 60.0]}]),
        ([], [{"class": "umbrella", "bbox": [20.0, 20.0, 60.0, 60.0]}]),
    ]
    assert result.ruled_out == {"umbrella": 2}
    dataset = Dataset()
    import_source(dataset, SourceSpec("cases", out, out / "mapping.yaml"))
    first, second = sorted(dataset.items, key=lambda i: [b.cls for b in i.boxes])
    assert [b.cls for b in first.boxes] == ["car"] and [b.cls for b in second.boxes] == ["umbrella"]
    teacher = [
        ("umbrella", 0.8, 22.0, 18.0, 82.0, 79.0),  # the deleted box again: not an umbrella, says the reviewer
        ("umbrella", 0.8, 100.0, 120.0, 150.0, 170.0),  # one the model missed: real, the teacher adds it
        ("umbrella", 0.8, 201.0, 200.0, 260.0, 262.0),  # the kept model box: already labelled
    ]
    stats = compute_stats(dataset)
    assert stats.ruled_out == {"unsplit": 2}
    assert "| regions ruled out for a class (deleted model boxes) | 2 |" in to_markdown(stats, dataset)
    for item in (first, second):
        assert item.labelled == [] and [r.cls for r in item.ruled_out] == ["umbrella"]
        added = [b.xyxy for b in merge(item, teacher, {"umbrella"}, 0.35, 0.5) if b.filed_by is None]
        assert added == [(100.0, 120.0, 150.0, 170.0)] + ([(201.0, 200.0, 260.0, 262.0)] if item is first else [])


def test_an_older_export_is_refused_with_a_clear_message(case_export: Path, tmp_path: Path) -> None:
    manifest = json.loads((case_export / "manifest.json").read_text())
    manifest["version"] = 1
    (case_export / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(InputError, match="export format version 1; this version reads 2"):
        cases_to_source(case_export, tmp_path / "o")


def test_tampered_or_incomplete_export(case_export: Path, tmp_path: Path) -> None:
    image = next((case_export / "images").glob("*.jpg"))
    image.write_bytes(image.read_bytes() + b"x")
    with pytest.raises(InputError, match="does not match its image_sha256"):
        cases_to_source(case_export, tmp_path / "o1")
    shutil.rmtree(case_export / "images")
    with pytest.raises(InputError, match="missing from"):
        cases_to_source(case_export, tmp_path / "o2")
    (case_export / "cases.jsonl").write_text("")
    with pytest.raises(InputError, match=r"count says 8 cases, cases\.jsonl has 0"):
        cases_to_source(case_export, tmp_path / "o3")
    with pytest.raises(InputError, match="not a case export"):
        cases_to_source(tmp_path, tmp_path / "o4")
