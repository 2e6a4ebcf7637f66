"""Model releases in `models/releases/<name>/`: ONNX file(s), a model card and `manifest.json`.

The manifest is read strictly (`models/manifest.py`): a missing or malformed field is a ModelError
naming the file and the field, never a silent default. The default model is the release named in
`models/releases/DEFAULT` (one line, the release folder name): what `detect`, the edge agent's
examples and the demo run unless told otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from streetwatch.errors import ModelError
from streetwatch.models.manifest import MANIFEST_FILE, ModelFile, ReleaseManifest, read_manifest

RELEASES_DIR = Path(__file__).resolve().parent / "releases"
DEFAULT_FILE = RELEASES_DIR / "DEFAULT"


@dataclass(frozen=True)
class Release:
    name: str
    folder: Path
    manifest: ReleaseManifest

    @property
    def onnx_path(self) -> Path:
        return self.folder / self.manifest.primary.file

    @property
    def sha256(self) -> str:
        return self.manifest.primary.sha256

    @property
    def classes(self) -> tuple[str, ...]:
        return tuple(self.manifest.classes)

    @property
    def version(self) -> str:
        return self.manifest.version

    @property
    def files(self) -> list[ModelFile]:
        """Every model file of the release (fp32 first, then int8 if it passed its gate)."""
        return list(self.manifest.files)

    def file_path(self, precision: str = "fp32") -> Path:
        for entry in self.files:
            if entry.precision == precision:
                return self.folder / entry.file
        have = ", ".join(e.precision for e in self.files)
        raise ModelError(f"release {self.name} has no {precision} model; it has {have}")

    def metric(self, key: str) -> float | None:
        """A headline metric (map50, map50_95, precision, recall) of the primary file, if it was evaluated."""
        metrics = self.manifest.metrics
        return None if metrics is None else float(getattr(metrics, key))

    def class_map50(self) -> dict[str, float]:
        metrics = self.manifest.metrics
        return {} if metrics is None else {name: m.map50 for name, m in metrics.per_class.items()}


def load_release(folder: Path) -> Release:
    manifest_path = folder / MANIFEST_FILE
    if not manifest_path.is_file():
        raise ModelError(f"{folder}: not a release (no {MANIFEST_FILE})")
    manifest = read_manifest(manifest_path)
    if manifest.name != folder.name:
        raise ModelError(f"{manifest_path}: name: {manifest.name!r} does not match its folder {folder.name!r}")
    return Release(name=folder.name, folder=folder, manifest=manifest)


def list_releases(releases_dir: Path = RELEASES_DIR) -> list[Release]:
    if not releases_dir.is_dir():
        return []
    return [load_release(p) for p in sorted(releases_dir.iterdir()) if (p / MANIFEST_FILE).is_file()]


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
    if not (folder / MANIFEST_FILE).is_file():
        known = ", ".join(r.name for r in list_releases(releases_dir)) or "none"
        raise ModelError(f"no release named {name!r} in {releases_dir}; releases: {known}")
    return load_release(folder)


def default_model_path() -> Path:
    return default_release().onnx_path
