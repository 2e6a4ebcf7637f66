"""The one-home helpers every area imports: image listing, file sha256, the taxonomy's class-name spelling."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from streetwatch.files import IMAGE_SUFFIXES, list_images, sha256_file
from streetwatch.models.taxonomy import in_taxonomy_spelling, normalise_class_name, taxonomy_class


def test_list_images_is_recursive_sorted_case_blind_and_files_only(tmp_path: Path) -> None:
    for rel in ("b.jpg", "a.PNG", "sub/c.webp", "sub/deeper/d.TIFF", "notes.txt", "e.jpeg.txt"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"x")
    (tmp_path / "folder.jpg").mkdir()  # a directory named like an image is not one
    assert [p.relative_to(tmp_path).as_posix() for p in list_images(tmp_path)] == [
        "a.PNG",
        "b.jpg",
        "sub/c.webp",
        "sub/deeper/d.TIFF",
    ]
    assert list_images(tmp_path / "sub" / "deeper") == [tmp_path / "sub" / "deeper" / "d.TIFF"]
    assert {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"} == IMAGE_SUFFIXES


@pytest.mark.parametrize("size", [0, 1, (1 << 20) - 1, 1 << 20, (1 << 20) + 7])  # around the read chunk
def test_sha256_file_matches_hashlib(tmp_path: Path, size: int) -> None:
    data = bytes(i % 251 for i in range(size))
    path = tmp_path / "blob"
    path.write_bytes(data)
    assert sha256_file(path) == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize(
    ("name", "normalised", "taxonomy"),
    [
        ("dining table", "dining_table", "dining_table"),  # COCO's spelling
        ("Dining_Table", "dining_table", "dining_table"),
        (" dining-table ", "dining_table", "dining_table"),
        ("person", "person", "person"),
        ("traffic light", "traffic_light", None),  # not a taxonomy class
        ("Traffic Light", "traffic_light", None),
        ("toaster", "toaster", None),
    ],
)
def test_one_class_name_rule(name: str, normalised: str, taxonomy: str | None) -> None:
    assert normalise_class_name(name) == normalised
    assert taxonomy_class(name) == taxonomy


def test_in_taxonomy_spelling_respells_only_taxonomy_classes() -> None:
    names = ("person", "dining table", "traffic light", "Bus")
    assert in_taxonomy_spelling(names) == ("person", "dining_table", "traffic light", "bus")
