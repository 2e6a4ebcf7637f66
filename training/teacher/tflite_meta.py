"""The metadata ultralytics appends to its TFLite exports: a zip holding `metadata.json` after the flatbuffer."""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

from streetwatch.errors import ModelError


@dataclass(frozen=True)
class ExportMetadata:
    names: tuple[str, ...]  # class names in index order, as the source spelled them
    imgsz: tuple[int, int]
    stride: int
    task: str
    version: str  # ultralytics version that exported the file
    date: str
    description: str
    license: str


def read_export_metadata(path: Path) -> ExportMetadata:
    try:
        with zipfile.ZipFile(path) as archive:
            raw = json.loads(archive.read("metadata.json"))
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError) as exc:
        raise ModelError(
            f"{path}: no ultralytics metadata.json appended to the TFLite file ({exc}); "
            "expected a model exported by ultralytics"
        ) from None
    try:
        names_map = {int(k): str(v) for k, v in raw["names"].items()}
        names = tuple(names_map[i] for i in range(len(names_map)))
        imgsz = tuple(int(v) for v in raw["imgsz"])
        return ExportMetadata(
            names=names,
            imgsz=(imgsz[0], imgsz[1]),
            stride=int(raw["stride"]),
            task=str(raw["task"]),
            version=str(raw.get("version", "unknown")),
            date=str(raw.get("date", "unknown")),
            description=str(raw.get("description", "")),
            license=str(raw.get("license", "")),
        )
    except (KeyError, ValueError, TypeError, IndexError) as exc:
        raise ModelError(f"{path}: ultralytics metadata.json lacks names/imgsz/stride/task ({exc!r})") from None
