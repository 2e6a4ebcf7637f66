"""Model releases in `models/releases/<name>/`: an ONNX file, a model card and `manifest.json`.

The default model is the newest release named in `models/releases/DEFAULT` (one line, the
release folder name); it falls back to the COCO teacher until a trained v1 model is shipped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from streetwatch.errors import ModelError

RELEASES_DIR = Path(__file__).resolve().parent / "releases"
DEFAULT_FILE = RELEASES_DIR / "DEFAULT"


@dataclass(frozen=True)
class Release:
    name: str
    folder: Path
    manifest: dict[str, Any]

    @property
    def onnx_path(self) -> Path:
        return self.folder / str(self.manifest["file"])

    @property
    def sha256(self) -> str:
        return str(self.manifest["sha256"])


def load_release(folder: Path) -> Release:
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
        raise ModelError(f"{folder}: not a release (no manifest.json)")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ModelError(f"{manifest_path}: invalid JSON ({exc})") from None
    for key in ("file", "sha256", "classes"):
        if key not in manifest:
            raise ModelError(f"{manifest_path}: missing key {key!r}")
    return Release(name=folder.name, folder=folder, manifest=manifest)


def list_releases(releases_dir: Path = RELEASES_DIR) -> list[Release]:
    if not releases_dir.is_dir():
        return []
    return [load_release(p) for p in sorted(releases_dir.iterdir()) if (p / "manifest.json").is_file()]


def default_release(releases_dir: Path = RELEASES_DIR) -> Release:
    default_file = releases_dir / "DEFAULT"
    if not default_file.is_file():
        raise ModelError(f"no default model: {default_file} is missing; pass --model")
    name = default_file.read_text(encoding="utf-8").strip()
    return load_release(releases_dir / name)


def default_model_path() -> Path:
    return default_release().onnx_path
