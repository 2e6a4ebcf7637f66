"""`streetwatch data`: dataset tooling: import, pseudo-label, check, dedupe, split, stats, export"""

from __future__ import annotations

import argparse

from streetwatch.errors import StreetwatchError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "data",
        help="dataset tooling: import, pseudo-label, check, dedupe, split, stats, export",
        description="dataset tooling: import, pseudo-label, check, dedupe, split, stats, export",
    )
    parser.set_defaults(func=_not_ready)


def _not_ready(args: argparse.Namespace) -> int:
    raise StreetwatchError("'data' is not available in this build yet")
