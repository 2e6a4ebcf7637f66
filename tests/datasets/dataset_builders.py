"""Generated sources in each supported format, with real (small, random-texture) JPEGs."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np


def write_image(path: Path, width: int = 64, height: int = 48, seed: int = 0) -> Path:
    """A distinct JPEG per seed: random blocks, so perceptual hashes differ between seeds."""
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
    image = cv2.resize(blocks, (width, height), interpolation=cv2.INTER_NEAREST)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), image)
    return path


def yolo_source(
    root: Path, labels: dict[str, str | None], names: list[str], extra_labels: dict[str, str] | None = None
) -> Path:
    """images/<stem>.jpg + labels/<stem>.txt (text as given; None-valued stems get no label file)."""
    (root / "labels").mkdir(parents=True, exist_ok=True)
    for k, (stem, text) in enumerate(labels.items()):
        write_image(root / "images" / f"{stem}.jpg", seed=k + 1)
        if text is not None:
            (root / "labels" / f"{stem}.txt").write_text(text, encoding="utf-8")
    for stem, text in (extra_labels or {}).items():
        (root / "labels" / f"{stem}.txt").write_text(text, encoding="utf-8")
    (root / "data.yaml").write_text(
        "names:\n" + "".join(f"  {i}: {n}\n" for i, n in enumerate(names)), encoding="utf-8"
    )
    return root


def coco_source(root: Path) -> Path:
    """Three images: one with two boxes, one negative (no annotations), one with an unknown category."""
    for k in range(3):
        write_image(root / "images" / f"im{k}.jpg", seed=10 + k)
    coco = {
        "images": [
            {"id": 1, "file_name": "im0.jpg", "width": 64, "height": 48, "group": "cam-1"},
            {"id": 2, "file_name": "im1.jpg", "width": 64, "height": 48, "hard_negative": True},
            {"id": 3, "file_name": "im2.jpg", "width": 64, "height": 48},
        ],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 3, "bbox": [10, 5, 20, 10]},
            {"id": 2, "image_id": 1, "category_id": 7, "bbox": [0, 0, 8, 8]},
            {"id": 3, "image_id": 3, "category_id": 99, "bbox": [1, 1, 5, 5]},
            {"id": 4, "image_id": 42, "category_id": 3, "bbox": [1, 1, 5, 5]},
        ],
        "categories": [{"id": 3, "name": "car"}, {"id": 7, "name": "litter"}],
    }
    (root / "instances.json").write_text(json.dumps(coco), encoding="utf-8")
    return root


VOC_XML = """<annotation><filename>{name}.jpg</filename><size><width>64</width><height>48</height></size>
{objects}</annotation>"""
VOC_OBJECT = (
    "<object><name>{cls}</name>"
    "<bndbox><xmin>{x1}</xmin><ymin>{y1}</ymin><xmax>{x2}</xmax><ymax>{y2}</ymax></bndbox></object>"
)


def voc_source(root: Path) -> Path:
    write_image(root / "JPEGImages" / "a.jpg", seed=20)
    write_image(root / "JPEGImages" / "b.jpg", seed=21)  # no XML: an image without labels
    (root / "Annotations").mkdir(parents=True, exist_ok=True)
    objects = VOC_OBJECT.format(cls="trash", x1=1, y1=1, x2=10, y2=20) + VOC_OBJECT.format(
        cls="bin", x1=30, y1=10, x2=64, y2=48
    )
    (root / "Annotations" / "a.xml").write_text(VOC_XML.format(name="a", objects=objects), encoding="utf-8")
    (root / "Annotations" / "orphan.xml").write_text(VOC_XML.format(name="orphan", objects=""), encoding="utf-8")
    return root
