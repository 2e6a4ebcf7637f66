"""COCO detection JSON: `images`, `annotations` (bbox = x, y, w, h in pixels), `categories`.

Image files are looked up relative to the JSON's folder, then its `images/` folder. Two optional
per-image extension fields are read (from-cases writes them): `group`, `hard_negative`, `labelled`
(classes the image labels exhaustively) and `ruled_out` (`[{"class", "bbox"}]`: regions a reviewer
said are not that class); per annotation `origin` (human/machine), `score` and `filed_by`.
"""

from __future__ import annotations

import json
from pathlib import Path

from streetwatch.datasets.hashing import image_size
from streetwatch.datasets.importers.raw import RawBox, RawImage, RawSource
from streetwatch.datasets.progress import progress
from streetwatch.errors import InputError


def find_coco_json(root: Path) -> Path:
    if root.is_file():
        return root
    candidates = sorted(p for p in root.glob("*.json") if _looks_like_coco(p))
    if len(candidates) != 1:
        shown = ", ".join(p.name for p in candidates) or "none"
        raise InputError(f"{root}: expected exactly one COCO JSON (images/annotations/categories), found {shown}")
    return candidates[0]


def _looks_like_coco(path: Path) -> bool:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return False
    return isinstance(data, dict) and {"images", "annotations", "categories"} <= data.keys()


def read_coco(root: Path) -> RawSource:
    json_path = find_coco_json(root)
    try:
        data = json.loads(json_path.read_text(encoding="utf-8"))
        categories = {int(c["id"]): str(c["name"]) for c in data["categories"]}
        images_meta = data["images"]
        annotations = data["annotations"]
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{json_path}: not a COCO detection file ({type(exc).__name__}: {exc})") from None
    base = json_path.parent
    by_image: dict[int, list[dict[str, object]]] = {}
    for ann in annotations:
        by_image.setdefault(int(ann["image_id"]), []).append(ann)
    images: list[RawImage] = []
    orphans: list[str] = []
    known_ids = set()
    for meta in progress(images_meta, desc=f"read {json_path.name}"):
        image_id = int(meta["id"])
        known_ids.add(image_id)
        file_name = str(meta["file_name"])
        path = next((p for p in (base / file_name, base / "images" / file_name) if p.is_file()), None)
        if path is None:
            orphans.append(f"{json_path.name}: image {image_id} {file_name} (file missing)")
            continue
        size = image_size(path)
        width, height = size or (int(meta.get("width", 0)), int(meta.get("height", 0)))
        raw = RawImage(
            path=path,
            rel_stem=Path(file_name).with_suffix("").as_posix(),
            width=width,
            height=height,
            label_file=json_path,
            group=str(meta["group"]) if meta.get("group") is not None else None,
            hard_negative=bool(meta.get("hard_negative", False)),
            labelled=tuple(str(c) for c in meta.get("labelled") or ()),
        )
        for region in meta.get("ruled_out") or ():
            bbox = region.get("bbox") if isinstance(region, dict) else None
            if not isinstance(bbox, list) or len(bbox) != 4 or not isinstance(region.get("class"), str):
                raw.problems.append(f"image {image_id}: ruled_out entries must be {{class, bbox}}, got {region!r}")
                continue
            x, y, w, h = (float(v) for v in bbox)
            raw.ruled_out.append((region["class"], (x, y, x + w, y + h)))
        for ann in by_image.get(image_id, []):
            bbox = ann.get("bbox")
            if not isinstance(bbox, list) or len(bbox) != 4:
                raw.problems.append(f"annotation {ann.get('id')}: bbox must be [x, y, w, h], got {bbox!r}")
                continue
            x, y, w, h = (float(v) for v in bbox)
            cat = int(ann["category_id"])
            xyxy = (x, y, x + w, y + h)
            origin = "machine" if ann.get("origin") == "machine" else "human"
            score = ann.get("score")
            extra = {
                "origin": origin,
                "conf": float(score) if isinstance(score, (int, float)) else None,
                "filed_by": str(ann["filed_by"]) if origin == "machine" and ann.get("filed_by") else None,
            }
            if cat in categories:
                raw.boxes.append(RawBox(source_class=categories[cat], xyxy=xyxy, **extra))
            else:
                raw.boxes.append(RawBox(source_class=str(cat), xyxy=xyxy, valid=False))
        images.append(raw)
    for image_id in sorted(set(by_image) - known_ids):
        orphans.append(f"{json_path.name}: {len(by_image[image_id])} annotations for unknown image {image_id}")
    return RawSource(declared_classes=list(categories.values()), images=images, orphan_labels=orphans)
