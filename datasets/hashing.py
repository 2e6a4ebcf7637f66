"""Content hashes of bytes and image headers, shared by import, dedupe, check and export."""

from __future__ import annotations

import hashlib
from pathlib import Path


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def image_size(path: Path) -> tuple[int, int] | None:
    """(width, height) from the image header without decoding pixels; None when unreadable."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return image.size
    except (UnidentifiedImageError, OSError, ValueError):
        return None
