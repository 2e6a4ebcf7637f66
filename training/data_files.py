"""Read an ultralytics data.yaml: class names, the images of each split, their YOLO labels, a content hash.

Follows ultralytics' own conventions (`ultralytics/data/utils.py`): a split is a folder of images, a
.txt list of image paths, or a list of those; labels live beside `images/` in `labels/` as .txt.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import yaml

from streetwatch.errors import InputError
from streetwatch.files import list_images, sha256_file

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class DataSpec:
    yaml_path: Path
    root: Path
    names: tuple[str, ...]
    splits: dict[str, tuple[Path, ...]]  # split -> images, sorted

    def images(self, split: str) -> tuple[Path, ...]:
        if split not in self.splits:
            raise InputError(f"{self.yaml_path}: no {split!r} split; it has {', '.join(self.splits) or 'none'}")
        return self.splits[split]


@dataclass(frozen=True)
class Labels:
    """Ground truth of one image, normalised xywh as in the label file."""

    class_id: npt.NDArray[np.int64]  # (M,)
    xywhn: npt.NDArray[np.float32]  # (M, 4)

    def xyxy(self, width: int, height: int) -> npt.NDArray[np.float32]:
        """(M, 4) boxes in image pixels."""
        x, y, w, h = self.xywhn.T
        return np.stack([(x - w / 2) * width, (y - h / 2) * height, (x + w / 2) * width, (y + h / 2) * height], 1)


def label_path(image: Path) -> Path:
    parts = list(image.parts)
    for i in range(len(parts) - 1, -1, -1):  # the last `images` folder, as ultralytics' img2label_paths
        if parts[i] == "images":
            parts[i] = "labels"
            break
    return Path(*parts).with_suffix(".txt")


def read_labels(image: Path) -> Labels:
    path = label_path(image)
    if not path.is_file():
        return Labels(np.empty((0,), np.int64), np.empty((0, 4), np.float32))
    rows = [line.split() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    try:
        table = np.asarray([[float(v) for v in row[:5]] for row in rows], dtype=np.float32).reshape(-1, 5)
    except ValueError:
        raise InputError(f"{path}: expected YOLO rows 'class x y w h', got {rows[:1]}") from None
    return Labels(table[:, 0].astype(np.int64), table[:, 1:5])


def _split_images(root: Path, entry: str | list[str]) -> tuple[Path, ...]:
    entries = entry if isinstance(entry, list) else [entry]
    images: list[Path] = []
    for item in entries:
        path = Path(item) if Path(item).is_absolute() else root / item
        if path.is_dir():
            images += list_images(path)
        elif path.is_file() and path.suffix == ".txt":
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    p = Path(line.strip())
                    images.append(p if p.is_absolute() else (path.parent / p).resolve())
        else:
            raise InputError(
                f"split entry {item!r}: expected a folder of images or a .txt list, found nothing at {path}"
            )
    return tuple(sorted(images))


def load_data_spec(data_yaml: Path) -> DataSpec:
    if not data_yaml.is_file():
        raise InputError(f"data file not found: {data_yaml} (expected an ultralytics data.yaml)")
    raw = yaml.safe_load(data_yaml.read_text(encoding="utf-8"))
    if not isinstance(raw, dict) or "names" not in raw:
        raise InputError(f"{data_yaml}: expected a mapping with 'names' and split entries, got {type(raw).__name__}")
    root = Path(raw.get("path") or data_yaml.parent)
    if not root.is_absolute():
        root = (data_yaml.parent / root).resolve()
    names_raw = raw["names"]
    names = tuple(str(names_raw[k]) for k in sorted(names_raw)) if isinstance(names_raw, dict) else tuple(names_raw)
    splits = {s: _split_images(root, raw[s]) for s in SPLITS if raw.get(s)}
    if "train" not in splits and "val" not in splits:
        raise InputError(f"{data_yaml}: expected at least a 'train' or 'val' split")
    return DataSpec(yaml_path=data_yaml.resolve(), root=root, names=names, splits=splits)


@dataclass(frozen=True)
class DataSummary:
    """What a run or release records about its data: a content hash and counts per split."""

    data_yaml: str
    sha256: str  # over data.yaml's names and every image and label file (relative path + bytes)
    manifest_file: str | None  # the data set's own manifest beside data.yaml, if it ships one
    manifest_sha256: str | None
    content_sha256: str | None  # the data set's own content hash (`streetwatch data build`), from that manifest
    names: tuple[str, ...]
    images: dict[str, int]
    boxes: dict[str, int]

    def as_dict(self) -> dict[str, object]:
        return {
            "data_yaml": self.data_yaml,
            "sha256": self.sha256,
            "manifest_file": self.manifest_file,
            "manifest_sha256": self.manifest_sha256,
            "content_sha256": self.content_sha256,
            "names": list(self.names),
            "images": self.images,
            "boxes": self.boxes,
        }


def _content_sha256(manifest: Path | None) -> str | None:
    """`content_sha256` of a data set manifest.json written by `streetwatch data build`, if it is one."""
    if manifest is None or manifest.suffix != ".json":
        return None
    try:
        value = json.loads(manifest.read_text(encoding="utf-8")).get("content_sha256")
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
        return None
    return value if isinstance(value, str) and re.fullmatch(r"[0-9a-f]{64}", value) else None


def summarise(spec: DataSpec) -> DataSummary:
    digest = hashlib.sha256("\n".join(spec.names).encode())
    images: dict[str, int] = {}
    boxes: dict[str, int] = {}
    for split, files in spec.splits.items():
        images[split] = len(files)
        n_boxes = 0
        for image in files:
            rel = image.relative_to(spec.root) if image.is_relative_to(spec.root) else image
            digest.update(f"{split}:{rel}:{sha256_file(image)}".encode())
            label = label_path(image)
            if label.is_file():
                digest.update(label.read_bytes())
                n_boxes += len(read_labels(image).class_id)
        boxes[split] = n_boxes
    manifest = next(
        (p for p in sorted(spec.yaml_path.parent.glob("manifest*")) if p.suffix in {".json", ".yaml", ".yml", ".csv"}),
        None,
    )
    return DataSummary(
        data_yaml=str(spec.yaml_path),
        sha256=digest.hexdigest(),
        manifest_file=manifest.name if manifest else None,
        manifest_sha256=sha256_file(manifest) if manifest else None,
        content_sha256=_content_sha256(manifest),
        names=spec.names,
        images=images,
        boxes=boxes,
    )
