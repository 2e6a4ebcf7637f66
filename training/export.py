"""`streetwatch export RUN`: checkpoint -> ONNX with metadata -> parity -> eval -> (INT8 gate) -> release."""

from __future__ import annotations

import json
import random
import shutil
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from streetwatch.errors import InputError
from streetwatch.inference.model_file import IR_SUFFIX, THRESHOLDS_KEY
from streetwatch.models.taxonomy import CLASS_NAMES, TAXONOMY_VERSION
from streetwatch.training.data_files import DataSpec, load_data_spec
from streetwatch.training.evaluate import EvalReport, evaluate, source_of
from streetwatch.training.onnx_files import read_metadata, set_metadata, set_release_metadata
from streetwatch.training.parity import check_parity
from streetwatch.training.quantize import MAX_MAP50_DROP, quantize_with_gate
from streetwatch.training.release import ReleaseFile, ReleaseInfo, build_manifest, write_release
from streetwatch.training.train import RUN_RECORD
from streetwatch.training.ultralytics_env import yolo


@dataclass(frozen=True)
class ExportOptions:
    run: Path
    name: str
    version: str = "1.0.0"
    releases_dir: Path = Path("models/releases")
    data: Path | None = None  # default: the run's data.yaml
    split: str | None = None  # default: test, else val
    imgsz: int | None = None  # default: the run's training size
    int8: bool = False
    max_int8_drop: float = MAX_MAP50_DROP
    calibration_images: int = 128
    parity_images: int = 8
    operating_conf: float = 0.25
    thresholds: bool = True  # choose per-class operating thresholds on the validation split
    threshold_min_instances: int = 10  # fewer validation boxes than this: no threshold (the caller's conf)
    force: bool = False
    notes: str = ""


def resolve_checkpoint(run: Path) -> Path:
    if run.suffix == ".pt":
        if not run.is_file():
            raise InputError(f"checkpoint not found: {run}")
        return run
    for name in ("best.pt", "last.pt"):
        if (run / "weights" / name).is_file():
            return run / "weights" / name
    raise InputError(f"{run}: expected a run folder with weights/best.pt or weights/last.pt")


def run_record_for(checkpoint: Path) -> dict[str, Any]:
    path = checkpoint.parent.parent / RUN_RECORD
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def _pick_split(spec: DataSpec, split: str | None) -> str:
    if split:
        spec.images(split)  # raises with the available splits
        return split
    for candidate in ("test", "val"):
        if spec.splits.get(candidate):
            return candidate
    raise InputError(f"{spec.yaml_path}: no test or val split to evaluate the release on")


def export_onnx(checkpoint: Path, workdir: Path, name: str, version: str, imgsz: int) -> Path:
    """ONNX (fixed batch 1, raw layout) with names/imgsz/stride from ultralytics plus ours."""
    workdir.mkdir(parents=True, exist_ok=True)
    staged = workdir / f"{name}.pt"
    shutil.copyfile(checkpoint, staged)
    onnx_path = Path(yolo(staged).export(format="onnx", imgsz=imgsz, simplify=True, dynamic=False, batch=1))
    names = tuple(str(v) for _, v in sorted(_literal(read_metadata(onnx_path)["names"]).items()))
    set_release_metadata(
        onnx_path,
        name=name,
        version=version,
        description=f"streetwatch {name} {version}: street-violation detector (YOLO, ultralytics)",
        taxonomy_version=TAXONOMY_VERSION if set(names) <= set(CLASS_NAMES) else "custom",
    )
    return onnx_path


def _literal(raw: str) -> dict[int, str]:
    import ast

    value = ast.literal_eval(raw)
    return value if isinstance(value, dict) else dict(enumerate(value))


def choose_thresholds(
    fp32: Path, spec: DataSpec, min_instances: int, save_dir: Path, log: Callable[[str], None]
) -> dict[str, float]:
    """Per-class operating thresholds on the validation split, by `evaluate.THRESHOLD_RULE`."""
    report = evaluate(fp32, spec, split="val", save_dir=save_dir, release_thresholds=False)
    counts = {c.name: c.instances for c in report.classes}
    chosen = {p.name: p.conf for p in report.operating_points if counts.get(p.name, 0) >= min_instances}
    for p in report.operating_points:
        kept = "chosen" if p.name in chosen else f"not used: {counts.get(p.name, 0)} < {min_instances} val boxes"
        log(f"threshold {p.name}: {p.conf:.3f} (val P {p.precision:.3f} R {p.recall:.3f}, {p.rule}; {kept})")
    return chosen


def copy_model_file(path: Path, folder: Path) -> None:
    """Into a release folder: the file, and an OpenVINO IR's weights beside its .xml."""
    shutil.copyfile(path, folder / path.name)
    if path.suffix == IR_SUFFIX:
        shutil.copyfile(path.with_suffix(".bin"), folder / path.with_suffix(".bin").name)


@dataclass
class Int8Outcome:
    file: ReleaseFile | None  # the accepted INT8 file (named <release>-int8.onnx), or None
    info: dict[str, Any]  # the manifest's provenance.int8
    refused: str | None  # every gate message when none was accepted


