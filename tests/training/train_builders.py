"""Builders for training tests (a plain module with a unique name: conftest modules are not importable by name)."""

from __future__ import annotations

from pathlib import Path

from builders import write_synthetic_yolo_dataset


def synthetic_data(root: Path, n_images: int = 8) -> Path:
    """The shared synthetic set plus a test split (the val images)."""
    data_yaml = write_synthetic_yolo_dataset(root, n_images=n_images, size=96)
    data_yaml.write_text(data_yaml.read_text() + "test: images/val\n")
    return data_yaml


def evaluation(map50: float, map50_95: float = 0.0, per_class: dict[str, float] | None = None) -> dict:
    """A valid `Evaluation` of a release file: the headline figures given, the rest plausible."""
    return {
        "split": "test",
        "images": 10,
        "operating_conf": 0.25,
        "map50": map50,
        "map50_95": map50_95,
        "precision": 0.5,
        "recall": 0.5,
        "per_class": {
            name: {"instances": 3, "precision": 0.5, "recall": 0.5, "map50": value, "map50_95": value / 2}
            for name, value in (per_class or {}).items()
        },
        "false_alarm_rate": 0.0,
        "negative_images": 0,
    }


def release_manifest(
    name: str,
    files: list[dict],
    classes: list[str],
    *,
    version: str = "1.0.0",
    imgsz: tuple[int, int] = (640, 640),
    metrics: dict | None = None,
    **extra: object,
) -> dict:
    """A valid release manifest (schema 1, provenance `trained`) as JSON data, for registry tests."""
    return {
        "schema_version": 1,
        "name": name,
        "version": version,
        "created_at": "2026-11-24T01:00:01Z",
        "files": files,
        "classes": classes,
        "taxonomy_version": "v1",
        "imgsz": list(imgsz),
        "stride": 32,
        "metrics": metrics,
        "licence": "AGPL-3.0",
        "provenance": {
            "kind": "trained",
            "data": {"sha256": "d" * 64, "images": {"test": 10}, "boxes": {"test": 30}},
            "training": {"config": {"epochs": 1}, "base": {}, "versions": {}, "checkpoint": "best.pt"},
            "base_weights": {"what": "base", "source": "somewhere", "licence": "AGPL-3.0"},
            "parity": {
                "images": 1,
                "max_box_diff_px": 0.0,
                "max_score_diff": 0.0,
                "box_atol_px": 0.05,
                "score_atol": 0.002,
                "passed": True,
            },
        },
        **extra,
    }
