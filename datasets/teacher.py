"""Find the teacher model and translate its class names into taxonomy names.

A teacher is any ultralytics-layout ONNX detector whose metadata names are COCO-style names;
`dining table` and `dining_table` both match the taxonomy's `dining_table` (`normalise_class_name`).
"""

from __future__ import annotations

from pathlib import Path

from streetwatch.errors import ModelError
from streetwatch.models.taxonomy import taxonomy_class


def taxonomy_names(model_names: tuple[str, ...]) -> dict[int, str]:
    """Model class index -> taxonomy name, for the model classes the taxonomy has."""
    return {i: t for i, n in enumerate(model_names) if (t := taxonomy_class(n)) is not None}


def resolve_model(spec: str | Path) -> tuple[Path, str | None]:
    """An ONNX path, or the name of a release in models/releases (its sha256 is then enforced)."""
    path = Path(spec)
    if path.suffix == ".onnx" or path.exists():
        if not path.is_file():
            raise ModelError(f"teacher model not found: {path}")
        return path, None
    from streetwatch.models.registry import list_releases

    releases = {r.name: r for r in list_releases()}
    if str(spec) not in releases:
        known = ", ".join(sorted(releases)) or "none"
        raise ModelError(f"teacher {spec!r} is neither an .onnx file nor a release in models/releases (have: {known})")
    release = releases[str(spec)]
    return release.onnx_path, release.sha256
