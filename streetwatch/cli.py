"""The one `streetwatch` command. Each area registers its own subcommands.

Area modules import their heavy dependencies (torch, ultralytics, FastAPI) inside the command
handlers, so `streetwatch --help` and `streetwatch detect` stay fast and torch-free.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Callable, Sequence

from streetwatch.errors import StreetwatchError
from streetwatch.redact import install_log_masking, mask_secrets
from streetwatch.version import __version__

# Modules exposing `register(subparsers)`; order is the order of `--help`.
REGISTRARS: tuple[str, ...] = (
    "streetwatch.inference.cli",  # detect
    "streetwatch.datasets.cli",  # data ...
    "streetwatch.training.cli",  # train, eval, export
    "streetwatch.training.teacher_cli",  # teacher ...
    "streetwatch.models.cli",  # models ...
    "streetwatch.edge.cli",  # edge ...
    "streetwatch.cases.cli",  # cases ...
    "streetwatch.benchmarks.cli",  # bench ...
    "streetwatch.demo",  # demo
)

Handler = Callable[[argparse.Namespace], int | None]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="streetwatch",
        description="Street-camera violation detection: models, edge agent and case service.",
    )
    parser.add_argument("--version", action="version", version=f"streetwatch {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_name in REGISTRARS:
        importlib.import_module(module_name).register(subparsers)
    return parser


def _user_error_types() -> tuple[type[BaseException], ...]:
    """Errors that mean 'bad input', printed as one line. pydantic is optional at this level."""
    types: list[type[BaseException]] = [StreetwatchError, FileNotFoundError, IsADirectoryError]
    try:
        from pydantic import ValidationError

        types.append(ValidationError)
    except ImportError:  # pragma: no cover - pydantic is a core dependency
        pass
    return tuple(types)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # Camera URLs carry passwords; no log line may show one, whoever logged it (FFmpeg included).
    install_log_masking()
    # Client libraries log every request at INFO; that is noise on a terminal.
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    handler: Handler = args.func
    try:
        code = handler(args)
    except KeyboardInterrupt:
        print("streetwatch: interrupted", file=sys.stderr)
        return 130
    except _user_error_types() as exc:
        lines = mask_secrets(str(exc)).strip().splitlines() or [type(exc).__name__]
        # Multi-line messages (a config listing several bad fields) are shown whole, indented.
        print(f"streetwatch {args.command}: error: " + "\n  ".join(lines), file=sys.stderr)
        return 2
    return int(code or 0)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
