"""Per-source class mapping: source class name -> taxonomy name, `drop` or `negative`.

    # datasets/mappings/fire-smoke.yaml
    classes:
      Fire: fire
      smoke: smoke
      default: negative   # whole-frame box on frames with no fire: the frame is a negative
    labelled: [fire, smoke] # optional; default: every taxonomy class the map targets

`drop` removes the box; `negative` removes it and marks the image as free of the source's
classes. A class the source declares but the map does not name is an error listing all of them:
a silent drop would teach the model that those objects are background.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from streetwatch.errors import ConfigError, InputError
from streetwatch.models.taxonomy import CLASS_NAMES

DROP = "drop"
NEGATIVE = "negative"


class MappingFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    classes: dict[str, str] = Field(description="source class name -> taxonomy name | drop | negative")
    labelled: list[str] | None = Field(
        default=None, description="taxonomy classes this source labels exhaustively (default: all mapped targets)"
    )

    @field_validator("classes")
    @classmethod
    def _targets(cls, value: dict[str, str]) -> dict[str, str]:
        bad = {k: v for k, v in value.items() if v not in CLASS_NAMES and v not in (DROP, NEGATIVE)}
        if bad:
            shown = ", ".join(f"{k} -> {v}" for k, v in bad.items())
            raise ValueError(f"targets must be a taxonomy class, {DROP!r} or {NEGATIVE!r}; got {shown}")
        return value

    @field_validator("labelled")
    @classmethod
    def _labelled(cls, value: list[str] | None) -> list[str] | None:
        bad = [v for v in value or [] if v not in CLASS_NAMES]
        if bad:
            raise ValueError(f"labelled must name taxonomy classes; unknown: {', '.join(bad)}")
        return value


@dataclass(frozen=True)
class ClassMapping:
    classes: dict[str, str]
    labelled: tuple[str, ...]
    path: Path
    sha256: str

    def check_covers(self, source_classes: Iterable[str], where: str) -> None:
        """Every class the source declares must be mapped; list every one that is not."""
        unknown = sorted({c for c in source_classes if c not in self.classes})
        if unknown:
            raise InputError(
                f"{where}: source classes not in mapping {self.path}: {', '.join(unknown)} "
                f"(map each to a taxonomy class, {DROP!r} or {NEGATIVE!r})"
            )

    def target(self, source_class: str) -> str:
        return self.classes[source_class]


def load_mapping(path: Path) -> ClassMapping:
    if not path.is_file():
        raise InputError(f"mapping file not found: {path}")
    raw = path.read_bytes()
    try:
        data = yaml.safe_load(raw)
        parsed = MappingFile.model_validate(data)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None
    except ValidationError as exc:
        raise ConfigError(f"{path}: invalid mapping: {exc}") from None
    targets = [t for t in parsed.classes.values() if t in CLASS_NAMES]
    labelled = parsed.labelled if parsed.labelled is not None else targets
    ordered = tuple(c for c in CLASS_NAMES if c in set(labelled))
    return ClassMapping(
        classes=dict(parsed.classes), labelled=ordered, path=path, sha256=hashlib.sha256(raw).hexdigest()
    )
