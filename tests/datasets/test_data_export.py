from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from streetwatch.datasets.export import export_dataset
from streetwatch.datasets.importing import SourceSpec, import_source
from streetwatch.datasets.schema import Box
from streetwatch.datasets.split import split_dataset
from streetwatch.datasets.store import Dataset
from streetwatch.errors import InputError
from streetwatch.models.taxonomy import CLASS_NAMES


@pytest.fixture()
def dataset(real_sources: Path, mappings_dir: Path) -> Dataset:
    ds = Dataset()
    for name in ("garbage-cn", "fire-smoke"):
        import_source(ds, SourceSpec(name, real_sources / name, mappings_dir / f"{name}.yaml"))
    first = ds.by_source("garbage-cn")[0]
    first.boxes.append(Box(cls="car", xyxy=(0, 0, 32, 16), source_class="car", origin="machine", conf=0.8))
    split_dataset(ds, (0.6, 0.2, 0.2), seed=0)
    return ds


def test_export_layout_labels_and_manifest(dataset: Dataset, tmp_path: Path) -> None:
    out = tmp_path / "v1"
    manifest = export_dataset(dataset, out, name="v1")
    data = yaml.safe_load((out / "data.yaml").read_text())
    assert data["path"] == str(out.resolve()) and Path(data["path"]).is_absolute()
    assert data["names"] == dict(enumerate(CLASS_NAMES))
    for split in manifest.counts:
        assert data[split] == f"images/{split}"
    first = dataset.by_source("garbage-cn")[0]
    label = out / "labels" / first.split / (first.id.replace("/", "__") + ".txt")
    lines = label.read_text().splitlines()
    assert lines[-1] == "2 0.050000 0.025000 0.100000 0.050000"  # car, taxonomy id 2, on a 320x320 image
    machine = [json.loads(line) for line in (out / "machine_labels.jsonl").read_text().splitlines()]
    assert machine == [{"label": label.relative_to(out).as_posix(), "lines": [len(lines) - 1], "conf": [0.8]}]
    negative = next(i for i in dataset.items if i.id.startswith("fire-smoke/img_1002"))
    assert (out / "labels" / negative.split / (negative.id.replace("/", "__") + ".txt")).read_text() == ""
    assert sum(c.images for c in manifest.counts.values()) == len(dataset.items) == 8
    assert sum(c.negatives for c in manifest.counts.values()) == 2
    assert sum(c.machine_instances["car"] for c in manifest.counts.values()) == 1
    assert [s.name for s in manifest.sources] == ["garbage-cn", "fire-smoke"]
    assert manifest.sources[1].class_map["default"] == "negative"
    files = (out / "files.sha256").read_text().splitlines()
    assert len(files) == 16 and all(len(line.split("  ")[0]) == 64 for line in files)
    saved = json.loads((out / "manifest.json").read_text())
    assert saved["content_sha256"] == manifest.content_sha256


def test_content_hash_is_location_independent_and_rerunnable(dataset: Dataset, tmp_path: Path) -> None:
    a = export_dataset(dataset, tmp_path / "a")
    again = export_dataset(dataset, tmp_path / "a")
    b = export_dataset(dataset, tmp_path / "b")
    assert a.content_sha256 == again.content_sha256 == b.content_sha256
    without_machine = export_dataset(dataset, tmp_path / "c", include_machine=False)
    assert without_machine.content_sha256 != a.content_sha256 and without_machine.machine_labels == "excluded"
    assert (tmp_path / "c" / "machine_labels.jsonl").read_text() == ""


def test_export_refuses_foreign_folder_and_unsplit_items(dataset: Dataset, tmp_path: Path) -> None:
    foreign = tmp_path / "someone-elses"
    (foreign / "images").mkdir(parents=True)
    with pytest.raises(InputError, match="that no earlier export wrote"):
        export_dataset(dataset, foreign)
    dataset.items[0].split = None
    with pytest.raises(InputError, match="run `data split` first"):
        export_dataset(dataset, tmp_path / "x")


def test_ultralytics_reads_the_export(dataset: Dataset, tmp_path: Path) -> None:
    pytest.importorskip("ultralytics")
    from streetwatch.training.ultralytics_env import prepare_ultralytics

    prepare_ultralytics()
    from ultralytics.data.utils import check_det_dataset

    export_dataset(dataset, tmp_path / "v1")
    info = check_det_dataset(str(tmp_path / "v1" / "data.yaml"), autodownload=False)
    assert info["nc"] == len(CLASS_NAMES) and Path(info["train"]).is_dir()
