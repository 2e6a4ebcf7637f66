"""`streetwatch train`: train a detector with ultralytics"""

from __future__ import annotations

import argparse

from streetwatch.errors import StreetwatchError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train", help="train a detector with ultralytics", description="train a detector with ultralytics"
    )
    parser.set_defaults(func=_not_ready)


def _not_ready(args: argparse.Namespace) -> int:
    raise StreetwatchError("'train' is not available in this build yet")
