"""Shared fixtures. Heavy artefacts (a tiny trained model) are built once per test session."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parent
DATA_DIR = TESTS_DIR / "data"
SHARED_DATA = Path(os.environ.get("STREETWATCH_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))

sys.path.insert(0, str(TESTS_DIR))  # `import builders`


@pytest.fixture(scope="session")
def sample_images() -> list[Path]:
    """Real street images committed with the tests (see tests/data/NOTICE)."""
    return sorted((DATA_DIR / "images").glob("*.jpg"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The full shared data set beside the checkout; tests that need it skip when it is absent."""
    if not (SHARED_DATA / "garbage-cn").is_dir():
        pytest.skip(f"shared data set not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def tiny_pt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A YOLOv8n (3 classes) trained one epoch on synthetic images: a real, small ultralytics model."""
    pytest.importorskip("ultralytics")
    from builders import train_tiny_model

    return train_tiny_model(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="session")
def tiny_onnx(tiny_pt: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model exported to ONNX at 128 px with a fixed batch of 1 (raw layout, needs NMS)."""
    from builders import export_onnx

    target = tmp_path_factory.mktemp("tiny-onnx") / "tiny.pt"
    target.write_bytes(tiny_pt.read_bytes())
    return export_onnx(target, imgsz=128)


@pytest.fixture(scope="session")
def tiny_onnx_dynamic(tiny_pt: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model exported with a dynamic batch axis."""
    from builders import export_onnx

    target = tmp_path_factory.mktemp("tiny-onnx-dyn") / "tiny_dynamic.pt"
    target.write_bytes(tiny_pt.read_bytes())
    return export_onnx(target, imgsz=128, dynamic=True)
