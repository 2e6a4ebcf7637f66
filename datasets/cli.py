"""`streetwatch data ...`: import, pseudo-label, check, dedupe, split, stats, export, from-cases, build.

Every command but `build` and `from-cases` works on a dataset folder (the internal form, see
`schema.py`) and saves it back; every one can be rerun with the same result.
"""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "dataset tooling: import, pseudo-label, check, dedupe, split, stats, export, mix, hard-negatives"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("data", help=HELP, description=HELP + ", from-cases, build.")
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    sub = parser.add_subparsers(dest="data_command", metavar="STEP", required=True)

    p = sub.add_parser("import", help="import a YOLO, COCO or VOC source into a dataset folder")
    p.add_argument("source", type=Path, help="source folder (YOLO: data.yaml; VOC: Annotations/) or COCO .json")
    p.add_argument("--to", type=Path, required=True, dest="dataset", help="dataset folder (created if absent)")
    p.add_argument("--name", required=True, help="source name (re-importing a name replaces its items)")
    p.add_argument("--mapping", type=Path, required=True, help="class-mapping YAML (see datasets/mappings/)")
    p.add_argument("--format", choices=("auto", "yolo", "coco", "voc"), default="auto")
    p.add_argument(
        "--group-pattern",
        action="append",
        default=[],
        metavar="REGEX",
        help="regex on file names with (?P<group>...) naming the scene/video; repeatable, first match wins",
    )
    p.add_argument(
        "--max-gap", type=int, default=None, help="for patterns with (?P<index>...): frames this close are one scene"
    )
    p.set_defaults(func=_import)

    p = sub.add_parser("pseudo-label", help="fill unlabelled classes with a teacher detector")
    p.add_argument("dataset", type=Path)
    p.add_argument("--model", required=True, help="ONNX file or release name (e.g. coco-teacher)")
    p.add_argument("--conf", type=float, default=0.35, help="keep teacher boxes above this confidence (0.35)")
    p.add_argument("--classes", nargs="+", default=None, help="taxonomy classes to fill (default: all the teacher has)")
    p.add_argument("--iou-merge", type=float, default=0.5, help="a human box of the same class this close wins (0.5)")
    p.add_argument("--cache", type=Path, default=None, help="teacher-output cache folder (default: DATASET/cache)")
    p.add_argument("--threads", type=int, default=None, help="onnxruntime threads")
    p.set_defaults(func=_pseudo)

    p = sub.add_parser("check", help="find broken images and labels; --fix applies the safe fixes")
    p.add_argument("dataset", type=Path)
    p.add_argument("--fix", action="store_true", help="clip, drop empty/duplicate boxes, leave out broken images")
    p.add_argument("--report", type=Path, default=None, help="also write the report (markdown) here")
    p.set_defaults(func=_check)

    p = sub.add_parser("dedupe", help="exact and near-duplicate images, within and across sources")
    p.add_argument("dataset", type=Path)
    p.add_argument("--hamming", type=int, default=6, help="max differing bits of the 64-bit perceptual hash (6)")
    p.set_defaults(func=_dedupe)

    p = sub.add_parser("split", help="group-aware, stratified, seeded train/val/test split")
    p.add_argument("dataset", type=Path)
    p.add_argument("--ratios", type=float, nargs=3, default=(0.8, 0.1, 0.1), metavar=("TRAIN", "VAL", "TEST"))
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_split)

    p = sub.add_parser("stats", help="markdown report with PNG plots")
    p.add_argument("dataset", type=Path)
    p.add_argument("--out", type=Path, required=True, help="folder for stats.md and the plots")
    p.set_defaults(func=_stats)

    p = sub.add_parser("export", help="ultralytics-ready folder + manifest")
    p.add_argument("dataset", type=Path)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--name", default=None, help="training-set name in the manifest (default: the folder name)")
    p.add_argument("--exclude-machine", action="store_true", help="leave machine-made boxes out of the labels")
    p.set_defaults(func=_export)

    p = sub.add_parser("from-cases", help="reviewed-case export -> a COCO source for `data import`")
    p.add_argument("export", type=Path, help="folder written by `streetwatch cases export`")
    p.add_argument("--out", type=Path, required=True)
    p.set_defaults(func=_from_cases)

    p = sub.add_parser("mix", help="a training mix over a built data set: leave sources out, cap others")
    p.add_argument("data", type=Path, help="a folder written by `data build` (e.g. data/v2)")
    p.add_argument("--out", type=Path, required=True, help="folder for data.yaml, the lists and manifest.json")
    p.add_argument(
        "--exclude-source",
        action="append",
        default=[],
        metavar="SOURCE",
        help="leave this source out of train/val/test; its images go to heldout.yaml (repeatable)",
    )
    p.add_argument(
        "--cap", action="append", default=[], metavar="SOURCE=N", help="at most N train images of SOURCE (repeatable)"
    )
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_mix)

    p = sub.add_parser(
        "hard-negatives",
        help="fire-free images a model raises fire/smoke on, as a new source (from a data set or a case export)",
    )
    p.add_argument("--model", type=Path, required=True, help="ONNX model to check (e.g. the release to replace)")
    p.add_argument("--data", type=Path, action="append", default=[], help="a `data build` folder (repeatable)")
    p.add_argument("--cases", type=Path, action="append", default=[], help="a case export folder (repeatable)")
    p.add_argument("--out", type=Path, required=True, help="source folder to write (YOLO, empty labels)")
    p.add_argument(
        "--exclude-source",
        action="append",
        default=[],
        metavar="SOURCE",
        help="scan no image of this --data source (one held out of training, e.g. for leave-one-source-out)",
    )
    p.add_argument(
        "--conf", type=float, default=None, help="threshold for fire/smoke (default: the release's own, else 0.25)"
    )
    p.add_argument("--threads", type=int, default=None, help="onnxruntime threads")
    p.set_defaults(func=_hard_negatives)

    p = sub.add_parser("build", help="run a recipe end to end (import ... export)")
    p.add_argument("recipe", type=Path, help="e.g. datasets/recipes/v1.yaml")
    p.add_argument("--out", type=Path, required=True, help="e.g. data/v1")
    p.add_argument("--data-root", type=Path, default=None, help="where the recipe's sources live (default: recipe)")
    p.add_argument("--threads", type=int, default=None, help="onnxruntime threads for the teacher")
    p.add_argument(
        "--allow-small-class",
        action="append",
        default=[],
        metavar="NAME",
        help="train this class even below the recipe's classes.min_instances (repeatable)",
    )
    p.set_defaults(func=_build)


