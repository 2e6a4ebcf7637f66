"""`streetwatch cases`: the case service: serve, tokens, export reviewed cases"""

from __future__ import annotations

import argparse

from streetwatch.errors import StreetwatchError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "cases",
        help="the case service: serve, tokens, export reviewed cases",
        description="the case service: serve, tokens, export reviewed cases",
    )
    parser.set_defaults(func=_not_ready)


def _not_ready(args: argparse.Namespace) -> int:
    raise StreetwatchError("'cases' is not available in this build yet")
