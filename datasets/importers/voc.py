"""Pascal VOC: `Annotations/*.xml` + `JPEGImages/*` (one XML per image, same stem).

VOC pixel indices start at 1 and `xmax` is inclusive: a box (xmin, ymin, xmax, ymax) covers
pixels xmin-1 .. xmax in 0-based edges, so x1 = xmin - 1, x2 = xmax.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from streetwatch.datasets.hashing import image_size
from streetwatch.datasets.importers.raw import RawBox, RawImage, RawSource
from streetwatch.datasets.progress import progress
from streetwatch.errors import InputError
from streetwatch.files import list_images


def _parse_xml(path: Path, raw: RawImage) -> None:
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raw.problems.append(f"{path.name}: not valid XML ({exc})")
        return
    for obj in root.iter("object"):
        name = (obj.findtext("name") or "").strip()
        box = obj.find("bndbox")
        try:
            coords = [float(box.findtext(k) or "") for k in ("xmin", "ymin", "xmax", "ymax")] if box is not None else []
        except ValueError:
            coords = []
        if not name or len(coords) != 4:
            raw.problems.append(f"{path.name}: object without a name or a numeric bndbox")
            continue
        xmin, ymin, xmax, ymax = coords
        raw.boxes.append(RawBox(source_class=name, xyxy=(xmin - 1, ymin - 1, xmax, ymax)))


def read_voc(root: Path) -> RawSource:
    ann_dir, img_dir = root / "Annotations", root / "JPEGImages"
    if not ann_dir.is_dir() or not img_dir.is_dir():
        raise InputError(f"{root}: not a VOC source (expected Annotations/ and JPEGImages/)")
    images: list[RawImage] = []
    used: set[Path] = set()
    for path in progress(list_images(img_dir), desc=f"read {root.name}"):
        width, height = image_size(path) or (0, 0)
        rel = path.relative_to(img_dir).with_suffix("")
        raw = RawImage(path=path, rel_stem=rel.as_posix(), width=width, height=height)
        xml_path = ann_dir / rel.with_suffix(".xml")
        if xml_path.is_file():
            used.add(xml_path)
            raw.label_file = xml_path
            _parse_xml(xml_path, raw)
        images.append(raw)
    orphans = sorted(p.relative_to(root).as_posix() for p in ann_dir.rglob("*.xml") if p not in used)
    declared = sorted({b.source_class for image in images for b in image.boxes})
    return RawSource(declared_classes=declared, images=images, orphan_labels=orphans)