def _progress(args: argparse.Namespace) -> None:
    from streetwatch.datasets.progress import set_enabled

    if args.no_progress:
        set_enabled(False)


def _import(args: argparse.Namespace) -> int:
    from streetwatch.datasets.importing import GroupRule, SourceSpec, import_source
    from streetwatch.datasets.store import load_or_new, save

    _progress(args)
    dataset = load_or_new(args.dataset)
    rules = tuple(GroupRule(pattern=p, max_gap=args.max_gap if "(?P<index>" in p else None) for p in args.group_pattern)
    spec = SourceSpec(name=args.name, path=args.source, mapping=args.mapping, format=args.format, groups=rules)
    record = import_source(dataset, spec)
    save(args.dataset, dataset)
    items = dataset.by_source(record.name)
    negatives = sum(1 for i in items if i.negative)
    print(
        f"{record.name}: {record.images} images ({record.format}), {sum(len(i.boxes) for i in items)} boxes, "
        f"{negatives} marked negative, {len({i.group for i in items})} groups -> {args.dataset}"
    )
    return 0


def _pseudo(args: argparse.Namespace) -> int:
    from streetwatch.datasets.pseudo import pseudo_label
    from streetwatch.datasets.store import load, save
    from streetwatch.datasets.teacher import resolve_model

    _progress(args)
    dataset = load(args.dataset)
    model_path, sha = resolve_model(args.model)
    result = pseudo_label(
        dataset,
        model_path,
        conf=args.conf,
        classes=args.classes,
        iou_merge=args.iou_merge,
        cache_dir=args.cache or args.dataset / "cache",
        threads=args.threads,
        expected_sha256=sha,
    )
    save(args.dataset, dataset)
    print(f"{result.images} images, teacher ran on {result.teacher_runs}, {result.machine_boxes} machine-made boxes")
    return 0


def _check(args: argparse.Namespace) -> int:
    from streetwatch.datasets.check import apply_fixes, run_checks
    from streetwatch.datasets.store import load, save

    _progress(args)
    dataset = load(args.dataset)
    report = run_checks(dataset)
    if args.fix:
        apply_fixes(dataset, report)
        save(args.dataset, dataset)
    text = report.to_markdown()
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(text, encoding="utf-8")
    print(text, end="")
    remaining = [i for i in report.errors if not (args.fix and i.fixable)]
    return 1 if remaining else 0


def _dedupe(args: argparse.Namespace) -> int:
    from streetwatch.datasets.dedupe import dedupe
    from streetwatch.datasets.store import load, save

    _progress(args)
    dataset = load(args.dataset)
    result = dedupe(dataset, hamming=args.hamming)
    save(args.dataset, dataset)
    print(
        f"{result.exact_duplicates} exact duplicates left out; {result.clusters} near-duplicate clusters "
        f"({result.clustered_images} images) kept together"
    )
    return 0


