"""`streetwatch edge`: check a config, run the agent."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from streetwatch.edge.config import EdgeConfig


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "edge",
        help="the edge agent: check a config, run cameras, file cases",
        description="The edge agent: camera streams -> detector -> rules -> evidence -> cases filed with the case "
        "service.",
    )
    edge = parser.add_subparsers(dest="edge_command", metavar="COMMAND", required=True)

    check = edge.add_parser(
        "check",
        help="validate a config file (errors with line numbers) and warn about rules the model cannot fire",
        description="Validate an edge config. Errors name the line; warnings say what will not work as expected.",
    )
    check.add_argument("config", type=Path, help="edge config YAML")
    check.add_argument("--no-model", action="store_true", help="do not open the model (config syntax only)")
    check.set_defaults(func=_check)

    run = edge.add_parser(
        "run",
        help="run the agent until SIGTERM (or until file sources end, when configured)",
        description="Run the edge agent. SIGTERM/SIGINT stop it cleanly: frames in flight are judged, "
        "cases are stored, and delivery is tried for drain_timeout_s.",
    )
    run.add_argument("config", type=Path, help="edge config YAML")
    run.add_argument("--api-port", type=int, default=None, help="override api.port (0 = any free port)")
    run.set_defaults(func=_run)


def _check(args: argparse.Namespace) -> int:
    from streetwatch.edge.checks import warnings_for
    from streetwatch.edge.config import ModelConfig, load_config

    config = load_config(args.config)
    names = None
    camera_names: dict[str, tuple[str, ...]] = {}
    if not args.no_model:
        from streetwatch.inference.model_file import open_model

        def classes_of(model: ModelConfig, who: str) -> tuple[str, ...]:
            _, info = open_model(model.path, expected_sha256=model.sha256, threads=1)
            print(
                f"{who}: {info.path.name} ({info.name} {info.version}), {len(info.names)} classes, "
                f"sha256 {info.sha256[:12]}…"
            )
            return info.names

        names = classes_of(config.model, "model")
        for camera in config.cameras:
            if camera.model is not None:
                camera_names[camera.id] = classes_of(camera.model, f"camera {camera.id} model")
    zones = sum(len(c.zones) for c in config.cameras)
    for warning in warnings_for(config, names, camera_names, _file_frame_sizes(config)):
        print(f"warning: {warning}")
    print(f"{args.config}: OK: {len(config.cameras)} camera(s), {zones} zone(s)")
    return 0


def _file_frame_sizes(config: EdgeConfig) -> dict[str, tuple[int, int]]:
    """Picture sizes `check` can know before the agent runs: video files' (a stated frame_size is
    checked by the config itself; live cameras only tell when they run)."""
    from streetwatch.edge.config import is_file_source
    from streetwatch.edge.sources import video_file_size

    sizes = {}
    for camera in config.cameras:
        if camera.frame_size is None and is_file_source(camera) and camera.enabled:
            size = video_file_size(Path(camera.source))
            if size is not None:
                sizes[camera.id] = size
    return sizes


def _run(args: argparse.Namespace) -> int:
    from streetwatch.edge.agent import EdgeAgent
    from streetwatch.edge.checks import warnings_for
    from streetwatch.edge.config import load_config

    config = load_config(args.config)
    if args.api_port is not None:
        config = config.model_copy(update={"api": config.api.model_copy(update={"port": args.api_port})})
    agent = EdgeAgent(config)
    import logging

    log = logging.getLogger("streetwatch.edge")
    camera_names = {camera_id: agent.names_for(camera_id) for camera_id in agent.cameras}
    for warning in warnings_for(config, agent.detector.names, camera_names):
        log.warning(warning)
    agent.run(install_signals=True)  # cases not yet delivered stay in the outbox for the next start
    return 0
