from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
from train_builders import evaluation, release_manifest

from streetwatch.errors import ModelError
from streetwatch.models import cli as models_cli
from streetwatch.models.registry import default_release, find_release, list_releases, load_release


def _release(root: Path, name: str, manifest: dict) -> None:
    (root / name).mkdir(parents=True)
    (root / name / "manifest.json").write_text(json.dumps(manifest))


@pytest.fixture
def releases(tmp_path: Path) -> Path:
    _release(
        tmp_path,
        "coco-teacher",
        release_manifest("coco-teacher", [{"file": "t.onnx", "sha256": "a" * 64}], ["person", "car"]),
    )
    _release(
        tmp_path,
        "street-v1",
        release_manifest(
            "street-v1",
            [
                {"file": "street-v1.onnx", "sha256": "b" * 64, "precision": "fp32", "metrics": evaluation(0.612)},
                {"file": "street-v1-int8.onnx", "sha256": "c" * 64, "precision": "int8", "metrics": evaluation(0.605)},
            ],
            ["garbage", "fire"],
            imgsz=(320, 320),
            metrics=evaluation(0.612, 0.401, {"garbage": 0.7, "fire": 0.52}),
        ),
    )
    (tmp_path / "DEFAULT").write_text("street-v1\n")
    return tmp_path


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    models_cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


def test_list_shows_releases_metrics_and_default(releases: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["models", "list", "--releases-dir", str(releases)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert any(line.startswith("* street-v1") and "0.612" in line and "0.401" in line for line in lines)
    assert any("street-v1-int8.onnx" in line and "int8" in line and "0.605" in line for line in lines)
    assert any(line.startswith("  coco-teacher") and line.rstrip().endswith("-") for line in lines)
    assert "garbage 0.70  fire 0.52" in out


def test_list_json_and_empty(releases: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _run(["models", "list", "--releases-dir", str(releases), "--json"])
    assert [r["name"] for r in json.loads(capsys.readouterr().out)] == ["coco-teacher", "street-v1"]
    _run(["models", "list", "--releases-dir", str(tmp_path / "none")])
    assert "no releases in" in capsys.readouterr().out


def test_registry_files_and_errors(releases: Path) -> None:
    street = default_release(releases)
    assert street.name == "street-v1" and street.file_path("int8").name == "street-v1-int8.onnx"
    assert [f.precision for f in street.files] == ["fp32", "int8"]
    teacher = find_release("coco-teacher", releases)
    assert [f.precision for f in teacher.files] == ["fp32"] and teacher.metric("map50") is None
    with pytest.raises(ModelError, match="release coco-teacher has no int8 model; it has fp32"):
        teacher.file_path("int8")
    with pytest.raises(ModelError, match=r"no release named 'v9'.*releases: coco-teacher, street-v1"):
        find_release("v9", releases)
    assert len(list_releases(releases)) == 2


def test_the_shipped_default_is_a_taxonomy_release_whose_file_matches_its_manifest() -> None:
    """`detect`, the edge examples and the demo run the default release: it must be a street model with
    every class public data supplies (COCO proxies, garbage, fire; `stall` enters a model only once reviewed
    cases give it data), and its ONNX file must be the one the manifest's sha256 names."""
    from streetwatch.files import sha256_file
    from streetwatch.models.taxonomy import COCO_CLASSES, FIRE_CLASSES, GARBAGE_CLASSES

    release = default_release()
    assert release.classes == COCO_CLASSES + GARBAGE_CLASSES + FIRE_CLASSES
    assert sha256_file(release.onnx_path) == release.sha256
    assert release.class_map50()["garbage"] >= 0.75


@pytest.mark.parametrize(
    ("change", "error"),
    [
        # The shape written before the typed manifest: top-level file/sha256, no provenance.
        (lambda m: {"file": "x.onnx", "sha256": "a" * 64, "classes": ["car"]}, r"files: Field required"),
        (lambda m: {**m, "files": []}, r"files: List should have at least 1 item"),
        (
            lambda m: {**m, "files": [{"file": "x.onnx", "sha256": "not-a-hash"}]},
            r"files\.0\.sha256: String should match",
        ),
        (lambda m: {**m, "created": "2026-11-23T21:42:38Z"}, r"created: Extra inputs are not permitted"),
        (
            lambda m: {**m, "created_at": "2026-11-23T21:42:38"},
            r"created_at: Value error, created_at must carry a time zone",
        ),
        (lambda m: {**m, "thresholds": {"car": 1.5}}, r"thresholds\.car: Input should be less than or equal to 1"),
        (lambda m: {**m, "thresholds": {"tractor": 0.4}}, r"thresholds name classes the model does not have: tractor"),
        (lambda m: {**m, "provenance": {**m["provenance"], "kind": "bought"}}, r"provenance: Input tag 'bought'"),
        (
            lambda m: {**m, "files": [{"file": "x.onnx", "sha256": "a" * 64, "precision": "int8"}]},
            r"files\[0\] must be the fp32 model",
        ),
    ],
)
def test_a_malformed_manifest_is_an_error_naming_the_file_and_the_field(
    tmp_path: Path, change: object, error: str
) -> None:
    good = release_manifest("r", [{"file": "x.onnx", "sha256": "a" * 64}], ["car"])
    _release(tmp_path, "r", change(good))  # type: ignore[operator]
    with pytest.raises(ModelError, match=r"r/manifest\.json: not a valid release manifest: .*" + error):
        load_release(tmp_path / "r")


def test_registry_errors_for_unreadable_and_misnamed_manifests(tmp_path: Path) -> None:
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "manifest.json").write_text("{not json")
    with pytest.raises(ModelError, match=r"bad/manifest\.json: invalid JSON"):
        load_release(tmp_path / "bad")
    (tmp_path / "bad" / "manifest.json").write_text("[1, 2]")
    with pytest.raises(ModelError, match=r"bad/manifest\.json: expected a JSON object, got list"):
        load_release(tmp_path / "bad")
    _release(tmp_path, "copy", release_manifest("original", [{"file": "x.onnx", "sha256": "a" * 64}], ["car"]))
    with pytest.raises(ModelError, match=r"name: 'original' does not match its folder 'copy'"):
        load_release(tmp_path / "copy")
    # One bad release is an error for the listing too, never silently skipped.
    with pytest.raises(ModelError, match=r"bad/manifest\.json"):
        list_releases(tmp_path)


def test_every_shipped_release_is_a_valid_manifest_whose_files_match() -> None:
    from streetwatch.files import sha256_file

    shipped = list_releases()
    assert {r.name for r in shipped} >= {"coco-teacher", "street-v1", "street-v1.1"}
    for release in shipped:
        for f in release.files:
            path = release.folder / f.file
            assert sha256_file(path) == f.sha256, path
            assert f.size_bytes is None or path.stat().st_size == f.size_bytes, path
        kinds = {"coco-teacher": "rebuilt"}
        assert release.manifest.provenance.kind == kinds.get(release.name, "trained")
