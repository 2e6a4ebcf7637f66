"""YOLO sources: `data.yaml` (names) + `images/**` + `labels/**` (one txt per image, same path).

Label lines are `cls cx cy w h` normalised to [0, 1]; a longer odd-length line is a polygon
(`cls x1 y1 x2 y2 ...`), turned into its bounding box as ultralytics does.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from streetwatch.datasets.hashing import image_size
from streetwatch.datasets.importers.raw import RawBox, RawImage, RawSource
from streetwatch.datasets.progress import progress
from streetwatch.errors import InputError
from streetwatch.files import list_images


def read_names(data_yaml: Path) -> list[str]:
    try:
        data = yaml.safe_load(data_yaml.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise InputError(f"{data_yaml}: not valid YAML ({exc})") from None
    names = data.get("names") if isinstance(data, dict) else None
    if isinstance(names, list):
        return [str(n) for n in names]
    if isinstance(names, dict) and all(isinstance(k, int) for k in names):
        if sorted(names) != list(range(len(names))):
            raise InputError(f"{data_yaml}: names ids must be 0..{len(names) - 1}, got {sorted(names)}")
        return [str(names[i]) for i in range(len(names))]
    raise InputError(f"{data_yaml}: expected `names:` as a list or an id -> name map, got {names!r}")


def label_path_for(image: Path) -> Path:
    """ultralytics' rule: the last `images` folder in the path becomes `labels`, suffix `.txt`."""
    parts = list(image.parts)
    idx = len(parts) - 1 - parts[::-1].index("images")
    parts[idx] = "labels"
    return Path(*parts).with_suffix(".txt")


def parse_line(line: str, names: list[str], width: int, height: int) -> RawBox | str:
    """One label line -> a box in pixels, or a problem description."""
    fields = line.split()
    try:
        values = [float(v) for v in fields[1:]]
        cls_id = int(fields[0])
    except (ValueError, IndexError):
        return f"not numeric: {line.strip()!r}"
    if len(values) == 4:
        cx, cy, w, h = values
        x1, y1, x2, y2 = cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2
    elif len(values) >= 6 and len(values) % 2 == 0:
        xs, ys = values[0::2], values[1::2]
        x1, y1, x2, y2 = min(xs), min(ys), max(xs), max(ys)
    else:
        return f"expected 5 fields (cls cx cy w h) or a polygon, got {len(fields)}: {line.strip()!r}"
    xyxy = (x1 * width, y1 * height, x2 * width, y2 * height)
    if 0 <= cls_id < len(names):
        return RawBox(source_class=names[cls_id], xyxy=xyxy)
    return RawBox(source_class=str(cls_id), xyxy=xyxy, valid=False)


def read_yolo(root: Path) -> RawSource:
    data_yaml = root / "data.yaml"
    if not data_yaml.is_file():
        raise InputError(f"{root}: not a YOLO source (expected data.yaml with `names:`)")
    names = read_names(data_yaml)
    images_dir = root / "images"
    if not images_dir.is_dir():
        raise InputError(f"{root}: not a YOLO source (expected an images/ folder beside data.yaml)")
    images: list[RawImage] = []
    seen_labels: set[Path] = set()
    for path in progress(list_images(images_dir), desc=f"read {root.name}"):
        size = image_size(path)
        width, height = size or (0, 0)
        label = label_path_for(path)
        raw = RawImage(
            path=path, rel_stem=path.relative_to(images_dir).with_suffix("").as_posix(), width=width, height=height
        )
        if label.is_file():
            seen_labels.add(label)
            raw.label_file = label
            for line in label.read_text(encoding="utf-8").splitlines():
                if not line.strip():
                    continue
                parsed = parse_line(line, names, width, height)
                if isinstance(parsed, str):
                    raw.problems.append(f"{label.name}: {parsed}")
                else:
                    raw.boxes.append(parsed)
        images.append(raw)
    labels_dir = root / "labels"
    orphans = []
    if labels_dir.is_dir():
        orphans = sorted(
            p.relative_to(root).as_posix()
            for p in labels_dir.rglob("*.txt")
            if p not in seen_labels and p.name != "classes.txt"
        )
    return RawSource(declared_classes=names, images=images, orphan_labels=orphans)
