"""`data hard-negatives` over a built data set and over a case export, with a real ONNX model."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from streetwatch.cli import main
from streetwatch.contract import DetectionRecord, ModelRef
from streetwatch.datasets.case_export import CaseExportManifest, ExportedCase
from streetwatch.datasets.hard_negatives import case_candidates, dataset_candidates
from streetwatch.errors import InputError
from streetwatch.verdicts import BoxEdit, machine_boxes, resolve_boxes

RECIPE = """
name: hn
data_root: {root}
sources:
  - name: garbage-cn
    path: garbage-cn
    mapping: {mappings}/garbage-cn.yaml
    labelled: [garbage, garbage_bin, bin_overflow, fire, smoke]
  - name: fire-smoke
    path: fire-smoke
    mapping: {mappings}/fire-smoke.yaml
  - name: hard-negatives
    path: {missing}
    mapping: {mappings}/hard-negatives.yaml
    optional: true
split:
  ratios: [0.6, 0.2, 0.2]
classes:
  min_instances: 0
"""
FIRE = DetectionRecord(**{"class": "fire", "confidence": 0.6, "box": (10, 10, 100, 100)})


def _case(export: Path, image: Path, case_id: str, status: str, violation: str, edits=None) -> ExportedCase:
    data = image.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    (export / "images").mkdir(parents=True, exist_ok=True)
    (export / "images" / f"{sha}.jpg").write_bytes(data)
    boxes = machine_boxes([FIRE]) if edits is None else resolve_boxes(edits, [FIRE], (640, 640))
    return ExportedCase(
        case_id=case_id,
        event_id=f"evt-{case_id}",
        status=status,
        violation_type=violation,
        camera_id="cam-1",
        image=f"images/{sha}.jpg",
        image_sha256=sha,
        width=640,
        height=640,
        detections=[FIRE],
        boxes=boxes,
        boxes_edited=edits is not None,
        model=ModelRef(name="street", version="1.1.0", sha256="a" * 64),
    )


def test_hard_negatives_from_a_data_set_and_cases(
    real_sources: Path, mappings_dir: Path, tiny_onnx: Path, sample_images: list[Path], tmp_path: Path, capsys
) -> None:
    recipe = tmp_path / "r.yaml"
    recipe.write_text(RECIPE.format(root=real_sources, mappings=mappings_dir, missing=tmp_path / "absent"))
    data = tmp_path / "hn"
    assert main(["data", "--no-progress", "build", str(recipe), "--out", str(data)]) == 0  # optional source skipped
    candidates = dataset_candidates(data)
    # garbage-cn declares fire/smoke labelled and has none: all its images; fire-smoke only its frames without fire
    origins = {c.origin for c in candidates}
    assert "garbage-cn" in origins and len(candidates) >= 3
    assert all(not c.name.startswith("fire-smoke") or "fire" not in c.name.split("__")[1][:4] for c in candidates)
    # A source held out of training (leave-one-source-out) gives no candidates, so none of its images
    # can come back into training as a hard negative; a misspelt source is a clear error.
    kept = dataset_candidates(data, ("garbage-cn",))
    assert kept == [c for c in candidates if c.origin != "garbage-cn"] and len(kept) < len(candidates)
    with pytest.raises(InputError, match=r"unknown source.*garbage-c;.*has fire-smoke, garbage-cn"):
        dataset_candidates(data, ("garbage-c",))

    export = tmp_path / "export"
    keep_none = [BoxEdit(**{"class": "car", "box": (5, 5, 50, 50)})]
    cases = [
        _case(export, sample_images[0], "1", "rejected", "open_burning"),  # inspector: no fire
        _case(export, sample_images[1], "2", "accepted", "open_burning"),  # real fire: not a candidate
        _case(export, sample_images[2], "3", "accepted", "illegal_parking", edits=keep_none),  # reviewer: no fire
    ]
    manifest = CaseExportManifest(exported_at=datetime.now(UTC), statuses=["accepted", "rejected"], count=3)
    (export / "manifest.json").write_text(manifest.model_dump_json())
    (export / "cases.jsonl").write_text("".join(c.model_dump_json(by_alias=True) + "\n" for c in cases))
    assert [c.name for c in case_candidates(export)] == ["case-1", "case-3"]

    out = tmp_path / "negatives"
    argv = ["data", "--no-progress", "hard-negatives", "--model", str(tiny_onnx), "--data", str(data)]
    capsys.readouterr()
    assert main([*argv, "--cases", str(export), "--out", str(out), "--conf", "0.001"]) == 0
    report = json.loads((out / "hard_negatives.json").read_text())
    assert report["scanned"] == len(candidates) + 2 and report["found"] > 0
    assert report["by_origin"]["case:open_burning:rejected"]["scanned"] == 1
    assert report["thresholds"] == {"fire": 0.001}  # the tiny model knows fire, not smoke
    files = sorted(p.name for p in (out / "images").iterdir())
    assert files == sorted(report["files"]) and len(files) == report["found"]
    assert all((out / "labels" / f"{Path(f).stem}.txt").read_text() == "" for f in files)
    assert f"found {report['found']} hard negatives" in capsys.readouterr().out
    # At a threshold no score reaches, nothing is kept.
    assert main([*argv, "--out", str(out), "--conf", "1.0"]) == 0
    assert json.loads((out / "hard_negatives.json").read_text())["found"] == 0
    assert main([*argv, "--out", str(out), "--conf", "1.0", "--exclude-source", "garbage-cn"]) == 0
    assert "garbage-cn" not in json.loads((out / "hard_negatives.json").read_text())["by_origin"]
    # The folder imports as a source that labels fire and smoke: negatives for both.
    recipe.write_text(RECIPE.format(root=real_sources, mappings=mappings_dir, missing=out))
    assert main(["data", "--no-progress", "build", str(recipe), "--out", str(tmp_path / "again")]) == 0
    assert main(["data", "mix", str(data), "--out", str(tmp_path / "m"), "--cap", "garbage-cn=1"]) == 0
    assert main(["data", "hard-negatives", "--model", str(tiny_onnx), "--out", str(out)]) == 2
