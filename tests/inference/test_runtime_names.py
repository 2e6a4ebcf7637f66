"""The runtime names have one home (inference/runtime_names.py): the runtimes built, the edge config's
`model.runtime` and every `--runtime` option agree with it, and naming them loads no runtime."""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Iterator

import pytest
from pydantic import ValidationError

from streetwatch.inference.runtime_names import RUNTIME_CHOICES, RUNTIME_NAMES


def test_every_name_is_a_runtime_that_is_built_and_every_runtime_has_a_name() -> None:
    from streetwatch.inference.runtimes import RUNTIMES

    assert set(RUNTIMES) == set(RUNTIME_NAMES)
    assert all(RUNTIMES[name].name == name for name in RUNTIMES)
    assert set(RUNTIME_CHOICES) == {"auto", *RUNTIME_NAMES}


def test_every_runtime_the_edge_config_accepts_opens_on_a_release() -> None:
    from streetwatch.edge.config import ModelConfig
    from streetwatch.inference.model_file import open_model
    from streetwatch.inference.runtimes import open_runtime, openvino_available
    from streetwatch.models.registry import default_model_path

    accepted = ModelConfig.model_json_schema()["properties"]["runtime"]["enum"]
    assert tuple(accepted) == RUNTIME_CHOICES
    with pytest.raises(ValidationError, match="runtime"):
        ModelConfig(path=default_model_path(), runtime="tensorrt")  # type: ignore[arg-type]
    if not openvino_available():
        pytest.skip("the openvino extra is not installed: the openvino runtime cannot be opened here")
    session, info = open_model(default_model_path(), threads=1)
    for name in accepted:
        config = ModelConfig(path=default_model_path(), runtime=name)
        runtime = open_runtime(config.runtime, info, threads=1, session=session)
        assert runtime.name in RUNTIME_NAMES, name


def _runtime_options(parser: argparse.ArgumentParser, command: str = "") -> Iterator[tuple[str, list[str]]]:
    """(command, choices) of every `--runtime` option in the command tree under `parser`."""
    for action in parser._actions:
        if "--runtime" in action.option_strings:
            yield command, list(action.choices or [])
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _runtime_options(sub, f"{command} {name}".strip())


def test_every_runtime_option_of_the_command_offers_the_runtime_names() -> None:
    from streetwatch.cli import build_parser

    options = dict(_runtime_options(build_parser()))
    assert {"eval", "bench edge"} <= set(options), options
    for command, choices in options.items():
        assert choices in (list(RUNTIME_NAMES), list(RUNTIME_CHOICES)), command


def test_starting_the_command_loads_no_runtime() -> None:
    """Every command builds the whole parser first: a runtime loaded there slows every start."""
    code = (
        "import sys\n"
        "from streetwatch.cli import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(' '.join(sorted(sys.modules)), file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert "usage: streetwatch" in result.stdout
    loaded = set(result.stderr.split())
    assert "streetwatch.benchmarks.bench_edge" in loaded  # the whole tree was built
    heavy = {"onnxruntime", "openvino", "torch", "ultralytics"} & loaded
    assert not heavy, f"`streetwatch --help` imported {sorted(heavy)}"
