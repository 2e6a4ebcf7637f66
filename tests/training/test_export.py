from __future__ import annotations

import io
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from streetwatch.errors import InputError, ModelError
from streetwatch.inference.detector import Detector
from streetwatch.models.manifest import Trained
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


def test_nncf_int8_is_an_openvino_ir_the_detector_opens_and_checks(teacher_onnx: Path, tmp_path: Path) -> None:
    """NNCF's plan writes an OpenVINO IR: convs in INT8 (FakeQuantize), the decoding float, the ONNX
    metadata carried; the edge Detector runs it on OpenVINO, finds the fp32 model's bus, refuses it on
    onnxruntime, and refuses a cut weights file."""
    pytest.importorskip("nncf")
    pytest.importorskip("openvino")
    import openvino as ov

    from streetwatch.training.quantize_nncf import quantize_nncf

    images = sorted(Path(__file__).parents[1].glob("data/images/*.jpg"))
    decode, _ = head_nodes(teacher_onnx)
    out = quantize_nncf(teacher_onnx, tmp_path / "q.xml", images, "nncf-decode-float", decode)
    ops = ov.Core().read_model(str(out)).get_ops()
    fake_quantize = [op for op in ops if op.get_type_name() == "FakeQuantize"]
    convs = [op for op in ops if op.get_type_name() == "Convolution"]
    assert len(fake_quantize) >= len(convs) > 50  # every conv's input and weights
    # The box decoding reads no quantised tensor.
    decode_names = set(decode)
    fed_by_fq = [
        op.get_friendly_name()
        for op in ops
        if op.get_friendly_name() in decode_names
        and any(i.get_source_output().get_node().get_type_name() == "FakeQuantize" for i in op.inputs())
    ]
    assert not fed_by_fq
    bus = cv2.imread(str(Path(__file__).parents[1] / "data" / "images" / "bus.jpg"))
    reference = Detector(teacher_onnx, conf=0.4).detect(bus)
    int8 = Detector(out, conf=0.4, runtime="openvino")
    assert int8.names == Detector(teacher_onnx).names and int8.info.imgsz == (320, 320)
    found = int8.detect(bus)
    bus_id = int8.names.index("bus")
    assert bus_id in set(reference.class_id.tolist()) and bus_id in set(found.class_id.tolist())
    with pytest.raises(InputError, match="runs on runtime 'openvino', not 'onnxruntime'"):
        Detector(out, runtime="onnxruntime")
    weights = out.with_suffix(".bin")
    data = bytearray(weights.read_bytes())
    data[-100:] = bytes(100)  # other weights, same size: OpenVINO itself would load them
    weights.write_bytes(bytes(data))
    with pytest.raises(ModelError, match=r"q\.bin sha256 is .* the IR expects"):
        Detector(out, runtime="openvino")
    weights.write_bytes(bytes(data[:-1000]))  # cut short
    with pytest.raises(ModelError, match=r"q\.xml: not a loadable OpenVINO IR"):
        Detector(out, runtime="openvino")


def test_int8_plans_are_checked_before_any_work(teacher_onnx: Path, tmp_path: Path) -> None:
    from streetwatch.training.quantize import quantize_with_gate

    with pytest.raises(ModelError, match=r"unknown quantisation plan.*nncf-everything"):
        quantize_with_gate(teacher_onnx, tmp_path, [], lambda p: 0.0, 0.5, plans=["nncf-everything"])


