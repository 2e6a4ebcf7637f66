from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from streetwatch.errors import ModelError
from streetwatch.models import cli as models_cli
from streetwatch.models.registry import default_release, find_release, list_releases


def _release(root: Path, name: str, manifest: dict) -> None:
    (root / name).mkdir(parents=True)
    (root / name / "manifest.json").write_text(json.dumps(manifest))


@pytest.fixture
def releases(tmp_path: Path) -> Path:
    _release(tmp_path, "coco-teacher", {"file": "t.onnx", "sha256": "a" * 64, "classes": ["person", "car"]})
    _release(
        tmp_path,
        "street-v1",
        {
            "file": "street-v1.onnx",
            "sha256": "b" * 64,
            "classes": ["garbage", "fire"],
            "version": "1.0.0",
            "imgsz": [320, 320],
            "files": [
                {"file": "street-v1.onnx", "sha256": "b" * 64, "precision": "fp32", "metrics": {"map50": 0.612}},
                {"file": "street-v1-int8.onnx", "sha256": "c" * 64, "precision": "int8", "metrics": {"map50": 0.605}},
            ],
            "metrics": {
                "map50": 0.612,
                "map50_95": 0.401,
                "per_class": {"garbage": {"map50": 0.7}, "fire": {"map50": 0.52}},
            },
        },
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
    every taxonomy class, and its ONNX file must be the one the manifest's sha256 names."""
    from streetwatch.files import sha256_file
    from streetwatch.models.taxonomy import CLASS_NAMES

    release = default_release()
    assert release.classes == tuple(CLASS_NAMES)
    assert sha256_file(release.onnx_path) == release.sha256
    assert release.class_map50()["garbage"] >= 0.75
