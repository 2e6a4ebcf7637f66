"""`streetwatch models ...`: the model registry."""

from __future__ import annotations

import argparse

from streetwatch.errors import StreetwatchError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("models", help="list model releases", description="Model releases in models/.")
    parser.set_defaults(func=_not_ready)


def _not_ready(args: argparse.Namespace) -> int:
    raise StreetwatchError("'models' is not available in this build yet")
