"""Sweeping the evidence store: temp files left by interrupted writes, and images no case references.

A filing stores its images before its case row is committed (the row must never name a missing file),
so a filing that fails after that — the disk fills on its second image, the database refuses the
commit, the process dies — leaves images that no case references, and a write cut short leaves an
`.incoming-*` temp file. Neither is ever read. The sweep deletes both once they are older than a grace
period, which is far longer than a filing takes: a filing in flight writes (or, for an image already
stored, touches) its files moments before it commits, so its files are always young.

Order of checks for an image: old by mtime → not referenced by any evidence row → still old (re-read
after the database answered). A filing that reuses the file between the first look and the database
query has touched it by the time of the second look, so it is kept.

Every worker process runs a sweeper: at start, every `evidence_sweep_interval_s`, and one grace period
after a filing that wrote images failed. Replicas sharing one store may sweep at once; deleting a file
twice is harmless.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from streetwatch.cases.evidence import SUFFIXES, TEMP_PREFIX, EvidenceStore
from streetwatch.cases.metrics import Metrics
from streetwatch.cases.models import Evidence

log = logging.getLogger("streetwatch.cases.evidence")

QUERY_BATCH = 500  # sha256s per `IN (...)` look-up
_CONTENT_TYPES = {suffix: content_type for content_type, suffix in SUFFIXES.items()}


@dataclass(frozen=True)
class SweepResult:
    temp_files: int  # `.incoming-*` files deleted
    orphans: int  # unreferenced images deleted
    images_seen: int


def _old(path: Path, cutoff: float) -> bool:
    try:
        return path.stat().st_mtime < cutoff
    except FileNotFoundError:
        return False


def _image_folders(root: Path) -> Iterator[Path]:
    """`<root>/<aa>/<bb>/`: the two-level fan-out `EvidenceStore.path` writes into."""
    for first in sorted(p for p in root.iterdir() if p.is_dir() and len(p.name) == 2):
        yield from sorted(p for p in first.iterdir() if p.is_dir() and len(p.name) == 2)


def _referenced(session: Session, digests: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(digests), QUERY_BATCH):
        batch = digests[start : start + QUERY_BATCH]
        found.update(session.scalars(select(Evidence.sha256).where(Evidence.sha256.in_(batch)).distinct()))
        # A frame's public copy is referenced by the frame's row, not by one of its own.
        found.update(
            session.scalars(select(Evidence.public_sha256).where(Evidence.public_sha256.in_(batch)).distinct())
        )
    return found


def sweep(
    store: EvidenceStore, sessions: sessionmaker[Session], grace_s: float, now: float | None = None
) -> SweepResult:
    """Delete temp files and unreferenced images older than `grace_s` (by mtime, wall clock)."""
    cutoff = (time.time() if now is None else now) - grace_s
    temp_files = orphans = seen = 0
    for folder in _image_folders(store.root):
        candidates: dict[str, Path] = {}
        for entry in folder.iterdir():
            if entry.name.startswith(TEMP_PREFIX):
                if _old(entry, cutoff):
                    entry.unlink(missing_ok=True)
                    temp_files += 1
                continue
            content_type = _CONTENT_TYPES.get(entry.suffix)  # images and clips
            if content_type is None:
                continue
            seen += 1
            try:
                if store.path(entry.stem, content_type) != entry:  # not a name the store writes: not ours to delete
                    continue
            except ValueError:
                continue
            if _old(entry, cutoff):
                candidates[entry.stem] = entry
        if not candidates:
            continue
        with sessions() as session:
            referenced = _referenced(session, sorted(candidates))
        for digest, path in candidates.items():
            if digest not in referenced and _old(path, cutoff):
                path.unlink(missing_ok=True)
                orphans += 1
    return SweepResult(temp_files=temp_files, orphans=orphans, images_seen=seen)


class EvidenceSweeper:
    """A daemon thread running `sweep` at start, every `interval_s` (0: only at start and after
    failures), and `grace_s` after `failed_filing()` is called."""

    def __init__(
        self,
        store: EvidenceStore,
        sessions: sessionmaker[Session],
        *,
        grace_s: float,
        interval_s: float,
        metrics: Metrics | None = None,
    ) -> None:
        self.store = store
        self.metrics = metrics
        self.sessions = sessions
        self.grace_s = grace_s
        self.interval_s = interval_s
        self.last: SweepResult | None = None
        self._next_at = time.monotonic()  # at start
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def failed_filing(self) -> None:
        """A unit of work that wrote images failed: sweep once they are past the grace period."""
        with self._lock:
            self._next_at = min(self._next_at, time.monotonic() + self.grace_s + 1.0)
        self._wake.set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="evidence-sweep", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                wait = self._next_at - time.monotonic()
            if wait > 0:
                self._wake.wait(timeout=None if wait == float("inf") else wait)
                self._wake.clear()
                continue
            with self._lock:
                self._next_at = time.monotonic() + self.interval_s if self.interval_s > 0 else float("inf")
            try:
                self.last = sweep(self.store, self.sessions, self.grace_s)
            except Exception:  # a database or disk hiccup: log it, try again at the next turn
                log.exception("evidence sweep failed")
                continue
            if self.metrics is not None:
                self.metrics.evidence_swept.labels("orphan").inc(self.last.orphans)
                self.metrics.evidence_swept.labels("temp_file").inc(self.last.temp_files)
            if self.last.temp_files or self.last.orphans:
                log.warning(
                    "evidence sweep deleted %d unreferenced images and %d temp files (of %d images)",
                    self.last.orphans,
                    self.last.temp_files,
                    self.last.images_seen,
                    extra={"pid": os.getpid()},
                )
