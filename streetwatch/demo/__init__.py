"""`streetwatch demo`: the whole product on built-in sample data (see docs/demo.md)."""

from __future__ import annotations

import argparse

from streetwatch.errors import StreetwatchError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("demo", help="run the end-to-end demo on built-in sample data")
    parser.set_defaults(func=_not_ready)


def _not_ready(args: argparse.Namespace) -> int:
    raise StreetwatchError("'demo' is not available in this build yet")