def test_quantize_adds_an_int8_file_to_a_release_and_keeps_its_hand_written_card(
    synthetic_run: tuple[Path, str], synthetic_yaml: Path, tmp_path: Path
) -> None:
    pytest.importorskip("nncf")
    from streetwatch.training.release_int8 import add_int8

    run, _ = synthetic_run
    folder = export_release(ExportOptions(run=run, name="q8", releases_dir=tmp_path), out=io.StringIO())
    card = folder / "README.md"
    card.write_text(card.read_text() + "\n## Targets and honest status\n\nwritten by hand\n")
    log = io.StringIO()
    # A gate that takes anything: the first plan (NNCF for OpenVINO) ships.
    manifest = add_int8(folder, synthetic_yaml, tmp_path / "work", max_drop=1.0, out=log)
    assert [f.precision for f in manifest.files] == ["fp32", "int8"], log.getvalue()
    int8 = folder / manifest.files[1].file
    assert int8.name == "q8-int8.xml" and int8.with_suffix(".bin").is_file()
    assert manifest.provenance.int8 is not None and manifest.provenance.int8.accepted  # type: ignore[union-attr]
    assert [a.plan for a in manifest.provenance.int8.attempts] == ["nncf-decode-float"]  # type: ignore[union-attr]
    assert "speed, Detector.detect median" in log.getvalue()
    release = load_release(folder)  # the manifest reads back strictly, every file's sha256 checked
    assert [f.file for f in release.manifest.files] == ["q8.onnx", "q8-int8.xml"]
    assert Detector(int8, runtime="openvino", sha256=manifest.files[1].sha256).names == release.classes
    text = card.read_text()
    assert "q8-int8.xml" in text and "nncf-decode-float" in text
    assert text.count("## Targets and honest status") == 1 and "written by hand" in text
    # A gate nothing passes: the INT8 file that passed before stays, with its own gate's record.
    log = io.StringIO()
    refused = add_int8(folder, synthetic_yaml, tmp_path / "work2", max_drop=-1.0, out=log)
    assert "INT8 not shipped" in log.getvalue() and "kept q8-int8.xml" in log.getvalue()
    assert refused == load_release(folder).manifest and refused.provenance.int8.accepted  # type: ignore[union-attr]


MIX_RECIPE = """
name: mini-mix
data_root: {root}
sources:
  - name: garbage-cn
    path: garbage-cn
    mapping: {mappings}/garbage-cn.yaml
  - name: fire-smoke
    path: fire-smoke
    mapping: {mappings}/fire-smoke.yaml
split:
  ratios: [0.6, 0.2, 0.2]
  seed: 1
classes:
  min_instances: 0
"""


def test_a_release_trained_on_a_mix_names_the_built_data_sets_content_hash(tmp_path: Path) -> None:
    """build -> mix -> train -> export: the release manifest carries the data set's `content_sha256`."""
    pytest.importorskip("ultralytics")
    from streetwatch.cli import main
    from streetwatch.training.config import TrainConfig
    from streetwatch.training.train import run_training

    tests_dir = Path(__file__).resolve().parents[1]
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        MIX_RECIPE.format(root=tests_dir / "data" / "datasets", mappings=tests_dir.parent / "datasets" / "mappings")
    )
    built, mix = tmp_path / "built", tmp_path / "mix"
    assert main(["data", "--no-progress", "build", str(recipe), "--out", str(built)]) == 0
    assert main(["data", "mix", str(built), "--out", str(mix)]) == 0
    content_sha256 = json.loads((built / "manifest.json").read_text())["content_sha256"]
    assert len(content_sha256) == 64

    config = TrainConfig(
        data=mix / "data.yaml", base="yolov8n.yaml", epochs=1, imgsz=64, batch=4, workers=0, project=tmp_path, name="r"
    )
    run = run_training(config, out=io.StringIO())
    folder = export_release(ExportOptions(run=run, name="mixed", version="0.1.0", releases_dir=tmp_path / "rel"))
    data = json.loads((folder / "manifest.json").read_text())["provenance"]["data"]
    assert data["content_sha256"] == content_sha256
    assert data["manifest_file"] == "manifest.json"  # the mix's own manifest, hashed beside it
    provenance = load_release(folder).manifest.provenance  # and the registry's strict reading keeps it
    assert isinstance(provenance, Trained) and provenance.data.content_sha256 == content_sha256
    assert f"content sha256 `{content_sha256}`" in (folder / "README.md").read_text()  # and the card names it
    # The test split's figures per source, as `eval` reports them, are in the manifest and the card.
    tested = {Path(line).name.split("__")[0] for line in (mix / "test.txt").read_text().splitlines()}
    per_source = json.loads((folder / "manifest.json").read_text())["metrics"]["per_source"]
    assert set(per_source) == tested and all(s["images"] > 0 for s in per_source.values())
    assert sum(s["images"] for s in per_source.values()) == len((mix / "test.txt").read_text().splitlines())
    assert "mAP50 per source of the `test` split" in (folder / "README.md").read_text()
