"""Taxonomy v2: the model's classes and the violations built on them.

Class names are an interface: evaluation, rules and the case service use them. Never reorder
or rename within a version; a change is a new TAXONOMY_VERSION. v2 = v1 + `stall` (appended, so
every v1 class keeps its id). A release's own class list is what it was trained on (its ONNX
`names`); the taxonomy is the set those lists are drawn from, not a list every model must have.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

TAXONOMY_VERSION = "v2"

CLASS_NAMES: tuple[str, ...] = (
    "person",
    "bicycle",
    "car",
    "motorcycle",
    "bus",
    "truck",
    "umbrella",
    "dining_table",
    "garbage",
    "garbage_bin",
    "bin_overflow",
    "fire",
    "smoke",
    "stall",
)

# Where each class comes from (documented in DESIGN.md and the dataset recipes).
COCO_CLASSES: tuple[str, ...] = CLASS_NAMES[:8]
GARBAGE_CLASSES: tuple[str, ...] = ("garbage", "garbage_bin", "bin_overflow")
FIRE_CLASSES: tuple[str, ...] = ("fire", "smoke")

MOTOR_VEHICLE_CLASSES: tuple[str, ...] = ("car", "bus", "truck")
NON_MOTOR_VEHICLE_CLASSES: tuple[str, ...] = ("motorcycle", "bicycle")
VEHICLE_CLASSES: tuple[str, ...] = MOTOR_VEHICLE_CLASSES + NON_MOTOR_VEHICLE_CLASSES
# A vending stall (docs/vending.md says what counts): a mobile cart, tricycle stall, table or
# ground sheet of goods, a canopy or umbrella over goods, a barbecue grill. No public data labels
# it; it grows from reviewed cases (reviewers draw it on the evidence).
STALL = "stall"
# COCO classes that stand in for a stall while a model has no `stall` class.
STALL_PROXY_CLASSES: tuple[str, ...] = ("umbrella", "dining_table")

# COCO-80 index -> taxonomy name for the classes COCO supplies (teacher pseudo-labels).
COCO80_TO_TAXONOMY: dict[int, str] = {
    0: "person",
    1: "bicycle",
    2: "car",
    3: "motorcycle",
    5: "bus",
    7: "truck",
    25: "umbrella",
    60: "dining_table",
}


class ViolationType(StrEnum):
    """Case types filed with the case service."""

    ILLEGAL_PARKING = "illegal_parking"
    OCCUPIED_LANE_VENDING = "occupied_lane_vending"
    EXPOSED_GARBAGE = "exposed_garbage"
    OPEN_BURNING = "open_burning"


def class_id(name: str) -> int:
    """Index of a taxonomy class; a clear error naming the valid classes otherwise."""
    try:
        return CLASS_NAMES.index(name)
    except ValueError:
        raise ValueError(f"unknown class {name!r}; taxonomy {TAXONOMY_VERSION} has {', '.join(CLASS_NAMES)}") from None


def normalise_class_name(name: str) -> str:
    """The taxonomy's spelling of a class name: 'Dining Table', 'dining-table', ' dining_table ' -> 'dining_table'.

    The one rule for every model's names (COCO spells `dining table`); compare names only after it.
    """
    return name.strip().lower().replace(" ", "_").replace("-", "_")


def taxonomy_class(name: str) -> str | None:
    """The taxonomy class a model's class name stands for, or None when the taxonomy has no such class."""
    normalised = normalise_class_name(name)
    return normalised if normalised in CLASS_NAMES else None


def in_taxonomy_spelling(names: Iterable[str]) -> tuple[str, ...]:
    """Names of taxonomy classes respelled as the taxonomy spells them; any other name unchanged."""
    return tuple(taxonomy_class(n) or n for n in names)
