"""`streetwatch quantize RELEASE --data DATA.yaml`: add an INT8 file to a release that shipped fp32 only.

The same gate as `streetwatch export --int8` (export.int8_release_file): the fp32 file and every
INT8 plan are evaluated in this run through the edge's Detector on the release's held-out split,
and an INT8 file ships only if its mAP50 drop is at most 0.01. The release's data set must be the
one it was trained and evaluated on: the split sizes are checked against the manifest and the data
hash is compared (a rebuilt copy that differs is named in the log).
"""

from __future__ import annotations

import re
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from streetwatch.errors import InputError
from streetwatch.models.manifest import Int8Report, ReleaseManifest, read_manifest, write_manifest
from streetwatch.training.data_files import load_data_spec, summarise
from streetwatch.training.evaluate import EvalReport, evaluate
from streetwatch.training.export import copy_model_file, int8_release_file
from streetwatch.training.model_card import render_model_card
from streetwatch.training.quantize import MAX_MAP50_DROP


def add_int8(
    folder: Path,
    data_yaml: Path,
    workdir: Path,
    *,
    calibration_images: int = 128,
    max_drop: float = MAX_MAP50_DROP,
    out: TextIO = sys.stdout,
) -> ReleaseManifest:
    """Quantise the release's fp32 file by each plan until one passes; update its manifest and card."""

    def log(line: str) -> None:
        print(line, file=out, flush=True)

    manifest = read_manifest(folder / "manifest.json")
    if manifest.provenance.kind != "trained":
        raise InputError(
            f"{folder}: INT8 is added only to releases trained here (provenance {manifest.provenance.kind})"
        )
    primary = manifest.files[0]
    fp32 = folder / primary.file
    if primary.precision != "fp32" or primary.metrics is None:
        raise InputError(f"{folder}: expected an evaluated fp32 first file, got {primary.file} ({primary.precision})")
    split = primary.metrics.split
    spec = load_data_spec(data_yaml)
    summary = summarise(spec)
    record = manifest.provenance.data
    if summary.images != record.images:
        raise InputError(
            f"{data_yaml}: images per split {summary.images}, but {manifest.name} was trained and evaluated "
            f"on {record.images}: build the release's own data set (its manifest names it)"
        )
    verdict = "the release's" if summary.sha256 == record.sha256 else f"the release names {record.sha256[:12]}"
    log(f"data {data_yaml}: sha256 {summary.sha256[:12]} ({verdict})")
    workdir.mkdir(parents=True, exist_ok=True)

    def run_eval(model: Path, tag: str) -> EvalReport:
        report = evaluate(
            model, spec, split=split, operating_conf=primary.metrics.operating_conf, save_dir=workdir / f"eval-{tag}"
        )
        log(f"{tag} on {split}: mAP50 {report.map50:.4f} mAP50-95 {report.map50_95:.4f}")
        return report

    # fp32 measured again in this run, by the same code as every INT8 candidate.
    fp32_report = run_eval(fp32, "fp32")
    outcome = int8_release_file(
        fp32,
        spec,
        workdir,
        manifest.name,
        fp32_report.map50,
        run_eval,
        spec.splits.get("train") or (),
        calibration_images,
        max_drop,
        dict(manifest.thresholds or {}),
        log,
    )
    files = [primary]
    if outcome.file is not None:
        for old in manifest.files[1:]:
            (folder / old.file).unlink(missing_ok=True)
            (folder / old.file).with_suffix(".bin").unlink(missing_ok=True)
        copy_model_file(outcome.file.path, folder)
        outcome.file.path = folder / outcome.file.path.name
        files.append(outcome.file.entry())
    else:
        log(f"INT8 not shipped: {outcome.refused}")
        if len(manifest.files) > 1:  # an INT8 file that passed before stays, with the record of its gate
            log(f"{folder}: kept {', '.join(f.file for f in manifest.files[1:])} and its manifest entry")
            return manifest
    if outcome.file is not None:
        log(speed_line(fp32, outcome.file.path, spec.images(split)[:8]))
    # Earlier attempts (the export's own) stay in the record, before this run's.
    earlier = [a.model_dump() for a in manifest.provenance.int8.attempts] if manifest.provenance.int8 else []
    report = Int8Report.model_validate({**outcome.info, "attempts": earlier + outcome.info["attempts"]})
    provenance = manifest.provenance.model_copy(update={"int8": report})
    updated = manifest.model_copy(update={"files": files, "provenance": provenance})
    write_manifest(folder, updated)
    _update_card(folder / "README.md", updated)
    log(f"{folder}: {', '.join(f.file for f in updated.files)}")
    return updated


def _update_card(card: Path, manifest: ReleaseManifest) -> None:
    """Re-render the card from the manifest, keeping the sections written by hand after the rendered ones."""
    rendered = render_model_card(manifest)
    old = card.read_text(encoding="utf-8") if card.is_file() else ""
    headings = set(re.findall(r"^## .+$", rendered, flags=re.MULTILINE))
    sections = re.split(r"(?=^## )", old, flags=re.MULTILINE)
    kept = [s for s in sections[1:] if s.splitlines()[0] not in headings]
    card.write_text(rendered.rstrip("\n") + "\n\n" + "".join(kept) if kept else rendered, encoding="utf-8")


def speed_line(fp32: Path, int8: Path, images: Sequence[Path], rounds: int = 7, repeats: int = 5) -> str:
    """Detector.detect medians on the edge's default runtime, fp32 and INT8 interleaved (machine
    noise hits both alike), 2 threads, and onnxruntime fp32 for reference."""
    import cv2

    from streetwatch.inference.detector import Detector

    frames = [cv2.resize(cv2.imread(str(p)), (1920, 1080)) for p in images]
    detectors = {
        "onnxruntime fp32": Detector(fp32, threads=2, runtime="onnxruntime"),
        "openvino fp32": Detector(fp32, threads=2, runtime="openvino"),
        "openvino int8": Detector(int8, threads=2, runtime="openvino"),
    }
    times: dict[str, list[float]] = {name: [] for name in detectors}
    for r in range(rounds):
        for name, detector in detectors.items():
            for k in range(repeats):
                started = time.perf_counter()
                detector.detect(frames[(r * repeats + k) % len(frames)])
                times[name].append((time.perf_counter() - started) * 1000)
    med = {name: statistics.median(v) for name, v in times.items()}
    return (
        "speed, Detector.detect median on 1080p frames, 2 threads: "
        + ", ".join(f"{name} {ms:.1f} ms" for name, ms in med.items())
        + f"; openvino fp32 / int8 = {med['openvino fp32'] / med['openvino int8']:.2f}x, "
        + f"onnxruntime fp32 / openvino int8 = {med['onnxruntime fp32'] / med['openvino int8']:.2f}x"
    )
