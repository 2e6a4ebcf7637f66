"""`streetwatch cases export`: reviewed cases as a dataset source (format: streetwatch.datasets.case_export).

A case counts as accepted when a reviewer accepted it, whatever happened to it afterwards
(dispatched, resolved, closed all passed review). Rejected cases go with their reason code: what
they teach depends on it (`data from-cases`). Cases filed by people through Open311 carry no
frames and are not exported.

`public=True` (an export marked public, to publish or hand to a third party): each case's image is
the public copy of its clean frame (people and other vehicles' plates hidden by the edge box), never
an original, and reviewer names are left out; a case without a public copy is left out and counted.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from streetwatch.cases.db import session_scope
from streetwatch.cases.evidence import EvidenceStore
from streetwatch.cases.lifecycle import ACCEPTED_STATUSES, CaseStatus
from streetwatch.cases.models import Case, utcnow
from streetwatch.contract import DetectionRecord, ModelRef
from streetwatch.datasets.case_export import (
    CASES_FILE,
    IMAGES_DIR,
    MANIFEST_FILE,
    CaseExportManifest,
    ExportedCase,
)
from streetwatch.errors import InputError
from streetwatch.verdicts import ReviewedBox, machine_boxes

log = logging.getLogger(__name__)
EXPORTABLE = ("accepted", "rejected")
# Training needs the frame without drawings: the clean confirmation frame, else the clean first one.
FRAME_ROLES = ("confirmation_clean", "first_seen_clean")


@dataclass(frozen=True)
class ExportSummary:
    manifest: CaseExportManifest
    skipped_without_clean_frame: int  # public exports: also those without a public copy of it


def parse_statuses(text: str) -> list[str]:
    statuses = [s.strip() for s in text.split(",") if s.strip()]
    bad = [s for s in statuses if s not in EXPORTABLE]
    if not statuses or bad:
        raise InputError(f"--status takes accepted and/or rejected (comma-separated); got {text!r}")
    return sorted(set(statuses))


def export_cases(
    factory: sessionmaker[Session],
    store: EvidenceStore,
    out: Path,
    statuses: list[str],
    since: datetime | None,
    public: bool = False,
) -> ExportSummary:
    if since is not None and since.tzinfo is None:
        raise InputError(f"--since needs a time zone (e.g. 2026-01-01T00:00:00Z); got {since.isoformat()}")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InputError(f"export folder {out} exists and is not empty; give a new folder")
    (out / IMAGES_DIR).mkdir(parents=True, exist_ok=True)
    wanted = [s.value for s in ACCEPTED_STATUSES] if "accepted" in statuses else []
    if "rejected" in statuses:
        wanted.append(CaseStatus.REJECTED.value)
    query = select(Case).where(Case.source == "edge", Case.status.in_(wanted), Case.reviewed_at.is_not(None))
    if since is not None:
        query = query.where(Case.reviewed_at >= since)
    count = skipped = 0
    with session_scope(factory) as session, (out / CASES_FILE).open("w", encoding="utf-8") as lines:
        for case in session.scalars(query.order_by(Case.id).execution_options(yield_per=200)):
            record = _exported(case, store, out, public)
            if record is None:
                skipped += 1
                continue
            lines.write(record.model_dump_json(by_alias=True) + "\n")
            count += 1
    if skipped:
        what = "a public copy of a clean frame" if public else "a clean frame"
        log.warning("%d reviewed cases have no %s and were left out", skipped, what)
    manifest = CaseExportManifest(exported_at=utcnow(), statuses=statuses, since=since, count=count, public=public)
    # The manifest is written last: a folder without one is an interrupted export.
    (out / MANIFEST_FILE).write_text(manifest.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return ExportSummary(manifest, skipped)


def _exported(case: Case, store: EvidenceStore, out: Path, public: bool) -> ExportedCase | None:
    frames = (e for role in FRAME_ROLES for e in case.evidence if e.role == role)
    frame = next((e for e in frames if e.public_sha256 is not None or not public), None)
    if frame is None or case.model_name is None or case.model_version is None or case.model_sha256 is None:
        return None
    digest = frame.public_sha256 if public and frame.public_sha256 else frame.sha256
    source = store.path(digest)
    if not source.is_file():
        log.warning("case %d: evidence %s missing from the store", case.id, digest)
        return None
    image = f"{IMAGES_DIR}/{digest}.jpg"
    target = out / image
    if not target.exists():
        shutil.copyfile(source, target)
    detections = [DetectionRecord.model_validate(d) for d in case.detections]
    edited = case.reviewed_boxes is not None
    boxes = [ReviewedBox.model_validate(b) for b in case.reviewed_boxes or []] if edited else machine_boxes(detections)
    accepted = case.status != CaseStatus.REJECTED.value
    return ExportedCase(
        case_id=str(case.id),
        event_id=case.event_id,
        status="accepted" if accepted else "rejected",
        violation_type=case.violation_type,
        reviewed_violation_type=case.reviewed_violation_type,
        event_code=case.standard_code,
        reject_reason=case.reject_reason,
        reject_code=case.reject_code if not accepted else None,
        reviewer=None if public else case.reviewer,
        reviewed_at=case.reviewed_at,
        camera_id=case.camera_id or "",
        image=image,
        image_sha256=digest,
        width=frame.width,
        height=frame.height,
        detections=detections,
        boxes=boxes,
        boxes_edited=edited,
        boxes_by=None if public else case.boxes_by,
        boxes_at=case.boxes_at,
        model=ModelRef(name=case.model_name, version=case.model_version, sha256=case.model_sha256),
    )