def int8_release_file(
    fp32: Path,
    spec: DataSpec,
    workdir: Path,
    name: str,
    fp32_map50: float,
    run_eval: Callable[[Path, str], EvalReport],
    calibration_pool: Sequence[Path],
    calibration_images: int,
    max_drop: float,
    thresholds: dict[str, float],
    log: Callable[[str], None],
) -> Int8Outcome:
    """Quantise `fp32` by each plan until one passes the gate (`run_eval` on the held-out split).

    Calibration: a seeded shuffle of `calibration_pool` (the training split), never the held-out split.
    """
    train_images = list(calibration_pool)
    random.Random(0).shuffle(train_images)
    calibration = train_images[:calibration_images]
    reports: dict[Path, EvalReport] = {}

    def int8_map50(path: Path) -> float:
        reports[path] = run_eval(path, path.stem.split("-int8-")[-1])
        return reports[path].map50

    accepted, results = quantize_with_gate(fp32, workdir, calibration, int8_map50, fp32_map50, max_drop, log)
    info = {
        "calibration_images": len(calibration),
        "attempts": [r.as_dict() for r in results],
        "accepted": accepted is not None,
    }
    if accepted is None:
        return Int8Outcome(None, info, "; ".join(r.message() for r in results))
    final = accepted.with_name(f"{name}-int8{accepted.suffix}")
    if accepted.suffix == IR_SUFFIX:  # an OpenVINO IR: its metadata (thresholds too) came from fp32
        accepted.with_suffix(".bin").rename(final.with_suffix(".bin"))
        accepted.rename(final)
    else:
        accepted.rename(final)
        if thresholds:
            set_metadata(final, {THRESHOLDS_KEY: json.dumps(thresholds, sort_keys=True)})
    return Int8Outcome(ReleaseFile(final, "int8", reports[accepted]), info, None)


def export_release(options: ExportOptions, out: TextIO = sys.stdout) -> Path:
    def log(line: str) -> None:
        print(line, file=out, flush=True)

    checkpoint = resolve_checkpoint(options.run)
    record = run_record_for(checkpoint)
    config = record.get("config") or {}
    data_yaml = options.data or (Path(config["data"]) if config.get("data") else None)
    if data_yaml is None:
        raise InputError(f"{options.run}: no {RUN_RECORD} names the training data; pass --data DATA.yaml")
    spec = load_data_spec(data_yaml)
    split = _pick_split(spec, options.split)
    imgsz = options.imgsz or int(config.get("imgsz") or 640)
    folder = options.releases_dir / options.name
    if folder.exists() and not options.force:
        raise InputError(f"release {folder} exists; choose another --name or pass --force to replace it")
    workdir = checkpoint.parent.parent / "export" / options.name
    shutil.rmtree(workdir, ignore_errors=True)

    log(f"exporting {checkpoint} to ONNX at {imgsz}px")
    fp32 = export_onnx(checkpoint, workdir, options.name, options.version, imgsz)
    thresholds: dict[str, float] = {}
    if options.thresholds and spec.splits.get("val"):
        thresholds = choose_thresholds(fp32, spec, options.threshold_min_instances, workdir / "eval-thresholds", log)
        # In the ONNX file itself: an edge box that copies only the .onnx still gets them.
        set_metadata(fp32, {THRESHOLDS_KEY: json.dumps(thresholds, sort_keys=True)})
    eval_images = spec.images(split)
    parity = check_parity(checkpoint, fp32, list(eval_images[: options.parity_images]))
    log(
        f"parity ONNX vs PyTorch on {parity.images} images: "
        f"box {parity.max_box_diff:.5f}px score {parity.max_score_diff:.6f}"
    )

    def run_eval(model: Path, tag: str) -> EvalReport:
        report = evaluate(
            model, spec, split=split, operating_conf=options.operating_conf, save_dir=workdir / f"eval-{tag}"
        )
        log(f"{tag} on {split}: mAP50 {report.map50:.4f} mAP50-95 {report.map50_95:.4f}")
        return report

    fp32_report = run_eval(fp32, "fp32")
    files = [ReleaseFile(fp32, "fp32", fp32_report)]
    int8_info: dict[str, Any] | None = None
    refused: str | None = None
    if options.int8:
        int8 = int8_release_file(
            fp32,
            spec,
            workdir,
            options.name,
            fp32_report.map50,
            run_eval,
            spec.splits.get("train") or eval_images,
            options.calibration_images,
            options.max_int8_drop,
            thresholds,
            log,
        )
        int8_info = int8.info
        if int8.file is not None:
            files.append(int8.file)
        refused = int8.refused

    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for f in files:
        copy_model_file(f.path, folder)
        f.path = folder / f.path.name
    meta = read_metadata(files[0].path)
    info = ReleaseInfo(
        name=options.name,
        version=options.version,
        classes=tuple(str(v) for _, v in sorted(_literal(meta["names"]).items())),
        imgsz=(imgsz, imgsz),
        stride=int(meta.get("stride", 32)),
        files=files,
        parity=parity.as_dict(),
        int8=int8_info,
        run_record=record,
        training_summary={"checkpoint": checkpoint.name, "evaluation_plots": str(workdir)},
        thresholds=thresholds or None,
        sources=frozenset(source_of(p) for p in spec.splits.get("train", ())) - {""},
    )
    write_release(folder, build_manifest(info), options.notes)
    log(f"release written to {folder}")
    if refused:  # the gate did its job: a warning, not a failed export (the fp32 release is whole)
        log(f"INT8 not shipped: {refused}. The fp32 release is complete in {folder}")
    return folder
