from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from streetwatch.training.config import TrainConfig


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"imgsz": 300}, "multiple of 32"),
        ({"recipe": "sunny"}, "unknown recipe 'sunny'"),
        ({"base": "yolov8n.pt"}, "base weights not found: yolov8n.pt"),
        ({"epochs": 0}, "greater than 0"),
        ({"workers": -1}, "greater than or equal to 0"),
        ({"colour": "red"}, "Extra inputs are not permitted"),
    ],
)
def test_bad_config_is_refused(overrides: dict, match: str) -> None:
    values = {"data": Path("data.yaml"), "base": "yolov8n.yaml", "epochs": 1, **overrides}
    with pytest.raises(ValidationError, match=match):
        TrainConfig(**values)


def test_local_checkpoint_is_accepted(tmp_path: Path) -> None:
    base = tmp_path / "base.pt"
    base.write_bytes(b"x")
    config = TrainConfig(data=Path("d.yaml"), base=str(base), epochs=3)
    assert (config.imgsz, config.seed, config.recipe) == (320, 0, "street-camera-v1")


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["train"], "train needs --data, --base, --epochs"),
        (["train", "--data", "d.yaml", "--epochs", "3"], "train needs --base"),
        (["eval", "--model", "m.onnx", "--data", "d.yaml", "--conf", "2"], r"--conf must be in \[0, 1\], got 2.0"),
    ],
)
def test_cli_refuses_incomplete_commands(argv: list[str], match: str) -> None:
    import argparse

    from streetwatch.errors import InputError
    from streetwatch.training import cli

    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    with pytest.raises(InputError, match=match):
        args.func(args)


def test_time_budget_is_positive() -> None:
    with pytest.raises(ValidationError, match="greater than 0"):
        TrainConfig(data=Path("d.yaml"), base="yolov8n.yaml", epochs=1, time=0)
