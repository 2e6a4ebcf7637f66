"""`data build RECIPE --out DIR`: every step of a recipe, in order, into one folder.

    DIR/dataset/   the internal form after each step (items.jsonl, dataset.json)
    DIR/cache/     teacher outputs per image content: a rebuild never reruns the teacher
    DIR/stats/     stats.md + PNG plots, check.md
    DIR/images, labels, data.yaml, files.sha256, machine_labels.jsonl, manifest.json (the export)

Each step is idempotent, so a rebuild gives the same content hash when nothing changed.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from streetwatch.datasets.check import apply_fixes, run_checks
from streetwatch.datasets.classes import ClassChoice, ClassPolicy, choose_classes
from streetwatch.datasets.dedupe import dedupe
from streetwatch.datasets.export import ExportManifest, export_dataset
from streetwatch.datasets.importing import SourceSpec, import_source
from streetwatch.datasets.plots import write_plots
from streetwatch.datasets.pseudo import TeacherSpec, pseudo_label_many
from streetwatch.datasets.recipe import group_rules, load_recipe, repo_root_for, resolve_data_root
from streetwatch.datasets.sampling import round_robin_by_group
from streetwatch.datasets.split import split_dataset
from streetwatch.datasets.stats import compute_stats, to_markdown
from streetwatch.datasets.store import Dataset, load_or_new, save
from streetwatch.datasets.teacher import resolve_model
from streetwatch.errors import InputError

log = logging.getLogger(__name__)
SAMPLED_OUT = "sampled out"


@dataclass(frozen=True)
class BuildResult:
    manifest: ExportManifest
    out: Path
    check_errors: int
    classes: ClassChoice


def build(
    recipe_path: Path,
    out: Path,
    *,
    data_root: Path | None = None,
    threads: int | None = None,
    allow_small: tuple[str, ...] = (),
) -> BuildResult:
    """`allow_small`: classes to train even below the recipe's minimum count (added to its own list)."""
    recipe = load_recipe(recipe_path)
    try:  # validated again: the added names must be taxonomy classes
        policy = ClassPolicy.model_validate(
            {**recipe.classes.model_dump(), "allow_below_min": sorted({*recipe.classes.allow_below_min, *allow_small})}
        )
    except ValidationError as exc:
        raise InputError(f"--allow-small-class: {exc.errors()[0]['msg'].removeprefix('Value error, ')}") from None
    base = repo_root_for(recipe_path)
    root = resolve_data_root(recipe, base, data_root)
    work, stats_dir = out / "dataset", out / "stats"
    previous = load_or_new(work)
    phash_by_sha = {i.sha256: i.phash for i in previous.items if i.phash}

    dataset = Dataset()
    for entry in recipe.sources:
        path = Path(entry.path)
        if not path.is_absolute():
            path = (root if entry.root == "data_root" else base) / path
        if entry.optional and not path.exists():
            log.info("source %s: %s is absent; skipped (optional)", entry.name, path)
            continue
        mapping = Path(entry.mapping) if Path(entry.mapping).is_absolute() else base / entry.mapping
        labelled = tuple(entry.labelled) if entry.labelled is not None else None
        spec = SourceSpec(
            name=entry.name,
            path=path,
            mapping=mapping,
            format=entry.format,
            groups=group_rules(entry),
            labelled=labelled,
        )
        record = import_source(dataset, spec)
        record.mapping = entry.mapping  # as the recipe names it, not where this checkout lives
        if entry.max_images is not None:
            mine = dataset.by_source(entry.name)
            kept = {i.id for i in round_robin_by_group(mine, entry.max_images, recipe.split.seed)}
            for item in mine:
                if item.id not in kept:
                    item.excluded = f"{SAMPLED_OUT} (max_images {entry.max_images})"
        log.info("imported %s: %d images", record.name, record.images)
    for item in dataset.items:
        item.phash = phash_by_sha.get(item.sha256)
    save(work, dataset)

    report = run_checks(dataset)
    if recipe.check.fix:
        apply_fixes(dataset, report)
    stats_dir.mkdir(parents=True, exist_ok=True)
    (stats_dir / "check.md").write_text(report.to_markdown(), encoding="utf-8")
    remaining = [i for i in report.errors if not (recipe.check.fix and i.fixable)]
    if recipe.check.fail_on_errors and remaining:
        raise InputError(f"check: {len(remaining)} error(s) remain after fixing; see {stats_dir / 'check.md'}")
    log.info("check: %d issue(s), %d fixed", len(report.issues), report.fixed)
    save(work, dataset)

    if recipe.all_teachers:
        specs = []
        for teacher in recipe.all_teachers:
            model_spec = teacher.model if not teacher.model.endswith(".onnx") else str(base / teacher.model)
            model_path, sha = resolve_model(model_spec)
            specs.append(
                TeacherSpec(
                    model_path=model_path,
                    conf=teacher.conf,
                    classes=tuple(teacher.classes),
                    class_conf=tuple(sorted(teacher.class_conf.items())),
                    iou_merge=teacher.iou_merge,
                    expected_sha256=sha,
                )
            )
        result = pseudo_label_many(dataset, specs, cache_dir=out / "cache", threads=threads)
        log.info("pseudo-label: %d teacher runs, %d machine boxes", result.teacher_runs, result.machine_boxes)
        save(work, dataset)

    result_d = dedupe(dataset, hamming=recipe.dedupe.hamming)
    log.info("dedupe: %s", result_d)
    save(work, dataset)
    result_s = split_dataset(dataset, ratios=recipe.split.ratios, seed=recipe.split.seed)
    log.info("split: %s", result_s)
    save(work, dataset)

    choice = choose_classes(dataset.active(), policy)
    (stats_dir / "classes.md").write_text(
        f"# Classes trained (train-split boxes, minimum {policy.min_instances})\n\n" + choice.table(), encoding="utf-8"
    )
    for cls, why in choice.left_out.items():
        log.info("class %s not trained: %s", cls, why)
    manifest = export_dataset(dataset, out, name=recipe.name, classes=choice.trained, left_out_classes=choice.left_out)
    shutil.copyfile(recipe_path, out / "recipe.yaml")
    stats = compute_stats(dataset)
    plots = write_plots(stats, stats_dir)
    (stats_dir / "stats.md").write_text(to_markdown(stats, dataset, plots), encoding="utf-8")
    return BuildResult(manifest=manifest, out=out, check_errors=len(report.errors), classes=choice)
