"""Write a model release folder: ONNX file(s), manifest.json and a model card (README.md)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from streetwatch.files import sha256_file
from streetwatch.models.taxonomy import TAXONOMY_VERSION
from streetwatch.training.evaluate import EvalReport
from streetwatch.training.licences import BASE_ATTRIBUTION, DATA_ATTRIBUTIONS, MODEL_LICENCE


@dataclass
class ReleaseFile:
    path: Path
    precision: str  # "fp32" | "int8"
    report: EvalReport

    def entry(self) -> dict[str, Any]:
        return {
            "file": self.path.name,
            "sha256": sha256_file(self.path),
            "size_bytes": self.path.stat().st_size,
            "precision": self.precision,
            "metrics": metrics_dict(self.report),
        }


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


def metrics_dict(report: EvalReport) -> dict[str, Any]:
    return {
        "split": report.split,
        "images": report.images,
        "operating_conf": report.operating_conf,
        "map50": round(report.map50, 4),
        "map50_95": round(report.map50_95, 4),
        "precision": round(report.precision, 4),
        "recall": round(report.recall, 4),
        "per_class": {
            c.name: {
                "instances": c.instances,
                "precision": round(c.precision, 4),
                "recall": round(c.recall, 4),
                "map50": round(c.map50, 4),
                "map50_95": round(c.map50_95, 4),
            }
            for c in report.classes
        },
        "false_alarm_rate": round(report.false_alarms.rate, 4),
        "negative_images": report.false_alarms.negative_images,
    }


def build_manifest(info: ReleaseInfo) -> dict[str, Any]:
    primary = info.files[0]
    data = info.run_record.get("data", {})
    return {
        "name": info.name,
        "version": info.version,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "file": primary.path.name,
        "sha256": sha256_file(primary.path),
        "files": [f.entry() for f in info.files],
        "classes": list(info.classes),
        "taxonomy_version": TAXONOMY_VERSION,
        "imgsz": list(info.imgsz),
        "stride": info.stride,
        "metrics": metrics_dict(primary.report),
        "parity": info.parity,
        "int8": info.int8,
        "data": {
            "sha256": data.get("sha256"),
            "manifest_file": data.get("manifest_file"),
            "manifest_sha256": data.get("manifest_sha256"),
            "images": data.get("images"),
            "boxes": data.get("boxes"),
        },
        "training": {
            "config": info.run_record.get("config"),
            "seed": info.run_record.get("seed"),
            "recipe": info.run_record.get("recipe"),
            "base": info.run_record.get("base"),
            "versions": info.run_record.get("versions"),
            **info.training_summary,
        },
        "licence": MODEL_LICENCE,
        "attribution": {
            "data": [a.as_dict() for a in DATA_ATTRIBUTIONS],
            "base_weights": BASE_ATTRIBUTION.as_dict(),
        },
    }


def _metrics_table(metrics: dict[str, Any]) -> str:
    lines = ["| class | instances | P | R | mAP50 | mAP50-95 |", "|---|---:|---:|---:|---:|---:|"]
    lines.append(
        f"| **all** | | {metrics['precision']:.3f} | {metrics['recall']:.3f} | {metrics['map50']:.3f} | "
        f"{metrics['map50_95']:.3f} |"
    )
    for name, m in metrics["per_class"].items():
        lines.append(
            f"| {name} | {m['instances']} | {m['precision']:.3f} | {m['recall']:.3f} | {m['map50']:.3f} | "
            f"{m['map50_95']:.3f} |"
        )
    return "\n".join(lines)


def model_card(manifest: dict[str, Any], notes: str = "") -> str:
    m = manifest["metrics"]
    training = manifest["training"]
    config = training.get("config") or {}
    files = "\n".join(
        f"| `{f['file']}` | {f['precision']} | {f['size_bytes'] / 1e6:.1f} MB | {f['metrics']['map50']:.3f} | "
        f"`{f['sha256'][:16]}…` |"
        for f in manifest["files"]
    )
    data_rows = "\n".join(f"- {a['what']}: {a['source']} — {a['licence']}" for a in manifest["attribution"]["data"])
    base = manifest["attribution"]["base_weights"]
    int8 = manifest.get("int8")
    int8_text = (
        "Not requested."
        if not int8
        else "\n".join(
            f"- plan `{r['plan']}`: mAP50 {r['int8_map50']:.4f} vs fp32 {r['fp32_map50']:.4f}, drop {r['drop']:.4f} "
            f"(allowed {r['max_drop']}) — {'accepted' if r['accepted'] else 'refused'}"
            for r in int8.get("attempts", [])
        )
    )
    return f"""# {manifest["name"]} {manifest["version"]}

Street-camera detector for streetwatch, taxonomy {manifest["taxonomy_version"]}: {", ".join(manifest["classes"])}.
Input {manifest["imgsz"][0]}x{manifest["imgsz"][1]} letterboxed RGB, ultralytics raw output layout (needs NMS),
run by `streetwatch.inference.Detector` on CPU edge boxes.

## Files

| file | precision | size | mAP50 ({m["split"]}) | sha256 |
|---|---|---:|---:|---|
{files}

## Evaluation

`streetwatch eval` on the held-out `{m["split"]}` split ({m["images"]} images), fp32:

{_metrics_table(m)}

False-alarm rate on negative images at conf > {m["operating_conf"]}: {m["false_alarm_rate"]:.3f}
({m["negative_images"]} negative images).

ONNX vs PyTorch parity on {manifest["parity"].get("images")} real images: max box difference
{manifest["parity"].get("max_box_diff_px")} px, max score difference {manifest["parity"].get("max_score_diff")}.

INT8 (static QDQ, calibrated on training images; gate: mAP50 drop ≤ 0.01):
{int8_text}

## Training

- base weights: `{(training.get("base") or {}).get("path")}` (sha256 `{(training.get("base") or {}).get("sha256")}`)
- epochs {config.get("epochs")}, imgsz {config.get("imgsz")}, batch {config.get("batch")}, seed {training.get("seed")},
  augmentation recipe `{(training.get("recipe") or {}).get("name")}`
- data: sha256 `{manifest["data"].get("sha256")}`, images per split {manifest["data"].get("images")}
- full configuration and library versions in `manifest.json`
{notes}
## Licence and attribution

{manifest["licence"]}

Data:
{data_rows}

Base weights: {base["source"]} — {base["licence"]}.
"""


def portable(value: Any, root: Path) -> Any:
    """Absolute paths in `value` made relative to `root` (the repository): a release names no machine's paths."""
    if isinstance(value, dict):
        return {k: portable(v, root) for k, v in value.items()}
    if isinstance(value, list):
        return [portable(v, root) for v in value]
    if isinstance(value, str) and value.startswith("/") and "\n" not in value:
        return os.path.relpath(value, root)
    return value


def write_release(folder: Path, info: ReleaseInfo, notes: str = "") -> dict[str, Any]:
    # models/releases/<name> -> the repository root
    manifest = portable(build_manifest(info), folder.resolve().parents[2])
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (folder / "README.md").write_text(model_card(manifest, notes), encoding="utf-8")
    return manifest
