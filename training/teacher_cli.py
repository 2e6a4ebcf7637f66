"""`streetwatch teacher`: rebuild the COCO teacher from its TFLite file"""

from __future__ import annotations

import argparse

from streetwatch.errors import StreetwatchError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "teacher",
        help="rebuild the COCO teacher from its TFLite file",
        description="rebuild the COCO teacher from its TFLite file",
    )
    parser.set_defaults(func=_not_ready)


def _not_ready(args: argparse.Namespace) -> int:
    raise StreetwatchError("'teacher' is not available in this build yet")
