"""Which classes a training set trains: a class enters the model when it has data.

Counts are boxes in the train split (human and machine, after pseudo-labelling). A class below
`min_instances` is not trained: asked for by name (`train:`), the build stops and says so; left
to the default (every taxonomy class that has enough), it is left out and the report says why.
`allow_below_min` trains a class anyway (a new class such as `stall` while reviewers grow it).
Label ids in the export are positions in the trained list (taxonomy order), and data.yaml
`names` lists exactly those classes, so a release's class list is what it was trained on.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, model_validator

from streetwatch.datasets.schema import Item
from streetwatch.errors import InputError
from streetwatch.models.taxonomy import CLASS_NAMES

DEFAULT_MIN_INSTANCES = 10


class ClassPolicy(BaseModel):
    """The `classes:` section of a recipe."""

    model_config = ConfigDict(extra="forbid")

    train: list[str] | None = Field(
        default=None, description="exactly these classes (each must reach min_instances); null: every class that does"
    )
    min_instances: int = Field(default=DEFAULT_MIN_INSTANCES, ge=0, description="train-split boxes a class needs")
    allow_below_min: list[str] = Field(default_factory=list, description="train these even below the minimum")

    @model_validator(mode="after")
    def _known(self) -> ClassPolicy:
        bad = [c for c in [*(self.train or []), *self.allow_below_min] if c not in CLASS_NAMES]
        if bad:
            raise ValueError(f"unknown classes {', '.join(bad)}; taxonomy classes are {', '.join(CLASS_NAMES)}")
        return self


@dataclass(frozen=True)
class ClassCount:
    human: int
    machine: int

    @property
    def total(self) -> int:
        return self.human + self.machine


@dataclass(frozen=True)
class ClassChoice:
    trained: list[str]  # taxonomy order
    train_counts: dict[str, ClassCount]  # every taxonomy class
    left_out: dict[str, str]  # class -> why it is not trained

    def table(self) -> str:
        """Markdown: per class, train-split human/machine boxes and whether it is trained."""
        lines = ["| class | human | machine | trained |", "|---|---:|---:|---|"]
        for name in CLASS_NAMES:
            count = self.train_counts[name]
            verdict = "yes" if name in self.trained else f"no: {self.left_out.get(name, 'not asked for')}"
            lines.append(f"| {name} | {count.human} | {count.machine} | {verdict} |")
        return "\n".join(lines) + "\n"


def train_counts(items: Iterable[Item], include_machine: bool = True) -> dict[str, ClassCount]:
    human: Counter[str] = Counter()
    machine: Counter[str] = Counter()
    for item in items:
        if item.split != "train" or item.excluded is not None:
            continue
        for box in item.boxes:
            if box.cls is None:
                continue
            if box.origin == "machine":
                if include_machine:
                    machine[box.cls] += 1
            else:
                human[box.cls] += 1
    return {c: ClassCount(human[c], machine[c]) for c in CLASS_NAMES}


def choose_classes(items: Iterable[Item], policy: ClassPolicy, include_machine: bool = True) -> ClassChoice:
    counts = train_counts(items, include_machine)
    wanted = policy.train if policy.train is not None else list(CLASS_NAMES)
    allowed = set(policy.allow_below_min)
    short = {c: counts[c] for c in wanted if counts[c].total < policy.min_instances and c not in allowed}
    if policy.train is not None and short:
        detail = "; ".join(f"{c}: {n.total} ({n.human} human, {n.machine} machine)" for c, n in short.items())
        raise InputError(
            f"refusing to train classes with fewer than {policy.min_instances} train-split boxes: {detail}. "
            f"Label more, drop them from classes.train, or train them anyway with classes.allow_below_min "
            f"(`data build --allow-small-class NAME`)"
        )
    left_out = {
        c: f"{n.total} train boxes < minimum {policy.min_instances} (allow with --allow-small-class {c})"
        for c, n in short.items()
    }
    left_out |= {c: "not in classes.train" for c in CLASS_NAMES if c not in wanted}
    trained = [c for c in CLASS_NAMES if c in wanted and c not in short]
    if not trained:
        raise InputError(f"no class has {policy.min_instances} train-split boxes; nothing to train")
    return ClassChoice(trained=trained, train_counts=counts, left_out=left_out)
