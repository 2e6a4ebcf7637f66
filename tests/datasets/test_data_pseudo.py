from __future__ import annotations

from pathlib import Path

import pytest

from streetwatch.datasets.importing import SourceSpec, import_source
from streetwatch.datasets.pseudo import merge, pseudo_label
from streetwatch.datasets.schema import Box, Item
from streetwatch.datasets.store import Dataset
from streetwatch.datasets.teacher import resolve_model, taxonomy_names
from streetwatch.errors import InputError, ModelError


def _item(labelled: list[str], boxes: list[Box]) -> Item:
    return Item(
        id="s/a",
        source="s",
        image="/x.jpg",
        sha256="0" * 64,
        width=100,
        height=100,
        group="g",
        labelled=labelled,
        boxes=boxes,
    )


HUMAN_CAR = Box(cls="car", xyxy=(10, 10, 50, 50), source_class="auto")
STALE_MACHINE = Box(cls="person", xyxy=(0, 0, 5, 5), source_class="person", origin="machine", conf=0.9)


@pytest.mark.parametrize(
    ("labelled", "detection", "kept"),
    [
        ([], ("car", 0.9, 12, 12, 50, 50), False),  # overlaps the human car: the human box stands
        ([], ("car", 0.9, 60, 60, 90, 90), True),  # another car: filled
        (["car"], ("car", 0.9, 60, 60, 90, 90), False),  # source labels cars exhaustively: never filled
        ([], ("person", 0.9, 12, 12, 50, 50), True),  # other class may overlap
        ([], ("person", 0.35, 60, 60, 90, 90), False),  # not above the threshold (strict, as ultralytics)
        ([], ("bus", 0.9, 60, 60, 90, 90), False),  # not a class asked for
    ],
)
def test_merge_rules(labelled: list[str], detection, kept: bool) -> None:
    item = _item(labelled, [HUMAN_CAR, STALE_MACHINE])
    fill = {"car", "person"} - set(labelled)
    boxes = merge(item, [detection], fill, conf=0.35, iou_merge=0.5)
    assert boxes[0] == HUMAN_CAR  # human labels untouched, earlier machine boxes replaced
    machine = boxes[1:]
    assert len(machine) == int(kept)
    if kept:
        assert machine[0].origin == "machine" and machine[0].conf == 0.9 and machine[0].cls == detection[0]


def test_teacher_names() -> None:
    names = ("person", "bicycle", "dining table", "Dining_Table", "toaster")
    assert taxonomy_names(names) == {0: "person", 1: "bicycle", 2: "dining_table", 3: "dining_table"}


def test_resolve_model_errors(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="teacher model not found"):
        resolve_model(tmp_path / "missing.onnx")
    with pytest.raises(ModelError, match=r"neither an \.onnx file nor a release"):
        resolve_model("no-such-release")


@pytest.fixture()
def real_dataset(real_sources: Path, mappings_dir: Path) -> Dataset:
    dataset = Dataset()
    for name in ("garbage-cn", "fire-smoke"):
        import_source(dataset, SourceSpec(name, real_sources / name, mappings_dir / f"{name}.yaml"))
    dataset.items[0].hard_negative = True
    return dataset


def test_pseudo_label_with_real_model(real_dataset: Dataset, tiny_onnx: Path, tmp_path: Path) -> None:
    human_before = {i.id: [b for b in i.boxes] for i in real_dataset.items}
    cache = tmp_path / "cache"
    # The tiny model is barely trained: a very low threshold makes sure it proposes boxes.
    result = pseudo_label(real_dataset, tiny_onnx, conf=0.001, cache_dir=cache)
    assert result.teacher_runs == len(real_dataset.items) - 1  # the hard negative is skipped
    assert result.machine_boxes > 0
    record = real_dataset.header.pseudo_label
    assert record is not None and record.classes == ["car", "garbage", "fire"] and record.conf == 0.001
    for item in real_dataset.items:
        assert [b for b in item.boxes if b.origin == "human"] == human_before[item.id]
        for box in item.machine_boxes:
            assert box.cls not in item.labelled and box.conf is not None and box.conf > 0.001
        assert item.pseudo is not None
    assert real_dataset.items[0].machine_boxes == []
    # garbage-cn labels garbage itself: the teacher may add cars and fire there, never garbage.
    assert not any(b.cls == "garbage" for i in real_dataset.by_source("garbage-cn") for b in i.machine_boxes)

    snapshot = [i.model_dump() for i in real_dataset.items]
    again = pseudo_label(real_dataset, tiny_onnx, conf=0.001, cache_dir=cache)
    assert again.teacher_runs == 0 and [i.model_dump() for i in real_dataset.items] == snapshot

    # A higher threshold is served from the cache and keeps a subset of the boxes.
    stricter = pseudo_label(real_dataset, tiny_onnx, conf=0.2, classes=["car"], cache_dir=cache)
    assert stricter.teacher_runs == 0
    assert all(b.cls == "car" and b.conf > 0.2 for i in real_dataset.items for b in i.machine_boxes)


def test_pseudo_label_refuses_useless_teacher(real_dataset: Dataset, tiny_onnx: Path) -> None:
    with pytest.raises(InputError, match="knows none of the requested classes"):
        pseudo_label(real_dataset, tiny_onnx, classes=["umbrella"])
    with pytest.raises(InputError, match="unknown: lorry"):
        pseudo_label(real_dataset, tiny_onnx, classes=["lorry"])
    with pytest.raises(InputError, match=r"threshold must be in \(0, 1\)"):
        pseudo_label(real_dataset, tiny_onnx, conf=0)
