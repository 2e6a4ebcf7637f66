"""Fixtures for the dataset tests: real mini sources, generated YOLO/COCO/VOC sources, mappings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from streetwatch.datasets.progress import set_enabled

TESTS_DIR = Path(__file__).resolve().parents[1]
REAL_SOURCES = TESTS_DIR / "data" / "datasets"
REPO_ROOT = TESTS_DIR.parent
MAPPINGS = REPO_ROOT / "datasets" / "mappings"

os.environ.setdefault("MPLCONFIGDIR", "/tmp/streetwatch-matplotlib-tests")


@pytest.fixture(autouse=True)
def _quiet_progress() -> None:
    set_enabled(False)


@pytest.fixture(scope="session")
def real_sources() -> Path:
    """Two tiny YOLO sources cut from the shared data (see tests/data/datasets/NOTICE)."""
    return REAL_SOURCES


@pytest.fixture(scope="session")
def mappings_dir() -> Path:
    return MAPPINGS


@pytest.fixture()
def write_mapping(tmp_path: Path):  # type: ignore[no-untyped-def]
    def write(classes: dict[str, str], labelled: list[str] | None = None, name: str = "mapping.yaml") -> Path:
        lines = ["classes:", *[f"  {k!r}: {v}" for k, v in classes.items()]]
        if labelled is not None:
            lines.append(f"labelled: [{', '.join(labelled)}]")
        path = tmp_path / name
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    return write
