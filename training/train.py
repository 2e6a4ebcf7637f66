"""Train a detector with ultralytics, offline, reproducibly, resumably.

A run folder (`<project>/<name>`, ultralytics' layout: weights/last.pt saved every epoch, best.pt,
results.csv) also gets `streetwatch-run.json`: the config, the seed, the augmentation recipe, the
data summary (a content hash of every image and label), the base weights' sha256 and the library
versions, so a run can be repeated and a release can say what it was trained on.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from streetwatch.errors import InputError
from streetwatch.files import sha256_file
from streetwatch.models.taxonomy import normalise_class_name
from streetwatch.training.config import TrainConfig
from streetwatch.training.data_files import load_data_spec, summarise
from streetwatch.training.progress import EpochReporter
from streetwatch.training.recipes import build_recipe, describe_recipe
from streetwatch.training.ultralytics_env import prepare_ultralytics, yolo

RUN_RECORD = "streetwatch-run.json"


def _versions() -> dict[str, str]:
    import albumentations
    import torch
    import ultralytics

    from streetwatch.version import __version__

    return {
        "streetwatch": __version__,
        "ultralytics": ultralytics.__version__,
        "torch": torch.__version__,
        "albumentations": albumentations.__version__,
        "python": sys.version.split()[0],
    }


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def normalised_base(base: Path, workdir: Path) -> Path:
    """The base checkpoint with every class name in taxonomy spelling ('dining table' -> 'dining_table').

    ultralytics transfers every layer whose shape matches and remaps the class layer's rows by class
    name when the class count differs, so a COCO checkpoint starts with its person/vehicle/umbrella/
    table rows in place; the spelling must match for that. Returns `base` unchanged when it already does.
    """
    model = yolo(base)
    names = dict(model.model.names)
    fixed = {k: normalise_class_name(str(v)) for k, v in names.items()}
    if fixed == names:
        return base
    model.model.names = fixed
    workdir.mkdir(parents=True, exist_ok=True)
    target = workdir / f"{base.stem}-taxonomy-names.pt"
    model.save(str(target))
    return target


CALIBRATION_IMAGES = 16  # BatchNorm statistics of a recovered checkpoint (see from_onnx.py)


def recovered_base(onnx_path: Path, train_images: tuple[Path, ...], workdir: Path, out: TextIO) -> Path:
    """A .pt rebuilt from a release ONNX (cached by the ONNX's sha256), to fine-tune a release further."""
    from streetwatch.models.registry import RELEASES_DIR
    from streetwatch.training.from_onnx import checkpoint_from_onnx

    target = workdir / f"{onnx_path.stem}-{sha256_file(onnx_path)[:12]}.pt"
    if target.is_file():
        return target
    if not train_images:
        raise InputError("fine-tuning from an ONNX release needs train images (BatchNorm statistics)")
    step = max(1, len(train_images) // CALIBRATION_IMAGES)
    calibration = list(train_images[::step][:CALIBRATION_IMAGES])
    template = RELEASES_DIR / "coco-teacher" / "yolov8n-coco.pt"
    result = checkpoint_from_onnx(onnx_path, template, calibration, target)
    print(
        f"base {onnx_path.name}: rebuilt as {target.name} (max raw-output difference {result.max_abs_diff:.2g})",
        file=out,
        flush=True,
    )
    return target


def run_training(
    config: TrainConfig, out: TextIO = sys.stdout, callbacks: dict[str, Callable[[Any], None]] | None = None
) -> Path:
    """Train from `config`; returns the run folder. `callbacks`: extra ultralytics callbacks by event."""
    spec = load_data_spec(config.data)
    summary = summarise(spec)
    print(f"data {config.data}: {summary.images} images, sha256 {summary.sha256[:12]}", file=out, flush=True)
    base_path = Path(config.base)
    record: dict[str, Any] = {
        "config": json.loads(config.model_dump_json()),
        "seed": config.seed,
        "recipe": {"name": config.recipe, "transforms": describe_recipe(config.recipe)},
        "data": summary.as_dict(),
        "base": {
            "path": config.base,
            "sha256": sha256_file(base_path) if base_path.is_file() else None,
        },
        "versions": _versions(),
        "command": sys.argv,
        "started_at": _now(),
        "resumed_at": [],
    }
    weights = config.base
    if base_path.suffix == ".onnx":
        base_path = recovered_base(base_path, spec.images("train"), config.project.resolve() / ".bases", out)
        record["base_checkpoint"] = str(base_path)  # the .pt rebuilt from the ONNX named in "base"
    if base_path.suffix == ".pt":
        weights = str(normalised_base(base_path, config.project.resolve() / ".bases"))
    model = yolo(weights)
    reporter = EpochReporter(out)

    def write_record(trainer: Any) -> None:
        record["run_dir"] = str(trainer.save_dir)
        (Path(trainer.save_dir) / RUN_RECORD).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")

    model.add_callback("on_pretrain_routine_start", write_record)
    for event, fn in [*reporter.callbacks().items(), *(callbacks or {}).items()]:
        model.add_callback(event, fn)
    augmentations = build_recipe(config.recipe)
    model.train(
        data=str(spec.yaml_path),
        epochs=config.epochs,
        imgsz=config.imgsz,
        batch=config.batch,
        seed=config.seed,
        deterministic=True,
        workers=config.workers,
        device=config.device,
        project=str(config.project.resolve()),
        name=config.name,
        exist_ok=False,
        patience=config.patience,
        close_mosaic=config.close_mosaic,
        warmup_epochs=config.warmup_epochs,
        optimizer=config.optimizer,
        cache=config.cache,
        fraction=config.fraction,
        val=config.val,
        plots=config.plots,
        amp=config.device != "cpu",
        verbose=False,
        **({"lr0": config.lr0} if config.lr0 else {}),
        **({"time": config.time} if config.time else {}),
        **({"augmentations": augmentations} if augmentations else {}),
    )
    return Path(model.trainer.save_dir)


def find_last_checkpoint(run: Path) -> Path:
    """RUN may be a run folder or its weights/last.pt."""
    last = run if run.suffix == ".pt" else run / "weights" / "last.pt"
    if not last.is_file():
        raise InputError(f"cannot resume {run}: expected a run folder with weights/last.pt, found no {last}")
    return last


def _check_resumable(last: Path) -> None:
    """Refuse finished runs here: ultralytics would warn and start a new run on its default (downloaded) data."""
    from streetwatch.training.checkpoints import load_checkpoint

    prepare_ultralytics()
    ckpt = load_checkpoint(last)  # refuses a checkpoint that names code, before ultralytics loads it
    if not isinstance(ckpt, dict) or ckpt.get("epoch", -1) < 0 or ckpt.get("optimizer") is None:
        raise InputError(
            f"cannot resume {last}: the run finished (its optimizer state was stripped); "
            f"to train further start a new run with --base {last}"
        )


def resume_training(run: Path, out: TextIO = sys.stdout) -> Path:
    """Continue an interrupted run from its last.pt (optimizer state, epoch, recipe and all)."""
    last = find_last_checkpoint(run)
    _check_resumable(last)
    run_dir = last.parent.parent
    record_path = run_dir / RUN_RECORD
    if record_path.is_file():
        record = json.loads(record_path.read_text(encoding="utf-8"))
        record.setdefault("resumed_at", []).append(_now())
        record_path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    model = yolo(last)
    for event, fn in EpochReporter(out).callbacks().items():
        model.add_callback(event, fn)
    try:
        model.train(resume=True)
    except AssertionError as exc:  # ultralytics refuses finished runs with an AssertionError
        raise InputError(f"cannot resume {run}: {exc}") from None
    return Path(model.trainer.save_dir)
