"""Builders for training tests (a plain module with a unique name: conftest modules are not importable by name)."""

from __future__ import annotations

from pathlib import Path

from builders import write_synthetic_yolo_dataset


def synthetic_data(root: Path, n_images: int = 8) -> Path:
    """The shared synthetic set plus a test split (the val images)."""
    data_yaml = write_synthetic_yolo_dataset(root, n_images=n_images, size=96)
    data_yaml.write_text(data_yaml.read_text() + "test: images/val\n")
    return data_yaml
