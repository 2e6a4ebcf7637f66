from __future__ import annotations

import io
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from streetwatch.errors import InputError, ModelError
from streetwatch.inference.detector import Detector
from streetwatch.models.registry import load_release
from streetwatch.training.evaluate import evaluate
from streetwatch.training.export import ExportOptions, export_release
from streetwatch.training.model_card import render_model_card
from streetwatch.training.onnx_files import read_metadata
from streetwatch.training.parity import check_parity
from streetwatch.training.quantize import gate, head_nodes, quantize


def test_export_writes_a_release(synthetic_run: tuple[Path, str], tmp_path: Path) -> None:
    run, _ = synthetic_run
    log = io.StringIO()
    folder = export_release(ExportOptions(run=run, name="syn", version="0.1.0", releases_dir=tmp_path), out=log)
    assert "parity ONNX vs PyTorch" in log.getvalue() and "release written to" in log.getvalue()
    onnx_path = folder / "syn.onnx"
    assert onnx_path.is_file() and (folder / "README.md").is_file()
    meta = read_metadata(onnx_path)
    assert (meta["model_name"], meta["model_version"], meta["taxonomy_version"]) == ("syn", "0.1.0", "v2")
    assert meta["description"].startswith("streetwatch syn 0.1.0") and "/" not in meta["description"]
    assert meta["imgsz"] == "[64, 64]" and meta["stride"] == "32"
    # The release loads through the registry and runs in the edge Detector.
    release = load_release(folder)
    assert release.classes == ("car", "garbage", "fire") and release.version == "0.1.0"
    detector = Detector(release.onnx_path, sha256=release.sha256)
    assert detector.names == release.classes
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["schema_version"] == 1 and manifest["created_at"].endswith("Z")
    assert manifest["imgsz"] == [64, 64] and manifest["metrics"]["split"] == "test"
    assert manifest["files"][0]["sha256"] == release.sha256 and manifest["files"][0]["metrics"] == manifest["metrics"]
    assert set(manifest["metrics"]["per_class"]) <= {"car", "garbage", "fire"}
    provenance = manifest["provenance"]
    assert provenance["kind"] == "trained" and len(provenance["data"]["sha256"]) == 64
    assert provenance["training"]["config"]["epochs"] == 1 and provenance["training"]["seed"] == 0
    assert provenance["parity"]["passed"] is True and provenance["parity"]["images"] > 0
    assert provenance["int8"] is None
    assert [a["licence"] for a in manifest["data_sources"]] == ["CC BY 4.0", "CC BY 4.0"]
    assert '"/' not in (folder / "manifest.json").read_text()  # no absolute paths of the exporting machine
    card = (folder / "README.md").read_text()
    assert "CC BY 4.0" in card and "AGPL-3.0" in card and "street-camera-v1" in card
    assert card == render_model_card(release.manifest)  # the card is the manifest, rendered
    with pytest.raises(InputError, match="exists; choose another --name or pass --force"):
        export_release(ExportOptions(run=run, name="syn", releases_dir=tmp_path))


def test_export_needs_a_run(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"expected a run folder with weights/best\.pt or weights/last\.pt"):
        export_release(ExportOptions(run=tmp_path, name="x", releases_dir=tmp_path))


def test_parity_refuses_a_different_model(synthetic_run: tuple[Path, str], teacher_onnx: Path) -> None:
    run, _ = synthetic_run
    image = sorted(Path(__file__).parents[1].glob("data/images/*.jpg"))[:1]
    with pytest.raises(ModelError, match="parity: ONNX output"):
        check_parity(run / "weights" / "best.pt", teacher_onnx, image)


@pytest.mark.parametrize(
    ("fp32", "int8", "accepted"),
    [(0.80, 0.80, True), (0.80, 0.7905, True), (0.80, 0.789, False), (0.5, 0.1, False), (0.5, 0.52, True)],
)
def test_gate_arithmetic(fp32: float, int8: float, accepted: bool) -> None:
    result = gate("decode-float", fp32, int8)
    assert result.accepted is accepted
    assert ("accepted" if accepted else "REFUSED") in result.message()