def _split(args: argparse.Namespace) -> int:
    from streetwatch.datasets.split import split_dataset
    from streetwatch.datasets.store import load, save

    _progress(args)
    dataset = load(args.dataset)
    result = split_dataset(dataset, ratios=tuple(args.ratios), seed=args.seed)
    save(args.dataset, dataset)
    shown = ", ".join(f"{k} {v}" for k, v in result.images.items())
    print(f"{result.units} units -> {shown}")
    return 0


def _stats(args: argparse.Namespace) -> int:
    from streetwatch.datasets.plots import write_plots
    from streetwatch.datasets.stats import compute_stats, to_markdown
    from streetwatch.datasets.store import load

    dataset = load(args.dataset)
    stats = compute_stats(dataset)
    plots = write_plots(stats, args.out)
    text = to_markdown(stats, dataset, plots)
    (args.out / "stats.md").write_text(text, encoding="utf-8")
    print(text, end="")
    return 0


def _export(args: argparse.Namespace) -> int:
    from streetwatch.datasets.export import export_dataset
    from streetwatch.datasets.store import load

    _progress(args)
    manifest = export_dataset(load(args.dataset), args.out, name=args.name, include_machine=not args.exclude_machine)
    images = sum(c.images for c in manifest.counts.values())
    print(f"{images} images -> {args.out / 'data.yaml'} (content sha256 {manifest.content_sha256})")
    return 0


def _from_cases(args: argparse.Namespace) -> int:
    from streetwatch.datasets.from_cases import MAPPING_FILE, cases_to_source

    _progress(args)
    result = cases_to_source(args.export, args.out)
    ruled_out = ", ".join(f"{c} {n}" for c, n in result.ruled_out.items()) or "none"
    left_out = ", ".join(f"{n} {why}" for why, n in result.left_out.items()) or "none"
    print(
        f"{result.accepted} accepted, {result.rejected} rejected kept: {result.boxes} boxes "
        f"({result.human_boxes} human, {result.machine_boxes} machine); boxes ruled out (region, class): {ruled_out}; "
        f"left out: {left_out} -> {args.out}\n"
        f"next: streetwatch data import {args.out} --to DATASET --name cases --mapping {args.out / MAPPING_FILE}"
    )
    return 0


def _mix(args: argparse.Namespace) -> int:
    from streetwatch.datasets.mix import MixSpec, make_mix, parse_caps

    spec = MixSpec(exclude=tuple(args.exclude_source), caps=parse_caps(args.cap), seed=args.seed)
    manifest = make_mix(args.data, args.out, spec)
    splits = manifest["splits"]
    assert isinstance(splits, dict)
    for split, counts in splits.items():
        print(f"{split}: {counts['images']} images {counts['by_source']}")
    if manifest["heldout"]:
        print(f"held out: {manifest['heldout']} -> {args.out / 'heldout.yaml'}")
    print(f"-> {args.out / 'data.yaml'}")
    return 0


def _hard_negatives(args: argparse.Namespace) -> int:
    from streetwatch.datasets.hard_negatives import case_candidates, dataset_candidates, find_hard_negatives
    from streetwatch.errors import InputError

    _progress(args)
    if not args.data and not args.cases:
        raise InputError("hard-negatives needs --data DIR and/or --cases EXPORT to look in")
    if args.conf is not None and not 0.0 <= args.conf <= 1.0:
        raise InputError(f"--conf must be in [0, 1], got {args.conf}")
    candidates = [c for d in args.data for c in dataset_candidates(d, tuple(args.exclude_source))]
    candidates += [c for e in args.cases for c in case_candidates(e)]
    report = find_hard_negatives(candidates, args.model, args.out, conf=args.conf, threads=args.threads)
    for origin, counts in sorted(report.by_origin.items()):
        print(f"{origin}: {counts['found']} of {counts['scanned']} fire-free images raised fire/smoke")
    print(
        f"found {report.found} hard negatives in {report.scanned} images (by class {report.by_class}; "
        f"thresholds {report.thresholds}) -> {args.out}"
    )
    return 0


def _build(args: argparse.Namespace) -> int:
    from streetwatch.datasets.build import build

    _progress(args)
    result = build(
        args.recipe, args.out, data_root=args.data_root, threads=args.threads, allow_small=tuple(args.allow_small_class)
    )
    images = sum(c.images for c in result.manifest.counts.values())
    print(result.classes.table(), end="")
    print(
        f"{result.manifest.name}: {images} images, {len(result.classes.trained)} classes -> {args.out / 'data.yaml'}\n"
        f"content sha256 {result.manifest.content_sha256}; stats in {args.out / 'stats' / 'stats.md'}"
    )
    return 0
