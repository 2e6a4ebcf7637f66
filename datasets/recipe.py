"""A dataset recipe: which sources, how to map, pseudo-label, check, dedupe and split them.

Relative paths (mappings, a teacher .onnx) are resolved against the repository root (the
nearest folder above the recipe holding pyproject.toml); source paths against `data_root`,
which `--data-root` or the STREETWATCH_SHARED_DATA environment variable override.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from streetwatch.datasets.classes import ClassPolicy
from streetwatch.datasets.importing import FormatChoice, GroupRule
from streetwatch.errors import ConfigError, InputError
from streetwatch.models.taxonomy import CLASS_NAMES, COCO_CLASSES

SHARED_DATA_ENV = "STREETWATCH_SHARED_DATA"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GroupRuleEntry(_Strict):
    pattern: str = Field(description="regex on the file name with a named group (?P<group>...)")
    max_gap: int | None = Field(default=None, ge=0, description="with (?P<index>...): frames this close are one scene")


class SourceEntry(_Strict):
    name: str
    path: str = Field(description="relative to `root`, or absolute")
    root: Literal["data_root", "repo"] = Field(
        default="data_root",
        description="what a relative path is relative to: data_root (shared data), or the repository root "
        "(sources materialised into the git-ignored data/ folder)",
    )
    format: FormatChoice = "auto"
    mapping: str = Field(description="class-mapping file, relative to the repository root")
    groups: list[GroupRuleEntry] = Field(default_factory=list)
    optional: bool = Field(
        default=False, description="skip the source (with a log line) when its folder is absent, e.g. hard negatives"
    )
    max_images: int | None = Field(
        default=None,
        gt=0,
        description="use at most this many images of the source (one per scene group first, seeded by split.seed); "
        "the rest are left out as 'sampled out'",
    )
    labelled: list[str] | None = Field(
        default=None,
        description="taxonomy classes this source labels exhaustively; overrides the mapping's. "
        "Teachers fill only the classes a source does not label",
    )

    @model_validator(mode="after")
    def _labelled(self) -> SourceEntry:
        bad = [c for c in self.labelled or [] if c not in CLASS_NAMES]
        if bad:
            raise ValueError(f"labelled must name taxonomy classes; unknown: {', '.join(bad)}")
        return self


class TeacherEntry(_Strict):
    model: str = Field(description="a release name in models/releases, or a path to an ONNX file")
    conf: float = Field(default=0.35, gt=0, lt=1, description="keep teacher boxes with confidence above this")
    classes: list[str] = Field(default_factory=lambda: list(COCO_CLASSES))
    iou_merge: float = Field(default=0.5, gt=0, le=1, description="a human box this close wins over a teacher box")
    class_conf: dict[str, float] = Field(
        default_factory=dict, description="per-class thresholds replacing conf (e.g. lower for rare classes)"
    )

    @model_validator(mode="after")
    def _classes(self) -> TeacherEntry:
        bad = [c for c in [*self.classes, *self.class_conf] if c not in CLASS_NAMES]
        bad += [f"{c}={v}" for c, v in self.class_conf.items() if not 0 < v < 1]
        if bad:
            raise ValueError(f"teacher classes must be taxonomy classes; unknown: {', '.join(bad)}")
        return self


class CheckEntry(_Strict):
    fix: bool = True
    fail_on_errors: bool = Field(default=True, description="stop the build if errors remain after fixing")


class DedupeEntry(_Strict):
    hamming: int = Field(default=6, ge=0, le=32, description="max differing bits of 64-bit perceptual hashes")


class SplitEntry(_Strict):
    ratios: tuple[float, float, float] = (0.8, 0.1, 0.1)
    seed: int = 0


class Recipe(_Strict):
    name: str
    description: str = ""
    data_root: str = "../shared/data"
    sources: list[SourceEntry] = Field(min_length=1)
    teacher: TeacherEntry | None = None
    teachers: list[TeacherEntry] = Field(
        default_factory=list, description="several teachers, each filling its own classes (instead of teacher)"
    )
    check: CheckEntry = Field(default_factory=CheckEntry)
    dedupe: DedupeEntry = Field(default_factory=DedupeEntry)
    split: SplitEntry = Field(default_factory=SplitEntry)
    classes: ClassPolicy = Field(default_factory=ClassPolicy, description="which classes the set trains")

    @model_validator(mode="after")
    def _unique(self) -> Recipe:
        names = [s.name for s in self.sources]
        if len(set(names)) != len(names):
            raise ValueError(f"source names must be unique, got {names}")
        if self.teacher is not None and self.teachers:
            raise ValueError("give either teacher or teachers, not both")
        seen: dict[str, str] = {}
        for t in self.all_teachers:
            for c in t.classes:
                if c in seen:
                    raise ValueError(f"class {c!r} is filled by two teachers ({seen[c]}, {t.model}); give it to one")
                seen[c] = t.model
        return self

    @property
    def all_teachers(self) -> list[TeacherEntry]:
        return [self.teacher] if self.teacher is not None else list(self.teachers)


def repo_root_for(path: Path) -> Path:
    for folder in path.resolve().parents:
        if (folder / "pyproject.toml").is_file():
            return folder
    return path.resolve().parent


def load_recipe(path: Path) -> Recipe:
    if not path.is_file():
        raise InputError(f"recipe not found: {path}")
    try:
        return Recipe.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None
    except ValidationError as exc:
        raise ConfigError(f"{path}: invalid recipe: {exc}") from None


def resolve_data_root(recipe: Recipe, base: Path, override: Path | None) -> Path:
    if override is not None:
        return override
    if os.environ.get(SHARED_DATA_ENV):
        return Path(os.environ[SHARED_DATA_ENV])
    return base / recipe.data_root


def group_rules(entry: SourceEntry) -> tuple[GroupRule, ...]:
    return tuple(GroupRule(pattern=g.pattern, max_gap=g.max_gap) for g in entry.groups)
