"""File helpers every area imports (stdlib only, like `errors.py`): image suffixes, image listing, sha256."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

# What OpenCV and Pillow both decode; the one list for `detect`, dataset import and training data.
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})


def is_image_path(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


def list_images(folder: Path) -> list[Path]:
    """Image files anywhere below `folder` (by suffix, any case), sorted."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and is_image_path(p))


def sha256_file(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes, read in chunks (model files are large)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()
