"""Read and write a dataset folder (`dataset.json` + `items.jsonl`), atomically."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from streetwatch.datasets.schema import HEADER_FILE, ITEMS_FILE, DatasetHeader, Item
from streetwatch.errors import InputError


@dataclass
class Dataset:
    header: DatasetHeader = field(default_factory=DatasetHeader)
    items: list[Item] = field(default_factory=list)

    def active(self) -> list[Item]:
        """Items that will be exported (not excluded as duplicate or corrupt)."""
        return [item for item in self.items if item.excluded is None]

    def by_source(self, name: str) -> list[Item]:
        return [item for item in self.items if item.source == name]


def is_dataset(folder: Path) -> bool:
    return (folder / HEADER_FILE).is_file()


def load(folder: Path) -> Dataset:
    header_path = folder / HEADER_FILE
    if not header_path.is_file():
        raise InputError(f"{folder}: not a dataset folder (expected {HEADER_FILE}; create one with `data import`)")
    try:
        header = DatasetHeader.model_validate_json(header_path.read_text(encoding="utf-8"))
    except ValidationError as exc:
        raise InputError(f"{header_path}: not a valid dataset header: {exc}") from None
    items: list[Item] = []
    items_path = folder / ITEMS_FILE
    if items_path.is_file():
        with items_path.open(encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    items.append(Item.model_validate_json(line))
                except ValidationError as exc:
                    raise InputError(f"{items_path}:{lineno}: not a valid item: {exc}") from None
    return Dataset(header=header, items=items)


def load_or_new(folder: Path) -> Dataset:
    return load(folder) if is_dataset(folder) else Dataset()


def save(folder: Path, dataset: Dataset) -> None:
    """Write items then header, each through a temporary file and a rename (never half-written)."""
    folder.mkdir(parents=True, exist_ok=True)
    items = sorted(dataset.items, key=lambda item: item.id)
    _atomic_write(folder / ITEMS_FILE, "".join(item.model_dump_json() + "\n" for item in items))
    _atomic_write(folder / HEADER_FILE, dataset.header.model_dump_json(indent=2) + "\n")
    dataset.items = items


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
