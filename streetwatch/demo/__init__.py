"""`streetwatch demo`: the whole product on built-in sample data (see docs/demo.md)."""

from __future__ import annotations

import argparse
from pathlib import Path

PROXY_RELEASE = "coco-teacher"  # the release whose COCO classes stand in for stalls until vending data exists


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run the end-to-end demo on built-in sample data",
        description="Start the case service (embedded SQLite) and an edge agent whose cameras play sample "
        "clips built from real street photos; file the violations it sees as cases; print a summary.",
    )
    parser.add_argument("--out", type=Path, default=Path("demo-output"), help="working folder (default demo-output)")
    parser.add_argument("--model", type=Path, default=None, help="ONNX model (default: the default release)")
    parser.add_argument(
        "--vending-model",
        type=Path,
        default=None,
        help="ONNX model of the vending camera (default: the coco-teacher release, whose umbrella and dining "
        "table are the stall proxies)",
    )
    parser.add_argument("--seconds", type=float, default=45.0, help="length of each sample clip (default 45)")
    parser.add_argument(
        "--timeout",
        type=float,
        default=300.0,
        help="give up after this many seconds (default 300: on a busy machine the clips play slower)",
    )
    parser.add_argument(
        "--cameras",
        default="",
        help="comma-separated camera ids to run (default all: cam-parking,cam-garbage,cam-vending,cam-fire)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from streetwatch.demo.runner import DemoSettings, run_demo
    from streetwatch.models.registry import default_model_path, find_release

    settings = DemoSettings(
        out=args.out.resolve(),
        model=(args.model or default_model_path()).resolve(),
        vending_model=(args.vending_model or find_release(PROXY_RELEASE).onnx_path).resolve(),
        seconds=args.seconds,
        timeout_s=args.timeout,
        cameras=tuple(c.strip() for c in args.cameras.split(",") if c.strip()),
    )
    return run_demo(settings)
