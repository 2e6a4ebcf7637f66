from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from dataset_builders import yolo_source

from streetwatch.datasets.check import apply_fixes, run_checks
from streetwatch.datasets.importing import SourceSpec, import_source
from streetwatch.datasets.schema import Box, Item
from streetwatch.datasets.store import Dataset

CLEAN = "0 0.5 0.5 0.25 0.5\n"


def _dataset(tmp_path: Path, write_mapping, labels: dict[str, str | None], **kw) -> Dataset:
    root = yolo_source(tmp_path / "src", labels, names=["trash", "fire"], **kw)
    dataset = Dataset()
    import_source(dataset, SourceSpec("s", root, write_mapping({"trash": "garbage", "fire": "fire"})))
    return dataset


def _truncate(item: Item) -> None:
    data = Path(item.image).read_bytes()
    Path(item.image).write_bytes(data[: len(data) // 2])


def _garbage_bytes(item: Item) -> None:
    Path(item.image).write_bytes(b"this is not an image")


def _overwrite(item: Item) -> None:
    from dataset_builders import write_image

    write_image(Path(item.image), seed=99)


def _negative_with_box(item: Item) -> None:
    item.negative = True


# (label text, mutation of the imported item, expected check, severity, fix result)
CASES: list[tuple[str, Callable[[Item], None] | None, str, str, str]] = [
    ("0 0.9 0.5 0.4 0.2\n", None, "box_out_of_range", "warning", "clipped"),
    ("0 0.5 0.5 0.0 0.2\n", None, "zero_area_box", "warning", "dropped"),
    (CLEAN + CLEAN, None, "duplicate_box", "warning", "dropped"),
    ("5 0.5 0.5 0.2 0.2\n", None, "class_out_of_range", "error", "excluded"),
    ("0 0.5 0.5 0.2\n", None, "unreadable_label", "error", "excluded"),
    (CLEAN, _truncate, "corrupt_image", "error", "excluded"),
    (CLEAN, _garbage_bytes, "corrupt_image", "error", "excluded"),
    (CLEAN, _overwrite, "image_changed", "error", "kept"),
    (CLEAN, _negative_with_box, "negative_with_boxes", "warning", "kept"),
]


@pytest.mark.parametrize(("label", "mutate", "check", "severity", "fix"), CASES)
def test_each_check_and_its_fix(tmp_path: Path, write_mapping, label, mutate, check, severity, fix) -> None:
    dataset = _dataset(tmp_path, write_mapping, {"ok": CLEAN, "bad": label})
    bad = next(i for i in dataset.items if i.id == "s/bad")
    if mutate:
        mutate(bad)
    report = run_checks(dataset)
    assert [(i.check, i.severity, i.where) for i in report.issues] == [(check, severity, "s/bad")]
    apply_fixes(dataset, report)
    if fix == "excluded":
        assert bad.excluded is not None and bad.excluded.startswith(check)
    elif fix == "dropped":
        assert bad.excluded is None and len(bad.boxes) == (1 if check == "duplicate_box" else 0)
    elif fix == "clipped":
        assert bad.boxes[0].xyxy == pytest.approx((44.8, 19.2, 64.0, 28.8))
    else:
        assert bad.excluded is None
    # After the fix nothing fixable is left, and the clean image was never touched.
    assert not [i for i in run_checks(dataset).issues if i.fixable]
    assert next(i for i in dataset.items if i.id == "s/ok").boxes[0].xyxy == pytest.approx((24, 12, 40, 36))


def test_label_and_image_orphans(tmp_path: Path, write_mapping) -> None:
    dataset = _dataset(tmp_path, write_mapping, {"ok": CLEAN, "nolabel": None}, extra_labels={"ghost": CLEAN})
    report = run_checks(dataset)
    found = sorted((i.check, i.where, i.fixable) for i in report.issues)
    assert found == [("image_without_label", "s/nolabel", False), ("label_without_image", "s", False)]
    assert apply_fixes(dataset, report) == 0


def test_machine_duplicates_of_other_classes_are_not_duplicates(tmp_path: Path, write_mapping) -> None:
    dataset = _dataset(tmp_path, write_mapping, {"ok": CLEAN})
    item = dataset.items[0]
    item.boxes.append(Box(cls="car", xyxy=item.boxes[0].xyxy, source_class="car", origin="machine", conf=0.9))
    assert run_checks(dataset).issues == []


def test_report_markdown(tmp_path: Path, write_mapping) -> None:
    dataset = _dataset(tmp_path, write_mapping, {"a": CLEAN + CLEAN, "b": "0 0.5 0.5 0.0 0.2\n"})
    text = run_checks(dataset).to_markdown()
    assert "| duplicate_box | warning | 1 | yes |" in text and "| zero_area_box | warning | 1 | yes |" in text
    assert "No issues found." in run_checks(Dataset()).to_markdown()
