"""`streetwatch bench NAME`: every module `benchmarks/bench_*.py` with a `register(subparsers)`."""

from __future__ import annotations

import argparse
import importlib
import pkgutil

import streetwatch.benchmarks as package


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="benchmarks: medians and ratios against a baseline measured in the same run",
        description="Benchmarks. Each prints medians and ratios against a baseline measured in the same run.",
    )
    benches = parser.add_subparsers(dest="bench", metavar="NAME", required=True)
    for module in sorted(m.name for m in pkgutil.iter_modules(package.__path__)):
        if module.startswith("bench_"):
            importlib.import_module(f"{package.__name__}.{module}").register(benches)
