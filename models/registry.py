"""Model releases in `models/releases/<name>/`: an ONNX file, a model card and `manifest.json`.

The default model is the release named in `models/releases/DEFAULT` (one line, the release
folder name): what `detect`, the edge agent's examples and the demo run unless told otherwise.
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

    @property
    def classes(self) -> tuple[str, ...]:
        return tuple(str(c) for c in self.manifest["classes"])

    @property
    def version(self) -> str:
        return str(self.manifest.get("version", "-"))

    @property
    def files(self) -> list[ReleaseFileEntry]:
        """Every model file of the release (fp32, int8); older manifests list only `file`."""
        entries = self.manifest.get("files") or [
            {"file": self.manifest["file"], "sha256": self.manifest["sha256"], "precision": "fp32"}
        ]
        return [
            ReleaseFileEntry(
                file=str(e["file"]),
                sha256=str(e["sha256"]),
                precision=str(e.get("precision", "fp32")),
                map50=_metric(e.get("metrics"), "map50"),
            )
            for e in entries
        ]

    def file_path(self, precision: str = "fp32") -> Path:
        for entry in self.files:
            if entry.precision == precision:
                return self.folder / entry.file
        have = ", ".join(e.precision for e in self.files)
        raise ModelError(f"release {self.name} has no {precision} model; it has {have}")

    def metric(self, key: str) -> float | None:
        """A headline metric (map50, map50_95, precision, recall) from the manifest, if recorded."""
        return _metric(self.manifest.get("metrics"), key)

    def class_map50(self) -> dict[str, float]:
        per_class = (self.manifest.get("metrics") or {}).get("per_class") or {}
        return {name: float(m["map50"]) for name, m in per_class.items() if "map50" in m}


@dataclass(frozen=True)
class ReleaseFileEntry:
    file: str
    sha256: str
    precision: str
    map50: float | None


def _metric(metrics: object, key: str) -> float | None:
    if isinstance(metrics, dict) and isinstance(metrics.get(key), (int, float)):
        return float(metrics[key])
    return None


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


def default_release_name(releases_dir: Path = RELEASES_DIR) -> str | None:
    default_file = releases_dir / "DEFAULT"
    return default_file.read_text(encoding="utf-8").strip() if default_file.is_file() else None


def find_release(name: str, releases_dir: Path = RELEASES_DIR) -> Release:
    folder = releases_dir / name
    if not (folder / "manifest.json").is_file():
        known = ", ".join(r.name for r in list_releases(releases_dir)) or "none"
        raise ModelError(f"no release named {name!r} in {releases_dir}; releases: {known}")
    return load_release(folder)


def default_model_path() -> Path:
    return default_release().onnx_path
