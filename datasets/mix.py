"""`data mix`: a training mix over a built data set — which sources, how many images of each.

    OUT/train.txt, val.txt, test.txt   absolute image paths inside the built data set
    OUT/data.yaml                      ultralytics data file over those lists (names = the data set's)
    OUT/heldout.txt, heldout.yaml      every image of the left-out sources (all splits), to evaluate on
    OUT/manifest.json                  the data set's `content_sha256`, the mix settings, counts per source

A mix never moves an image between splits: it only leaves images out. Left-out sources lose their
train, val and test images (val would otherwise pick the best epoch on them); a capped source keeps
`cap` of its train images, one per scene group first (Roboflow copies of one photo come last), so a
big source cannot crowd out the garbage and vehicle scenes the model must not forget. The train
list is shuffled with the seed; ultralytics sorts it again before `--fraction` takes a prefix, so a
fraction keeps the first sources by name — cap sources here rather than use `--fraction`.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from streetwatch.datasets.export import MANIFEST_FORMAT, export_name
from streetwatch.datasets.sampling import round_robin_by_group
from streetwatch.datasets.schema import SPLITS, Item
from streetwatch.datasets.store import load
from streetwatch.errors import InputError

MIX_FORMAT = "streetwatch.training-mix"


@dataclass(frozen=True)
class MixSpec:
    exclude: tuple[str, ...] = ()
    caps: dict[str, int] = field(default_factory=dict)  # source -> max train images
    seed: int = 0


def parse_caps(values: list[str]) -> dict[str, int]:
    caps: dict[str, int] = {}
    for value in values:
        name, sep, number = value.partition("=")
        if not sep or not number.isdigit() or int(number) <= 0:
            raise InputError(f"--cap expects SOURCE=N with N > 0, got {value!r}")
        caps[name] = int(number)
    return caps


def _boxes(item: Item) -> Counter[str]:
    return Counter(b.cls for b in item.boxes if b.cls is not None)


def make_mix(data_dir: Path, out: Path, spec: MixSpec) -> dict[str, object]:
    manifest_path = data_dir / "manifest.json"
    if not manifest_path.is_file() or MANIFEST_FORMAT not in manifest_path.read_text(encoding="utf-8")[:400]:
        raise InputError(f"{data_dir}: expected a data set written by `data build`/`data export` (manifest.json)")
    built = json.loads(manifest_path.read_text(encoding="utf-8"))
    dataset = load(data_dir / "dataset")
    sources = {s.name for s in dataset.header.sources}
    unknown = sorted((set(spec.exclude) | set(spec.caps)) - sources)
    if unknown:
        raise InputError(f"unknown source(s) {', '.join(unknown)}; {data_dir} has {', '.join(sorted(sources))}")
    rng = random.Random(spec.seed)
    active = [i for i in dataset.active() if i.split is not None]
    chosen: dict[str, list[Item]] = {s: [] for s in SPLITS}
    heldout: list[Item] = []
    for source in sorted(sources):
        mine = [i for i in active if i.source == source]
        if source in spec.exclude:
            heldout += mine
            continue
        for split in SPLITS:
            in_split = [i for i in mine if i.split == split]
            if split == "train" and source in spec.caps:
                in_split = round_robin_by_group(in_split, spec.caps[source], spec.seed)
            chosen[split] += in_split
    chosen["train"].sort(key=lambda i: i.id)
    rng.shuffle(chosen["train"])
    out.mkdir(parents=True, exist_ok=True)
    root = data_dir.resolve()

    def write_list(name: str, items: list[Item]) -> Path:
        path = (out / name).resolve()
        path.write_text("".join(f"{root / 'images' / str(i.split) / export_name(i)}\n" for i in items), "utf-8")
        return path

    data: dict[str, object] = {"path": str(root)}
    for split in SPLITS:
        if chosen[split]:
            data[split] = str(write_list(f"{split}.txt", chosen[split]))
    names = yaml.safe_load((data_dir / "data.yaml").read_text(encoding="utf-8"))["names"]  # the trained classes
    data["names"] = names
    header = "# Written by `streetwatch data mix`; see manifest.json beside it.\n"
    (out / "data.yaml").write_text(header + yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    if heldout:
        held = str(write_list("heldout.txt", sorted(heldout, key=lambda i: i.id)))
        held_yaml = {"path": str(root), "val": held, "test": held, "names": names}
        (out / "heldout.yaml").write_text(header + yaml.safe_dump(held_yaml, sort_keys=False), encoding="utf-8")

    def counts(items: list[Item]) -> dict[str, object]:
        per_source = Counter(i.source for i in items)
        boxes: Counter[str] = Counter()
        for i in items:
            boxes.update(_boxes(i))
        return {"images": len(items), "by_source": dict(sorted(per_source.items())), "boxes": dict(boxes)}

    manifest: dict[str, object] = {
        "format": MIX_FORMAT,
        "version": 1,
        "data": str(root),
        # The same key as the built data set's manifest: `train` reads `content_sha256` from the manifest
        # beside data.yaml and `export` carries it into the release, for a mix as for a whole data set.
        "content_sha256": built["content_sha256"],
        "exclude": list(spec.exclude),
        "caps": spec.caps,
        "seed": spec.seed,
        "splits": {s: counts(chosen[s]) for s in SPLITS if chosen[s]},
        "heldout": counts(heldout) if heldout else None,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest
