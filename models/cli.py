"""`streetwatch models list`: the model releases in models/releases and their metrics."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("models", help="list model releases", description="Model releases in models/.")
    sub = parser.add_subparsers(dest="models_command", metavar="SUBCOMMAND", required=True)
    lister = sub.add_parser(
        "list",
        help="table of releases with their metrics",
        description="Releases (name, version, files, classes, mAP50 per file and per class group); "
        "the default one is marked with *.",
    )
    lister.add_argument("--releases-dir", type=Path, default=None, help="folder of releases (default models/releases)")
    lister.add_argument("--json", action="store_true", help="print the manifests as JSON")
    lister.set_defaults(func=run_list)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def run_list(args: argparse.Namespace) -> int:
    from streetwatch.models.registry import RELEASES_DIR, default_release_name, list_releases

    releases_dir = args.releases_dir or RELEASES_DIR
    releases = list_releases(releases_dir)
    if args.json:
        manifests = [{"name": r.name, **r.manifest.model_dump(mode="json", by_alias=True)} for r in releases]
        print(json.dumps(manifests, indent=2, ensure_ascii=False))
        return 0
    if not releases:
        print(f"no releases in {releases_dir}")
        return 0
    default = default_release_name(releases_dir)
    header = (
        f"  {'release':<16}{'version':<10}{'file':<28}{'prec':<6}{'classes':>8}{'imgsz':>7}{'mAP50':>8}{'mAP50-95':>10}"
    )
    print(header)
    for r in releases:
        size = str(r.manifest.imgsz[0])
        for i, f in enumerate(r.files):
            mark = "*" if r.name == default and i == 0 else " "
            m50 = f.metrics.map50 if f.metrics is not None else (r.metric("map50") if i == 0 else None)
            m5095 = r.metric("map50_95") if i == 0 else None
            name, version = (r.name, r.version) if i == 0 else ("", "")
            print(
                f"{mark} {name:<16}{version:<10}{f.file:<28}{f.precision:<6}{len(r.classes):>8}{size:>7}"
                f"{_fmt(m50):>8}{_fmt(m5095):>10}"
            )
        per_class = r.class_map50()
        if per_class:
            print("    " + "  ".join(f"{k} {v:.2f}" for k, v in per_class.items()))
    print("* default (models/releases/DEFAULT)")
    return 0
