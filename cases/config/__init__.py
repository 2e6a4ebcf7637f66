"""The city's tables (YAML): built-in defaults here, a city's own file by setting."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from streetwatch.errors import ConfigError

M = TypeVar("M", bound=BaseModel)


def load_table(model: type[M], path: Path | None, builtin: str, what: str) -> M:
    """`path`, or the built-in `builtin` file of this package, parsed into `model`; one clear error."""
    if path is None:
        text = resources.files(__name__).joinpath(builtin).read_text("utf-8")
        where = f"the built-in {builtin}"
    else:
        if not path.is_file():
            raise ConfigError(f"{what} file not found: {path}")
        text = path.read_text("utf-8")
        where = str(path)
    try:
        return model.model_validate(yaml.safe_load(text))
    except (ValidationError, yaml.YAMLError) as exc:
        raise ConfigError(f"invalid {what} in {where}: {exc}") from None
