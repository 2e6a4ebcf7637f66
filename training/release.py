"""Write a model release folder: ONNX file(s), manifest.json and a model card (README.md).

`write_release` is the one writer for every release (`streetwatch export` and `streetwatch teacher
release`): it validates the typed manifest (`models/manifest.py`), writes it and renders the card.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from streetwatch.errors import ModelError
from streetwatch.files import sha256_file
from streetwatch.models.manifest import (
    Attribution,
    Evaluation,
    ModelFile,
    ReleaseManifest,
    parse_manifest,
    write_manifest,
)
from streetwatch.models.taxonomy import TAXONOMY_VERSION
from streetwatch.training.evaluate import EvalReport
from streetwatch.training.licences import BASE_ATTRIBUTION, attributions_for, model_licence
from streetwatch.training.model_card import render_model_card


@dataclass
class ReleaseFile:
    path: Path
    precision: str  # "fp32" | "int8"
    report: EvalReport

    def entry(self) -> ModelFile:
        return model_file(self.path, self.precision, evaluation(self.report))


@dataclass
class ReleaseInfo:
    name: str
    version: str
    classes: tuple[str, ...]
    imgsz: tuple[int, int]
    stride: int
    files: list[ReleaseFile]
    parity: dict[str, Any]
    int8: dict[str, Any] | None
    run_record: dict[str, Any]
    training_summary: dict[str, Any] = field(default_factory=dict)
    thresholds: dict[str, float] | None = None  # per-class operating thresholds chosen on validation
    sources: frozenset[str] = frozenset()  # data-set sources of the training images (licences)


def model_file(path: Path, precision: str, metrics: Evaluation | None = None) -> ModelFile:
    """A file entry as it is on disk now: name, sha256, size."""
    return ModelFile(
        file=path.name, sha256=sha256_file(path), size_bytes=path.stat().st_size, precision=precision, metrics=metrics
    )


def evaluation(report: EvalReport) -> Evaluation:
    return Evaluation(
        split=report.split,
        images=report.images,
        operating_conf=report.operating_conf,
        map50=round(report.map50, 4),
        map50_95=round(report.map50_95, 4),
        precision=round(report.precision, 4),
        recall=round(report.recall, 4),
        per_class={
            c.name: {
                "instances": c.instances,
                "precision": round(c.precision, 4),
                "recall": round(c.recall, 4),
                "map50": round(c.map50, 4),
                "map50_95": round(c.map50_95, 4),
            }
            for c in report.classes
        },
        false_alarm_rate=round(report.false_alarms.rate, 4),
        negative_images=report.false_alarms.negative_images,
        per_source={
            src.source: {
                "images": src.images,
                "instances": src.instances,
                "map50": {c: round(v, 4) for c, v in src.map50.items()},
            }
            for src in report.by_source
        }
        or None,
    )


def now_utc() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def build_manifest(info: ReleaseInfo) -> ReleaseManifest:
    """The manifest of a release trained here (provenance `trained`)."""
    files = [f.entry() for f in info.files]
    data = info.run_record.get("data", {})
    return ReleaseManifest(
        name=info.name,
        version=info.version,
        created_at=now_utc(),
        files=files,
        classes=list(info.classes),
        taxonomy_version=TAXONOMY_VERSION,
        imgsz=info.imgsz,
        stride=info.stride,
        thresholds=info.thresholds,
        metrics=files[0].metrics,
        licence=model_licence(set(info.sources)),
        data_sources=[Attribution(**a.as_dict()) for a in attributions_for(set(info.sources))],
        provenance={
            "kind": "trained",
            "data": {
                "sha256": data.get("sha256"),
                "content_sha256": data.get("content_sha256"),
                "manifest_file": data.get("manifest_file"),
                "manifest_sha256": data.get("manifest_sha256"),
                "images": data.get("images"),
                "boxes": data.get("boxes"),
            },
            "training": {
                "config": info.run_record.get("config"),
                "seed": info.run_record.get("seed"),
                "recipe": info.run_record.get("recipe"),
                "base": info.run_record.get("base") or {},
                "versions": info.run_record.get("versions"),
                **info.training_summary,
            },
            "base_weights": BASE_ATTRIBUTION.as_dict(),
            "parity": info.parity,
            "int8": info.int8,
        },
    )


def portable(value: Any, root: Path) -> Any:
    """Absolute paths in `value` made relative to `root` (the repository): a release names no machine's paths."""
    if isinstance(value, dict):
        return {k: portable(v, root) for k, v in value.items()}
    if isinstance(value, list):
        return [portable(v, root) for v in value]
    if isinstance(value, str) and value.startswith("/") and "\n" not in value:
        return os.path.relpath(value, root)
    return value


def write_release(folder: Path, manifest: ReleaseManifest, notes: str = "") -> ReleaseManifest:
    """Write `manifest.json` and `README.md` into `folder`; every file the manifest lists must be there, unchanged."""
    for f in manifest.files:
        if not (folder / f.file).is_file() or sha256_file(folder / f.file) != f.sha256:
            raise ModelError(f"{folder / f.file}: missing, or not the file the manifest describes")
    # models/releases/<name> -> the repository root
    data = portable(manifest.model_dump(mode="json", by_alias=True), folder.resolve().parents[2])
    manifest = parse_manifest(data, str(folder / "manifest.json"))
    write_manifest(folder, manifest)
    (folder / "README.md").write_text(render_model_card(manifest, notes), encoding="utf-8")
    return manifest
