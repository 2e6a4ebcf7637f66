from __future__ import annotations

from pathlib import Path

import pytest
from dataset_builders import coco_source, voc_source, yolo_source

from streetwatch.datasets.importing import GroupRule, SourceSpec, detect_format, import_source
from streetwatch.datasets.store import Dataset, load, save
from streetwatch.errors import InputError


def test_yolo_boxes_polygons_problems_and_orphans(tmp_path: Path, write_mapping) -> None:
    root = yolo_source(
        tmp_path / "src",
        {
            "a": "0 0.5 0.5 0.25 0.5\n1 0.1 0.1 0.3 0.1 0.3 0.3 0.1 0.3\n",  # box + polygon
            "b": "7 0.5 0.5 0.1 0.1\nnot a line\n0 0.5 0.5\n",  # id out of range, two bad lines
            "c": None,  # image without a label file
            "d": "",  # empty label file: a negative
        },
        names=["trash", "bin"],
        extra_labels={"ghost": "0 0.5 0.5 0.1 0.1\n"},
    )
    dataset = Dataset()
    record = import_source(dataset, SourceSpec("src", root, write_mapping({"trash": "garbage", "bin": "garbage_bin"})))
    items = {i.id: i for i in dataset.items}
    assert record.format == "yolo" and record.images == 4
    assert record.orphan_labels == ["labels/ghost.txt"]
    a = items["src/a"]
    assert [b.cls for b in a.boxes] == ["garbage", "garbage_bin"]
    assert a.boxes[0].xyxy == pytest.approx((24.0, 12.0, 40.0, 36.0))  # 64x48 image
    assert a.boxes[1].xyxy == pytest.approx((6.4, 4.8, 19.2, 14.4))
    assert a.labelled == ["garbage", "garbage_bin"] and a.boxes[0].origin == "human"
    b = items["src/b"]
    assert [(x.cls, x.source_class) for x in b.boxes] == [(None, "7")]
    assert len(b.problems) == 2 and "not numeric" in b.problems[0]
    assert items["src/c"].label_file is None and items["src/d"].boxes == []
    assert all(len(i.sha256) == 64 and i.width == 64 and i.height == 48 for i in items.values())


def test_yolo_names_as_list(tmp_path: Path, write_mapping) -> None:
    root = yolo_source(tmp_path / "src", {"a": "1 0.5 0.5 0.2 0.2\n"}, names=["x", "y"])
    (root / "data.yaml").write_text("names: [x, y]\n")
    dataset = Dataset()
    import_source(dataset, SourceSpec("s", root, write_mapping({"x": "car", "y": "bus"})))
    assert dataset.items[0].boxes[0].cls == "bus"


def test_coco_import(tmp_path: Path, write_mapping) -> None:
    root = coco_source(tmp_path / "coco")
    dataset = Dataset()
    record = import_source(dataset, SourceSpec("c", root, write_mapping({"car": "car", "litter": "garbage"})))
    items = {i.id: i for i in dataset.items}
    assert record.format == "coco"
    im0 = items["c/im0"]
    assert [(b.cls, b.xyxy) for b in im0.boxes] == [("car", (10, 5, 30, 15)), ("garbage", (0, 0, 8, 8))]
    assert im0.group == "c:cam-1"
    assert items["c/im1"].hard_negative and items["c/im1"].labelled == [] and items["c/im1"].boxes == []
    assert [(b.cls, b.source_class) for b in items["c/im2"].boxes] == [(None, "99")]
    assert record.orphan_labels == ["instances.json: 1 annotations for unknown image 42"]


def test_voc_import(tmp_path: Path, write_mapping) -> None:
    root = voc_source(tmp_path / "voc")
    dataset = Dataset()
    record = import_source(dataset, SourceSpec("v", root, write_mapping({"trash": "garbage", "bin": "garbage_bin"})))
    items = {i.id: i for i in dataset.items}
    assert record.format == "voc"
    # VOC is 1-based with inclusive max: xmin=1..xmax=10 covers pixel edges 0..10.
    assert [(b.cls, b.xyxy) for b in items["v/a"].boxes] == [
        ("garbage", (0, 0, 10, 20)),
        ("garbage_bin", (29, 9, 64, 48)),
    ]
    assert items["v/b"].label_file is None
    assert record.orphan_labels == ["Annotations/orphan.xml"]


@pytest.mark.parametrize(
    ("builder", "classes", "missing"),
    [
        (lambda p: yolo_source(p, {"a": ""}, names=["trash", "bin"]), {"trash": "garbage"}, "bin"),
        (coco_source, {"car": "car"}, "litter"),
        (voc_source, {"bin": "garbage_bin"}, "trash"),
    ],
)
def test_unknown_classes_are_an_error(tmp_path: Path, write_mapping, builder, classes, missing: str) -> None:
    root = builder(tmp_path / "src")
    with pytest.raises(InputError, match=rf"source classes not in mapping .*: {missing} \(map each"):
        import_source(Dataset(), SourceSpec("s", root, write_mapping(classes)))


def test_detect_format_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot tell the format"):
        detect_format(tmp_path)


def test_real_sources_negatives_groups_and_reimport(real_sources: Path, mappings_dir: Path, tmp_path: Path) -> None:
    rules = (GroupRule(r"^(?P<group>.+?_mp4)-\d+_"), GroupRule(r"^(?P<group>img)_(?P<index>\d+)", max_gap=5))
    spec = SourceSpec("fire-smoke", real_sources / "fire-smoke", mappings_dir / "fire-smoke.yaml", groups=rules)
    dataset = Dataset()
    import_source(dataset, spec)
    import_source(dataset, SourceSpec("garbage-cn", real_sources / "garbage-cn", mappings_dir / "garbage-cn.yaml"))
    items = {i.id.split("_jpg")[0]: i for i in dataset.items}
    assert items["fire-smoke/img_1002"].negative and items["fire-smoke/img_1002"].boxes == []
    assert items["fire-smoke/img_1002"].group == items["fire-smoke/img_1003"].group == "fire-smoke:img@1002"
    assert items["fire-smoke/test2_mp4-16"].group == items["fire-smoke/test2_mp4-17"].group == "fire-smoke:test2_mp4"
    assert {b.cls for b in items["fire-smoke/fire1_mp4-26"].boxes} == {"fire"}
    assert items["garbage-cn/000003"].boxes[0].cls == "garbage"
    save(tmp_path / "ds", dataset)
    before = (tmp_path / "ds" / "items.jsonl").read_text()
    again = load(tmp_path / "ds")
    import_source(again, spec)  # re-import replaces the source's items: same content
    save(tmp_path / "ds", again)
    assert (tmp_path / "ds" / "items.jsonl").read_text() == before
    assert [s.name for s in again.header.sources] == ["garbage-cn", "fire-smoke"]


def test_group_rule_errors(tmp_path: Path, write_mapping) -> None:
    root = yolo_source(tmp_path / "src", {"a": ""}, names=["x"])
    for rule, message in [
        (GroupRule("(unclosed"), "not a valid regex"),
        (GroupRule("^(?P<scene>a)"), r"must have a named group \(\?P<group>"),
        (GroupRule("^(?P<group>a)", max_gap=3), r"has max_gap but no named group \(\?P<index>"),
    ]:
        with pytest.raises(InputError, match=message):
            import_source(Dataset(), SourceSpec("s", root, write_mapping({"x": "car"}), groups=(rule,)))