class BlackImages:
    """A deliberately broken calibration: black frames only, so real images saturate every activation range."""

    def __init__(self, input_name: str, n: int = 4) -> None:
        self.batches = iter([{input_name: np.zeros((1, 3, 320, 320), np.float32)} for _ in range(n)])

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self.batches, None)


def test_int8_gate_refuses_a_broken_quantisation(teacher_onnx: Path, scored_set: Path, tmp_path: Path) -> None:
    decode, head = head_nodes(teacher_onnx)
    assert decode and set(decode) < set(head)
    broken = quantize(teacher_onnx, tmp_path / "broken.onnx", [], plan="decode-float", reader=BlackImages("images"))
    fp32 = evaluate(teacher_onnx, scored_set, split="test").map50
    int8 = evaluate(broken, scored_set, split="test").map50
    result = gate("decode-float", fp32, int8)
    assert not result.accepted, result.message()
    assert "REFUSED" in result.message() and "allowed 0.01" in result.message()


def test_quantise_needs_calibration_images(teacher_onnx: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="INT8 calibration needs real images"):
        quantize(teacher_onnx, tmp_path / "q.onnx", [])
    with pytest.raises(ModelError, match="unknown quantisation plan 'all'"):
        quantize(teacher_onnx, tmp_path / "q.onnx", [], plan="all")


def test_image_blob_matches_the_detector_input(teacher_onnx: Path) -> None:
    from streetwatch.training.onnx_files import image_blob

    path = sorted(Path(__file__).parents[1].glob("data/images/*.jpg"))[0]
    blob = image_blob(path, (320, 320))
    assert blob.shape == (1, 3, 320, 320) and blob.dtype == np.float32
    assert blob.min() >= 0.0 and blob.max() <= 1.0
    assert cv2.imread(str(path)) is not None


def test_export_chooses_thresholds_on_val_and_ships_them(synthetic_run: tuple[Path, str], tmp_path: Path) -> None:
    run, _ = synthetic_run
    log = io.StringIO()
    options = ExportOptions(run=run, name="thr", releases_dir=tmp_path, threshold_min_instances=1)
    folder = export_release(options, out=log)
    manifest = json.loads((folder / "manifest.json").read_text())
    thresholds = manifest["thresholds"]
    assert thresholds and set(thresholds) <= {"car", "garbage", "fire"}
    assert "threshold " in log.getvalue() and "chosen" in log.getvalue()
    # The same numbers travel in the ONNX file, and the Detector applies them without being asked.
    detector = Detector(folder / "thr.onnx")
    assert detector.info.thresholds == pytest.approx(thresholds)
    assert "Operating thresholds per class" in (folder / "README.md").read_text()
    plain = export_release(
        ExportOptions(run=run, name="plain", releases_dir=tmp_path, thresholds=False), out=io.StringIO()
    )
    assert json.loads((plain / "manifest.json").read_text())["thresholds"] is None
    assert Detector(plain / "plain.onnx").info.thresholds == {}


def test_a_refused_int8_still_ships_fp32_and_says_so(synthetic_run: tuple[Path, str], tmp_path: Path) -> None:
    """INT8 refused by its gate is not a failed export: the fp32 release is complete (exit 0)."""
    run, _ = synthetic_run
    log = io.StringIO()
    options = ExportOptions(run=run, name="syn8", version="0.1.0", releases_dir=tmp_path, int8=True, max_int8_drop=-1.0)
    folder = export_release(options, out=log)
    assert "INT8 not shipped" in log.getvalue() and "fp32 release is complete" in log.getvalue(), log.getvalue()
    release = load_release(folder)
    assert [f.file for f in release.manifest.files] == ["syn8.onnx"]
