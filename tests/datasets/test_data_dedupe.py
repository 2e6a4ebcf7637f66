from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from dataset_builders import yolo_source

from streetwatch.datasets.dedupe import dedupe, near_pairs
from streetwatch.datasets.importing import SourceSpec, import_source
from streetwatch.datasets.store import Dataset
from streetwatch.errors import InputError


def test_near_pairs_counts_bits() -> None:
    hashes = np.array([0b0000, 0b0111, 0b1111_0000_0000, 0b0001], dtype=np.uint64)
    assert near_pairs(hashes, 1) == [(0, 3)]
    assert sorted(near_pairs(hashes, 3)) == [(0, 1), (0, 3), (1, 3)]


def test_exact_and_near_duplicates_across_sources(real_sources: Path, tmp_path: Path, write_mapping) -> None:
    fire = real_sources / "fire-smoke" / "images"
    frame = next(fire.glob("fire1_mp4-26_*.jpg"))
    other = yolo_source(tmp_path / "other", {"x": ""}, names=["Fire"])
    shutil.copyfile(frame, other / "images" / "copy.jpg")  # exact duplicate, another source
    image = cv2.imread(str(frame))
    small = cv2.resize(image, (200, 200), interpolation=cv2.INTER_AREA)
    cv2.imwrite(str(other / "images" / "resized.jpg"), small, [cv2.IMWRITE_JPEG_QUALITY, 60])  # near duplicate
    dataset = Dataset()
    mapping = write_mapping({"Fire": "fire", "smoke": "smoke", "default": "negative"})
    import_source(dataset, SourceSpec("fire", real_sources / "fire-smoke", mapping))
    import_source(dataset, SourceSpec("other", other, mapping))
    result = dedupe(dataset, hamming=6)
    items = {i.id.split("_jpg")[0]: i for i in dataset.items}
    original = items["fire/fire1_mp4-26"]
    assert items["other/copy"].excluded == f"duplicate of {original.id}"  # first source wins
    assert original.excluded is None and result.exact_duplicates == 1
    assert items["other/resized"].cluster is not None
    assert items["other/resized"].cluster == original.cluster
    # Frames of one video 16 bits apart are not near-duplicates at 6 bits (their group keeps them
    # together in the split); an unrelated random image is in no cluster.
    assert items["fire/test2_mp4-16"].cluster is None and items["other/x"].cluster is None
    # Rerun: same state.
    before = [i.model_dump() for i in dataset.items]
    dedupe(dataset, hamming=6)
    assert [i.model_dump() for i in dataset.items] == before


def test_hamming_range() -> None:
    with pytest.raises(InputError, match=r"hamming distance must be in 0\.\.32"):
        dedupe(Dataset(), hamming=40)
