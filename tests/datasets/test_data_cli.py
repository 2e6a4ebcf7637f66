"""The `streetwatch data` commands end to end, through the real CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from streetwatch.cli import main

RECIPE = """
name: mini
data_root: {root}
sources:
  - name: garbage-cn
    path: garbage-cn
    mapping: {mappings}/garbage-cn.yaml
  - name: fire-smoke
    path: fire-smoke
    mapping: {mappings}/fire-smoke.yaml
    groups:
      - pattern: '^(?P<group>.+?_mp4)-\\d+_'
      - pattern: '^(?P<group>img)_(?P<index>\\d+)'
        max_gap: 5
teacher:
  model: {teacher}
  conf: 0.001
  classes: [car]
split:
  ratios: [0.6, 0.2, 0.2]
  seed: 1
"""


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["data", "--no-progress", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_step_by_step(real_sources: Path, mappings_dir: Path, tmp_path: Path, capsys) -> None:
    ds = tmp_path / "ds"
    code, out, _ = _run(
        capsys,
        "import",
        str(real_sources / "fire-smoke"),
        "--to",
        str(ds),
        "--name",
        "fire-smoke",
        "--mapping",
        str(mappings_dir / "fire-smoke.yaml"),
        "--group-pattern",
        r"^(?P<group>img)_(?P<index>\d+)",
        "--max-gap",
        "5",
    )
    assert code == 0 and "fire-smoke: 5 images (yolo)" in out and "2 marked negative" in out and "4 groups" in out
    code, out, _ = _run(capsys, "check", str(ds), "--fix", "--report", str(tmp_path / "check.md"))
    assert code == 0 and "No issues found." in (tmp_path / "check.md").read_text()
    assert _run(capsys, "dedupe", str(ds))[0] == 0
    code, out, _ = _run(capsys, "split", str(ds), "--ratios", "0.6", "0.2", "0.2")
    assert code == 0 and "units" in out
    code, out, _ = _run(capsys, "stats", str(ds), "--out", str(tmp_path / "stats"))
    assert code == 0 and "| fire |" in out and (tmp_path / "stats" / "class_counts.png").stat().st_size > 1000
    code, out, _ = _run(capsys, "export", str(ds), "--out", str(tmp_path / "export"))
    assert code == 0 and "content sha256" in out and (tmp_path / "export" / "data.yaml").is_file()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["import", "{src}", "--to", "{ds}", "--name", "x", "--mapping", "{bad_mapping}"], "not in mapping"),
        (["split", "{ds}"], "not a dataset folder"),
        (["build", "{missing}", "--out", "{ds}"], "recipe not found"),
        (["pseudo-label", "{ds}", "--model", "nothing-here"], "not a dataset folder"),
    ],
)
def test_user_errors_exit_2_with_one_line(
    argv: list[str], message: str, real_sources: Path, tmp_path: Path, write_mapping, capsys
) -> None:
    values = {
        "src": str(real_sources / "fire-smoke"),
        "ds": str(tmp_path / "ds"),
        "bad_mapping": str(write_mapping({"Fire": "fire"})),
        "missing": str(tmp_path / "none.yaml"),
    }
    code, _, err = _run(capsys, *[a.format(**values) for a in argv])
    assert code == 2 and message in err and "Traceback" not in err


def test_build_recipe_end_to_end_and_rebuild(
    real_sources: Path, mappings_dir: Path, tiny_onnx: Path, tmp_path: Path, capsys
) -> None:
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(RECIPE.format(root=real_sources, mappings=mappings_dir, teacher=tiny_onnx))
    out = tmp_path / "mini"
    code, stdout, _ = _run(capsys, "build", str(recipe), "--out", str(out))
    assert code == 0 and "mini: 8 images" in stdout
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["name"] == "mini" and manifest["pseudo_label"]["classes"] == ["car"]
    assert manifest["split"] == {
        "ratios": [0.6, 0.2, 0.2],
        "seed": 1,
        "units": 6,
    }  # 3 garbage + test2 video + img run + fire1
    data = yaml.safe_load((out / "data.yaml").read_text())
    assert data["path"] == str(out.resolve())
    stats = (out / "stats" / "stats.md").read_text()
    assert "## Instances per class" in stats and (out / "stats" / "box_sizes.png").is_file()
    # No group and no near-duplicate cluster in two splits.
    items = [json.loads(line) for line in (out / "dataset" / "items.jsonl").read_text().splitlines()]
    groups: dict[str, set[str]] = {}
    for item in items:
        groups.setdefault(item["group"], set()).add(item["split"])
    assert all(len(s) == 1 for s in groups.values())
    # Rebuilding changes nothing: same content hash, and the teacher is not run again.
    first_hash = manifest["content_sha256"]
    cache = next((out / "cache").glob("pseudo-*.jsonl"))
    cached = cache.read_text()
    assert _run(capsys, "build", str(recipe), "--out", str(out))[0] == 0
    assert json.loads((out / "manifest.json").read_text())["content_sha256"] == first_hash
    assert cache.read_text() == cached


def test_help_lists_every_step(capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["data", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for step in ("import", "pseudo-label", "check", "dedupe", "split", "stats", "export", "from-cases", "build"):
        assert step in out
