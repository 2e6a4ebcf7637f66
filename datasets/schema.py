"""The internal form every source is imported into: one `Item` per image, boxes in pixels.

A dataset folder holds `dataset.json` (a `DatasetHeader`: sources, class map, what each step did)
and `items.jsonl` (one `Item` per line). Images stay where the source keeps them; `sha256` pins
their content, so every later step (and the export manifest) can prove which bytes it used.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from streetwatch.models.taxonomy import CLASS_NAMES, TAXONOMY_VERSION

DATASET_FORMAT = "streetwatch.dataset"
DATASET_VERSION = 1
HEADER_FILE = "dataset.json"
ITEMS_FILE = "items.jsonl"

Split = Literal["train", "val", "test"]
SPLITS: tuple[Split, ...] = ("train", "val", "test")
Origin = Literal["human", "machine"]
SourceFormat = Literal["yolo", "coco", "voc"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Box(_Model):
    """One labelled object. `cls` is a taxonomy name, or None when the source's class id was invalid."""

    cls: str | None
    xyxy: tuple[float, float, float, float] = Field(description="x1, y1, x2, y2 in image pixels")
    source_class: str = Field(description="the class as the source named it (or its raw id)")
    origin: Origin = "human"
    conf: float | None = Field(default=None, description="teacher confidence, for machine-made boxes")
    filed_by: str | None = Field(
        default=None,
        description="machine boxes from reviewed cases: the model that filed them (a teacher never replaces them)",
    )


class RuledOut(_Model):
    """A region a reviewer said is not `cls`: a model box they deleted, or one rejected as a false
    detection. Only that region: the class stays open elsewhere on the image (a teacher may add a
    real object of the class there), so a deletion never turns a real object into background."""

    cls: str
    xyxy: tuple[float, float, float, float] = Field(description="x1, y1, x2, y2 in image pixels")


class PseudoStamp(_Model):
    """Which teacher filled an item, so a rerun with the same teacher and threshold is a no-op."""

    model_sha256: str
    conf: float


class Item(_Model):
    id: str = Field(description="<source>/<path of the image inside the source, without suffix>")
    source: str
    image: str = Field(description="absolute path of the image file")
    sha256: str
    phash: str | None = Field(default=None, description="64-bit perceptual hash (hex), set by dedupe")
    width: int = Field(ge=0)
    height: int = Field(ge=0)
    group: str = Field(description="scene/video the image comes from; a group never spans two splits")
    labelled: list[str] = Field(description="taxonomy classes the source labelled exhaustively on this image")
    boxes: list[Box] = Field(default_factory=list)
    ruled_out: list[RuledOut] = Field(
        default_factory=list, description="regions a reviewer ruled out for a class (no teacher box of it there)"
    )
    negative: bool = Field(default=False, description="the source marked the image as free of its classes")
    hard_negative: bool = Field(default=False, description="a rejected detection: no objects, no pseudo-labels")
    label_file: str | None = Field(default=None, description="the source's label file, when it has one per image")
    problems: list[str] = Field(default_factory=list, description="label lines the importer could not read")
    excluded: str | None = Field(default=None, description="why the item is left out of the export")
    cluster: str | None = Field(default=None, description="near-duplicate cluster (id of its first member)")
    split: Split | None = None
    pseudo: PseudoStamp | None = None

    @property
    def machine_boxes(self) -> list[Box]:
        return [b for b in self.boxes if b.origin == "machine"]


class SourceRecord(_Model):
    name: str
    format: SourceFormat
    path: str
    mapping: str
    mapping_sha256: str
    class_map: dict[str, str] = Field(description="source class -> taxonomy name | drop | negative")
    labelled: list[str]
    images: int
    orphan_labels: list[str] = Field(default_factory=list, description="label files with no image")


class PseudoLabelRecord(_Model):
    model: str
    model_sha256: str
    conf: float
    iou_merge: float
    classes: list[str]
    class_conf: dict[str, float] = Field(default_factory=dict, description="per-class thresholds that replace conf")


class DedupeRecord(_Model):
    hamming: int
    exact_duplicates: int
    near_duplicate_clusters: int
    images_in_clusters: int


class SplitRecord(_Model):
    ratios: tuple[float, float, float]
    seed: int
    units: int


class DatasetHeader(_Model):
    format: Literal["streetwatch.dataset"] = DATASET_FORMAT
    version: Literal[1] = DATASET_VERSION
    taxonomy_version: str = TAXONOMY_VERSION
    classes: list[str] = Field(default_factory=lambda: list(CLASS_NAMES))
    sources: list[SourceRecord] = Field(default_factory=list)
    pseudo_label: PseudoLabelRecord | None = Field(default=None, description="the first (or only) teacher")
    pseudo_labels: list[PseudoLabelRecord] = Field(default_factory=list, description="every teacher, in order")
    dedupe: DedupeRecord | None = None
    split: SplitRecord | None = None

    def source(self, name: str) -> SourceRecord | None:
        return next((s for s in self.sources if s.name == name), None)
