"""The shipped coco-teacher release, the agreement measures, and the YOLOX-Nano reference."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from teacher_support import yolox_onnx as _yolox_onnx

from streetwatch.inference.boxes import iou_matrix
from streetwatch.inference.postprocess import RawBoxes
from streetwatch.training.teacher.parity import detection_agreement, match_count, raw_diff

REPO = Path(__file__).resolve().parents[2]
RELEASE = REPO / "models" / "releases" / "coco-teacher"
BUS = REPO / "tests" / "data" / "images" / "bus.jpg"


def _boxes(rows: list[tuple[int, float, float, float, float]]) -> RawBoxes:
    xyxy = np.asarray([r[1:] for r in rows], dtype=np.float32).reshape(-1, 4)
    return RawBoxes(xyxy, np.linspace(0.9, 0.5, len(rows)).astype(np.float32), np.asarray([r[0] for r in rows]))


@pytest.mark.parametrize(
    ("a", "b", "iou", "expected"),
    [
        ([(0, 0, 0, 10, 10)], [(0, 0, 0, 10, 10)], 0.9, 1),
        ([(0, 0, 0, 10, 10)], [(1, 0, 0, 10, 10)], 0.9, 0),  # same box, other class
        ([(0, 0, 0, 10, 10)], [(0, 0, 0, 10, 11)], 0.9, 1),  # IoU 0.909
        ([(0, 0, 0, 10, 10)], [(0, 0, 0, 10, 12)], 0.9, 0),  # IoU 0.833
        ([(0, 0, 0, 10, 10), (0, 1, 0, 11, 10)], [(0, 0, 0, 10, 10)], 0.5, 1),  # one-to-one
        ([], [(0, 0, 0, 10, 10)], 0.5, 0),
    ],
)
def test_match_count(a: list, b: list, iou: float, expected: int) -> None:
    assert match_count(_boxes(a), _boxes(b), iou) == expected


def test_agreement_and_diff_figures() -> None:
    a = [_boxes([(0, 0, 0, 10, 10), (2, 20, 20, 40, 40)])]
    b = [_boxes([(0, 0, 0, 10, 10)])]
    agreement = detection_agreement(a, b, 0.9, 0.25)
    assert (agreement.precision, agreement.recall) == (0.5, 1.0)
    assert iou_matrix(a[0].xyxy, b[0].xyxy)[:, 0].tolist() == pytest.approx([1.0, 0.0])
    x = np.ones((84, 10), np.float32)
    y = x.copy()
    y[0, 3] += 2.0
    y[10, 1] -= 0.5
    diff = raw_diff([x], [y])
    assert (diff.max_abs_box_px, diff.max_abs_score) == (2.0, 0.5)
    assert 0.99 < diff.min_cosine < 1.0


def test_release_manifest_matches_its_files() -> None:
    from streetwatch.files import sha256_file
    from streetwatch.models.registry import load_release

    release = load_release(RELEASE)
    m = release.manifest
    p = m.provenance
    assert p.kind == "rebuilt" and m.task == "detect" and m.taxonomy_version == "coco80"
    assert m.metrics is None  # nothing evaluated: parity and agreement are provenance, not evaluation
    assert p.parity.detections_pt_vs_float_tflite.matched > 0 and p.agreement.images > 0
    assert sha256_file(release.onnx_path) == m.primary.sha256 == release.sha256
    assert sha256_file(RELEASE / p.checkpoint.file) == p.checkpoint.sha256
    assert len(m.classes) == 80 and m.classes[60] == "dining_table" and m.imgsz == (640, 640)
    assert p.source.sha256.startswith("be21c7fc") and p.source.sha256.endswith("e9e1")
    assert "AGPL-3.0" in m.licence
    card = (RELEASE / "README.md").read_text(encoding="utf-8")
    assert "AGPL-3.0" in card and m.primary.sha256 in card and "streetwatch teacher release" in card


def test_release_onnx_finds_the_bus_and_persons_with_our_engine() -> None:
    import cv2

    from streetwatch.inference import Detector
    from streetwatch.models.taxonomy import COCO_CLASSES

    detector = Detector(RELEASE / "yolov8n-coco.onnx", conf=0.4)
    assert detector.imgsz == (640, 640) and len(detector.names) == 80
    assert set(COCO_CLASSES) <= set(detector.names)  # taxonomy spellings, dining_table included
    assert detector.info.metadata["taxonomy_version"] == "coco80"
    assert detector.info.name == "coco-teacher"
    found = detector.detect(cv2.imread(str(BUS)))
    names = [detector.names[c] for c in found.class_id]
    assert names.count("bus") == 1 and names.count("person") >= 3, names


def test_release_records_its_parity_figures() -> None:
    parity = json.loads((RELEASE / "manifest.json").read_text())["provenance"]["parity"]
    assert parity["pt_vs_float_tflite"]["max_abs_score"] < 1e-3
    assert parity["pt_vs_float_tflite"]["min_cosine"] > 0.999999
    assert parity["onnx_vs_pt"]["min_cosine"] > 0.99999
    assert parity["detections_pt_vs_float_tflite"]["precision"] == 1.0
    assert parity["train_vs_eval_error"] < 0.15
    assert parity["train_vs_eval_error_identity_bn"] > 2 * parity["train_vs_eval_error"]


@pytest.fixture(scope="module")
def yolox_onnx(shared_data: Path) -> Path:
    return _yolox_onnx(shared_data)


def test_yolox_nano_reference_finds_the_bus(yolox_onnx: Path) -> None:
    import cv2

    from streetwatch.training.teacher.yolox import YoloxNano

    found = YoloxNano(yolox_onnx).detect(cv2.imread(str(BUS)), conf=0.4)
    assert found.class_id.tolist().count(5) == 1
    assert found.class_id.tolist().count(0) >= 3
    frame = cv2.imread(str(BUS))
    assert found.xyxy[:, 2].max() <= frame.shape[1] and found.xyxy[:, 3].max() <= frame.shape[0]


def test_the_teacher_release_writer_reproduces_the_shipped_manifest_and_card(tmp_path: Path) -> None:
    """`streetwatch teacher release` builds its manifest from the measured figures and writes it with the one
    release writer: fed the shipped figures, it gives back the shipped manifest and card (but the new files)."""
    from streetwatch.models import manifest
    from streetwatch.models.registry import load_release
    from streetwatch.training.teacher.parity import DetectionAgreement
    from streetwatch.training.teacher.rebuild import RebuildReport
    from streetwatch.training.teacher.release import (
        AgreementFigures,
        ParityFigures,
        ReleaseOptions,
        release_manifest,
        write_release,
    )
    from streetwatch.training.teacher.yolox import ClassAgreement

    shipped = load_release(RELEASE).manifest
    p, a, src = shipped.provenance.parity, shipped.provenance.agreement, shipped.provenance.source

    def det(d: manifest.DetectionMatch) -> DetectionAgreement:
        return DetectionAgreement(d.iou, d.conf, d.a_boxes, d.b_boxes, d.matched)

    def rows(rs: list[manifest.AgreementRow] | None) -> list[ClassAgreement]:
        assert rs is not None
        return [ClassAgreement(r.class_name, DetectionAgreement(0.5, 0.25, r.ours, r.yolox, r.matched)) for r in rs]

    # The figures as measured are the manifest's own types, except the detection matches (counts only).
    measured = {f.name: getattr(p, f.name) for f in dataclasses.fields(ParityFigures)}
    measured = {**measured, **{k: det(v) for k, v in measured.items() if k.startswith("detections_")}}
    parity = ParityFigures(**measured)
    agreement = AgreementFigures(a.images, a.source, rows(a.ours), rows(a.baseline_tflite_interpreter))
    report = RebuildReport(
        src.file, src.sha256, src.exported_by, src.convs, src.int8_convs, src.bn_calibration_images,
        src.eval_change_after_bn_calibration,
    )  # fmt: skip
    out = tmp_path / "models" / "releases" / "coco-teacher"
    out.mkdir(parents=True)
    (out / "yolov8n-coco.onnx").write_bytes(b"onnx")
    (out / "yolov8n-coco.pt").write_bytes(b"pt")
    opts = ReleaseOptions(tflite=Path(src.file), out=out, shared_data=tmp_path, yolox=tmp_path)
    names = dict(enumerate(shipped.classes))
    onnx_path, pt_path = out / "yolov8n-coco.onnx", out / "yolov8n-coco.pt"
    written = write_release(out, release_manifest(opts, report, names, onnx_path, pt_path, parity, agreement))
    assert load_release(out).manifest == written
    new, old = written.model_dump(), shipped.model_dump()
    for m in (new, old):
        m.pop("created_at"), m.pop("files"), m["provenance"].pop("checkpoint")
    assert new == old
    assert written.primary.sha256 == hashlib.sha256(b"onnx").hexdigest() and written.primary.size_bytes == 4
    card = (out / "README.md").read_text(encoding="utf-8")
    assert card.split("| file | what | sha256 |")[0] == (RELEASE / "README.md").read_text().split("| file |")[0]
    assert written.primary.sha256 in card and "streetwatch teacher release" in card
