"""`data hard-negatives`: fire-free images on which a model raises fire or smoke, as a new source.

Candidates are images known to hold no fire and no smoke:
- from a built data set (`data build` output): every image, exported or sampled out, whose source
  labels fire and smoke (`Item.labelled`) and which has no fire/smoke box — garbage-cn, the fire
  source's non-fire frames, the empty-label photos of the fire-extra sources;
- from a case export (`cases export`): rejected open_burning cases, and cases whose boxes a reviewer
  edited leaving no fire/smoke box — the false alarms inspectors turned down.

The model runs over them (at its release thresholds, as on the edge, unless `conf` is given) and
every image where it raises fire or smoke is copied into OUT as a YOLO source with an empty label
file: `data import`/a recipe with `datasets/mappings/hard-negatives.yaml` (labels fire and smoke,
so teachers fill people and vehicles as usual, never fire or smoke). OUT/hard_negatives.json
records what was scanned and found.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from streetwatch.datasets.progress import progress
from streetwatch.errors import InputError

WATCHED = ("fire", "smoke")
REPORT_FILE = "hard_negatives.json"


@dataclass(frozen=True)
class Candidate:
    name: str  # file stem in OUT
    image: Path
    origin: str  # "<source>" or "case:<violation>:<status>"


@dataclass
class HardNegativeReport:
    model: str
    model_sha256: str
    thresholds: dict[str, float]
    scanned: int = 0
    found: int = 0
    by_origin: dict[str, dict[str, int]] = field(default_factory=dict)  # origin -> {scanned, found}
    by_class: dict[str, int] = field(default_factory=dict)  # images with >= 1 box of the class
    files: list[str] = field(default_factory=list)


def dataset_candidates(data_dir: Path, exclude_sources: tuple[str, ...] = ()) -> list[Candidate]:
    """`exclude_sources`: sources held out of training (leave-one-source-out) — none of their images,
    sampled out or not, may come back into training as a hard negative."""
    from streetwatch.datasets.store import is_dataset, load

    folder = data_dir / "dataset" if is_dataset(data_dir / "dataset") else data_dir
    if not is_dataset(folder):
        raise InputError(f"{data_dir}: expected a `data build` folder (dataset/items.jsonl) or a dataset folder")
    dataset = load(folder)
    unknown = sorted(set(exclude_sources) - {s.name for s in dataset.header.sources})
    if unknown:
        known = ", ".join(sorted(s.name for s in dataset.header.sources))
        raise InputError(f"--exclude-source: unknown source(s) {', '.join(unknown)}; {data_dir} has {known}")
    out = []
    for item in dataset.items:
        if item.source in exclude_sources:
            continue
        broken = item.excluded is not None and not item.excluded.startswith(("sampled out", "duplicate"))
        if broken or not set(WATCHED) <= set(item.labelled):
            continue  # unreadable, or a source that does not say whether fire is there
        if any(b.cls in WATCHED for b in item.boxes):
            continue
        out.append(Candidate(item.id.replace("/", "__"), Path(item.image), item.source))
    return out


def case_candidates(export_dir: Path) -> list[Candidate]:
    from streetwatch.datasets.case_export import CASES_FILE, ExportedCase
    from streetwatch.models.taxonomy import ViolationType

    path = export_dir / CASES_FILE
    if not path.is_file():
        raise InputError(f"{export_dir}: expected a case export folder with {CASES_FILE}")
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            case = ExportedCase.model_validate_json(line)
        except ValueError as exc:
            raise InputError(f"{path}:{n}: not a case record ({str(exc).splitlines()[0]})") from None
        rejected_fire = case.status == "rejected" and case.violation_type == ViolationType.OPEN_BURNING
        edited_clear = case.boxes_edited and not any(b.class_name in WATCHED for b in case.boxes)
        if rejected_fire or edited_clear:
            origin = f"case:{case.violation_type.value}:{case.status}"
            out.append(Candidate(f"case-{case.case_id}", export_dir / case.image, origin))
    return out


def find_hard_negatives(
    candidates: list[Candidate],
    model: Path,
    out: Path,
    *,
    conf: float | None = None,
    threads: int | None = None,
) -> HardNegativeReport:
    import cv2

    from streetwatch.inference.detector import Detector

    if out.exists() and any(out.iterdir()) and not (out / REPORT_FILE).is_file():
        raise InputError(f"{out}: exists and was not written by `data hard-negatives`; choose another --out")
    # conf None: the release's own thresholds where it has them (what the edge would file), else 0.25.
    detector = Detector(model, conf=0.25 if conf is None else conf, threads=threads, release_thresholds=conf is None)
    watched = [c for c in WATCHED if c in detector.names]
    if not watched:
        raise InputError(f"{model.name} detects neither fire nor smoke; its classes: {', '.join(detector.names)}")
    ids = {detector.names.index(c): c for c in watched}
    thresholds = {c: float(detector.info.thresholds.get(c, detector.conf)) if conf is None else conf for c in watched}
    report = HardNegativeReport(model=model.name, model_sha256=detector.info.sha256, thresholds=thresholds)
    for folder in ("images", "labels"):
        shutil.rmtree(out / folder, ignore_errors=True)
        (out / folder).mkdir(parents=True)
    by_class: Counter[str] = Counter()
    for cand in progress(candidates, desc="hard negatives"):
        frame = cv2.imread(str(cand.image), cv2.IMREAD_COLOR)
        stats = report.by_origin.setdefault(cand.origin, {"scanned": 0, "found": 0})
        if frame is None:
            continue
        report.scanned += 1
        stats["scanned"] += 1
        hit = {ids[int(c)] for c in detector.detect(frame).class_id if int(c) in ids}
        if not hit:
            continue
        report.found += 1
        stats["found"] += 1
        by_class.update(hit)
        target = out / "images" / f"{cand.name}{cand.image.suffix.lower() or '.jpg'}"
        shutil.copyfile(cand.image, target)
        (out / "labels" / f"{cand.name}.txt").write_text("", encoding="utf-8")  # no fire, no smoke
        report.files.append(target.name)
    report.by_class = dict(by_class)
    (out / "data.yaml").write_text(
        "# Written by `streetwatch data hard-negatives`: fire-free images a model raised fire/smoke on.\n"
        "names:\n  0: fire\n  1: smoke\n",
        encoding="utf-8",
    )
    (out / REPORT_FILE).write_text(json.dumps(asdict(report), indent=2) + "\n", encoding="utf-8")
    return report
