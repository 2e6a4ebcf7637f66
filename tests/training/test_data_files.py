from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from train_builders import synthetic_data

from streetwatch.errors import InputError
from streetwatch.training.data_files import label_path, load_data_spec, read_labels, summarise


def test_spec_and_summary(tmp_path: Path) -> None:
    spec = load_data_spec(synthetic_data(tmp_path / "a"))
    assert spec.names == ("car", "garbage", "fire")
    assert {k: len(v) for k, v in spec.splits.items()} == {"train": 8, "val": 8, "test": 8}
    summary = summarise(spec)
    assert summary.images == {"train": 8, "val": 8, "test": 8}
    assert summary.boxes["train"] > 0
    # Same content elsewhere -> same hash; one label changed -> another hash.
    again = summarise(load_data_spec(synthetic_data(tmp_path / "b")))
    assert again.sha256 == summary.sha256
    label = label_path(spec.splits["train"][0])
    label.write_text("0 0.5 0.5 0.1 0.1\n")
    assert summarise(spec).sha256 != summary.sha256


def test_label_path_replaces_the_last_images_folder() -> None:
    assert label_path(Path("/d/images/x/images/train/a.jpg")) == Path("/d/images/x/labels/train/a.txt")


def test_labels_in_pixels_and_missing_file(tmp_path: Path) -> None:
    image = tmp_path / "images" / "a.jpg"
    assert read_labels(image).class_id.shape == (0,)
    (tmp_path / "labels").mkdir()
    (tmp_path / "labels" / "a.txt").write_text("2 0.5 0.5 0.5 0.25\n")
    labels = read_labels(image)
    np.testing.assert_allclose(labels.xyxy(200, 100), [[50, 37.5, 150, 62.5]])
    (tmp_path / "labels" / "a.txt").write_text("car 0.5 0.5 0.5 0.25\n")
    with pytest.raises(InputError, match="expected YOLO rows 'class x y w h'"):
        read_labels(image)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("train: images/train\n", "expected a mapping with 'names'"),
        ("names: [a]\ntrain: nowhere\n", "expected a folder of images or a .txt list"),
        ("names: [a]\n", "at least a 'train' or 'val' split"),
    ],
)
def test_bad_data_yaml(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "data.yaml"
    path.write_text(text)
    with pytest.raises(InputError, match=match):
        load_data_spec(path)


def test_missing_data_yaml(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="data file not found"):
        load_data_spec(tmp_path / "none.yaml")
