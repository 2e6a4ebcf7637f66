"""What a reader returns: images with boxes in pixels, named as the source names them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class RawBox:
    source_class: str  # the source's class name, or its raw id when `valid` is False
    xyxy: tuple[float, float, float, float]  # pixels
    valid: bool = True  # False: the class id is not one the source declares
    origin: str = "human"  # "machine": a model's box (reviewed cases keep the model's untouched boxes)
    conf: float | None = None
    filed_by: str | None = None  # the model that filed a machine box from a reviewed case


@dataclass
class RawImage:
    path: Path
    rel_stem: str  # path inside the source without suffix: the item id's tail
    width: int  # 0 when the header is unreadable (check reports it)
    height: int
    boxes: list[RawBox] = field(default_factory=list)
    label_file: Path | None = None
    problems: list[str] = field(default_factory=list)
    group: str | None = None  # a group the source states itself (COCO extension field)
    hard_negative: bool = False
    labelled: tuple[str, ...] = ()  # classes this image labels exhaustively on top of the mapping's
    # (source class, xyxy pixels): regions a reviewer said are not that class (COCO extension field)
    ruled_out: list[tuple[str, tuple[float, float, float, float]]] = field(default_factory=list)


@dataclass
class RawSource:
    declared_classes: list[str]  # every class the source says it labels
    images: list[RawImage]
    orphan_labels: list[str] = field(default_factory=list)  # label files / records with no image
