"""`streetwatch edge`: the edge agent: check a config, run cameras, file cases"""

from __future__ import annotations

import argparse

from streetwatch.errors import StreetwatchError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "edge",
        help="the edge agent: check a config, run cameras, file cases",
        description="the edge agent: check a config, run cameras, file cases",
    )
    parser.set_defaults(func=_not_ready)


def _not_ready(args: argparse.Namespace) -> int:
    raise StreetwatchError("'edge' is not available in this build yet")
