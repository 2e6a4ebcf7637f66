"""The durable outbox: every case is on disk (evidence JPEGs + a SQLite row) before it is sent.

Write order for power loss: JPEGs are written to a temporary name, fsynced and renamed, the
folder fsynced; then the row is committed (WAL, `synchronous=FULL`, so the commit is on disk when
`enqueue` returns). A crash before the commit leaves orphan files that `recover()` quarantines; a
crash after it leaves a pending row that the sender delivers on the next start.

Originals stay on the box only while the outbox needs them: a case's evidence folder (frames,
public copies, plate crop, clip) is deleted as soon as the case service has acknowledged the case
(`mark_sent`: the row is committed as sent first, so a crash in between leaves a folder that
`recover()` deletes, the row saying it was delivered). Evidence of a case that is pending or
retrying is never deleted, and a refused (4xx) case's is kept for inspection.

Disk budget (`storage.max_bytes`, evidence + database), in this order when a new case does not fit:
1. rows of delivered cases and evidence of refused ones older than `retention_days` are deleted
   (this also runs hourly);
2. evidence of refused cases is deleted, oldest first, whatever its age;
3. `when_full: drop_new` refuses the new case (urgent ones are still kept: a fire is never
   dropped for a parked car), `drop_oldest_pending` deletes the oldest undelivered non-urgent cases.
Evidence of an undelivered case is never deleted by steps 1-2.

Clips (edge/clips.py): a case whose camera records clips is stored with its stills at once, then
waits (at most `clip_wait_s`) for its MP4, which the camera thread cuts once the asked span has
passed. `attach_clip` moves it beside the stills and writes it into the case JSON, only while the
case has never been handed to the sender (so every attempt sends the same bytes). A clip must fit
the budget after delivered evidence is pruned: it never pushes out an undelivered case, and an
urgent case is never kept over budget for its clip; without room the case goes without it. A
restart while a case waits sends it without its clip (the packets were in memory).

Retry times follow the monotonic clock while the agent runs and are re-based from the stored wall
time on start (`edge/retry_times.py`): a clock step delays no case by more than its backoff interval.
"Oldest" is storage order (rowid), never `created_at`: the wall clock may have stepped between two cases.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from streetwatch.contract import CaseBundle, CaseReport, ClipRef
from streetwatch.edge.retry_times import RetryTimes
from streetwatch.errors import StreetwatchError
from streetwatch.models.taxonomy import ViolationType

log = logging.getLogger(__name__)

State = Literal["pending", "sent", "rejected", "dropped"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    event_id TEXT PRIMARY KEY,
    camera_id TEXT NOT NULL,
    violation TEXT NOT NULL,
    urgent INTEGER NOT NULL,
    created_at REAL NOT NULL,
    case_json TEXT NOT NULL,
    evidence TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    retry_delay_s REAL,
    last_error TEXT,
    sent_at REAL,
    evidence_pruned INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (state, urgent DESC, next_attempt_at);
CREATE TABLE IF NOT EXISTS health_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    camera_id TEXT NOT NULL,
    problem TEXT NOT NULL,
    started INTEGER NOT NULL,
    at REAL NOT NULL,
    detail TEXT NOT NULL
);
"""


class OutboxError(StreetwatchError):
    """The storage root cannot be used as it is: the CLI prints it as one line and exits."""


def _lock_root(root: Path) -> int:
    """An OS lock on the storage root for this process's life: two agents on one folder would each
    send every pending case (and file every fire twice)."""
    fd = os.open(root / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        raise OutboxError(
            f"another edge agent (pid {holder}) uses storage root {root}; "
            "stop it, or give this one its own storage.root"
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def _check_database(path: Path) -> None:
    """Refuse an emptied, cut or overwritten database: SQLite would make an empty one in its place
    (or fail later with a traceback), and its pending cases would look unknown."""
    what_to_do = (
        "move it aside (the evidence folders are kept and would be quarantined, not deleted) "
        "or restore it from a backup, then start again"
    )
    if not path.exists():
        return
    if path.stat().st_size == 0:
        raise OutboxError(f"the outbox database {path} is empty (0 bytes), not a new outbox; {what_to_do}")
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as probe:
            result = probe.execute("PRAGMA quick_check").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise OutboxError(f"the outbox database {path} is damaged ({exc}); {what_to_do}") from None
    if result != "ok":
        raise OutboxError(f"the outbox database {path} is damaged ({result[:200]}); {what_to_do}")


@dataclass(frozen=True)
class OutboxItem:
    event_id: str
    case_json: str  # the `case` part exactly as stored (a resend is byte-for-byte the same)
    evidence: list[Path]  # JPEG files, in the order of the case's evidence list
    urgent: bool
    attempts: int
    violation: ViolationType  # from its own column: the sender never re-parses case_json
    clip: Path | None = None  # the MP4 that case_json's `clip` describes


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_durable(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


class Outbox:
    def __init__(
        self,
        root: Path,
        *,
        max_bytes: int,
        retention_days: float,
        when_full: Literal["drop_new", "drop_oldest_pending"] = "drop_new",
    ) -> None:
        self.root = root
        if root.exists() and not root.is_dir():
            raise OutboxError(f"storage.root {root} is a file; it must be a folder (or not exist yet)")
        root.mkdir(parents=True, exist_ok=True)
        self._root_lock = _lock_root(root)
        self.evidence_dir = root / "evidence"
        self.quarantine_dir = root / "quarantine"
        self.evidence_dir.mkdir(parents=True, exist_ok=True)
        self.staging_dir = root / "staging"  # clips being cut (same disk: moved in with one rename)
        self.db_path = root / "outbox.sqlite3"
        try:
            _check_database(self.db_path)
        except OutboxError:
            os.close(self._root_lock)
            raise
        self.max_bytes, self.retention_s, self.when_full = max_bytes, retention_days * 86400, when_full
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.db_path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)
        self._add_missing_columns()
        self._retry = RetryTimes()
        self.wakeup = threading.Event()  # set when something new is due: the sender wakes at once
        self.dropped = 0
        self.recover()
        self._restore_retry_times()

    def _add_missing_columns(self) -> None:
        """An outbox written by an older version gains the columns added since (its rows keep working)."""
        have = {row[1] for row in self._db.execute("PRAGMA table_info(outbox)")}
        if "retry_delay_s" not in have:
            self._db.execute("ALTER TABLE outbox ADD COLUMN retry_delay_s REAL")
        if "clip_state" not in have:  # NULL: no clip asked; waiting, attached, missing, late, lost
            self._db.execute("ALTER TABLE outbox ADD COLUMN clip_state TEXT")
        if "clip" not in have:  # the MP4's path under the root
            self._db.execute("ALTER TABLE outbox ADD COLUMN clip TEXT")

    def _restore_retry_times(self) -> None:
        """Pending cases' due times from the stored wall time, trusted only up to one backoff interval
        ahead: the clock may have been stepped (or the box rebooted with a wrong clock) since."""
        with self._lock:
            rows = self._db.execute(
                "SELECT event_id, urgent, next_attempt_at, retry_delay_s FROM outbox WHERE state = 'pending'"
                " ORDER BY rowid"
            ).fetchall()
            for event_id, urgent, wall_due, delay_s in rows:
                self._retry.restore(event_id, bool(urgent), wall_due, delay_s)

    # -- writing -----------------------------------------------------------------------------------
    def enqueue(self, bundle: CaseBundle, clip_wait_s: float | None = None) -> bool:
        """Persist a case and its evidence; False when the disk budget refused it. `clip_wait_s`: the
        case waits that long at most for `attach_clip` (or `clip_missing`) before it is sent."""
        report = bundle.report
        event_id = str(report.event_id)
        size = sum(len(i.jpeg) for i in bundle.images) + 2048
        with self._lock:
            if not self._make_room(size, urgent=report.urgent):
                self.dropped += 1
                log.error(
                    "outbox full (%d bytes budget): case %s (%s) not stored",
                    self.max_bytes,
                    event_id,
                    report.violation_type,
                )
                return False
            folder = self.evidence_dir / event_id
            folder.mkdir(exist_ok=True)
            paths = []
            for image in bundle.images:
                path = folder / f"{image.role.value}{'.public' if image.public else ''}.jpg"
                _write_durable(path, image.jpeg)
                paths.append(path)
            _fsync_dir(folder)
            _fsync_dir(self.evidence_dir)
            inserted = self._db.execute(
                "INSERT OR IGNORE INTO outbox (event_id, camera_id, violation, urgent, created_at, case_json, evidence,"
                " bytes, state, next_attempt_at, clip_state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)",
                (
                    event_id,
                    report.camera_id,
                    report.violation_type.value,
                    int(report.urgent),
                    time.time(),
                    report.model_dump_json(by_alias=True),
                    json.dumps([str(p.relative_to(self.root)) for p in paths]),
                    size,
                    0.0,
                    None if clip_wait_s is None else "waiting",
                ),
            ).rowcount
            if inserted:
                self._retry.add(event_id, urgent=report.urgent)
                if clip_wait_s is not None:
                    self._due_in(event_id, clip_wait_s)
        self.wakeup.set()
        return True

    def attach_clip(self, event_id: str, path: Path, ref: ClipRef) -> bool:
        """Move the MP4 at `path` (on this disk) beside the case's stills and describe it in its JSON;
        False (and the file deleted) when the case no longer waits for it or the budget has no room."""
        size = path.stat().st_size
        with self._lock:
            row = self._db.execute(
                "SELECT case_json, clip_state FROM outbox WHERE event_id = ? AND state = 'pending' AND attempts = 0",
                (event_id,),
            ).fetchone()
            why = None
            if row is None or row[1] != "waiting":
                why = "the case no longer waits for it (sent, dropped or its wait ran out)"
            elif not self._make_room(size, urgent=False, may_drop_pending=False):
                why = f"no room in the {self.max_bytes} bytes budget for {size} bytes"
            if why is not None:
                path.unlink(missing_ok=True)
                if row is not None and row[1] == "waiting":
                    self._db.execute("UPDATE outbox SET clip_state = 'missing' WHERE event_id = ?", (event_id,))
                    self._due_in(event_id, 0.0)
                log.warning("clip of case %s not kept: %s", event_id, why)
                self.wakeup.set()
                return False
            folder = self.evidence_dir / event_id
            target = folder / "clip.mp4"
            with open(path, "rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(path, target)
            _fsync_dir(folder)
            report = CaseReport.model_validate_json(row[0])
            case_json = CaseReport.model_validate({**report.model_dump(by_alias=True), "clip": ref}).model_dump_json(
                by_alias=True
            )
            self._db.execute(
                "UPDATE outbox SET case_json = ?, clip = ?, clip_state = 'attached', bytes = bytes + ?"
                " WHERE event_id = ?",
                (case_json, str(target.relative_to(self.root)), size, event_id),
            )
            self._due_in(event_id, 0.0)
        self.wakeup.set()
        return True

    def clip_missing(self, event_id: str, why: str) -> None:
        """No clip will come for this case: send it now without one."""
        with self._lock:
            changed = self._db.execute(
                "UPDATE outbox SET clip_state = 'missing' WHERE event_id = ? AND clip_state = 'waiting'", (event_id,)
            ).rowcount
            if changed:
                self._due_in(event_id, 0.0)
        if changed:
            log.info("case %s goes without a clip: %s", event_id, why)
            self.wakeup.set()

    def _due_in(self, event_id: str, delay_s: float) -> None:
        """Due `delay_s` from now, persisted (under the lock)."""
        wall_due = self._retry.retry_in(event_id, delay_s)
        self._db.execute(
            "UPDATE outbox SET next_attempt_at = ?, retry_delay_s = ? WHERE event_id = ?", (wall_due, delay_s, event_id)
        )

    def record_health(self, camera_id: str, problem: str, started: bool, detail: str) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO health_events (camera_id, problem, started, at, detail) VALUES (?, ?, ?, ?, ?)",
                (camera_id, problem, int(started), time.time(), detail),
            )

    # -- sending -----------------------------------------------------------------------------------
    def next_due(self) -> tuple[OutboxItem | None, float | None]:
        """The most urgent due item (urgent first, then oldest); if none is due, None and the seconds
        until the next one is (None: nothing pending)."""
        with self._lock:
            if self._retry.stepped() is not None:
                self._rebase_stored_due_times()
            event_id, wait_s = self._retry.pick()
            if event_id is None:
                return None, wait_s
            row = self._db.execute(
                "SELECT event_id, case_json, evidence, urgent, attempts, violation, clip FROM outbox"
                " WHERE event_id = ? AND state = 'pending'",
                (event_id,),
            ).fetchone()
            if row is None:  # no longer pending (cannot happen while this process owns the root)
                self._retry.remove(event_id)
                return None, 0.0
            # Handed to the sender: a clip that comes now is too late (the body must never change).
            self._db.execute(
                "UPDATE outbox SET clip_state = 'late' WHERE event_id = ? AND clip_state = 'waiting'", (event_id,)
            )
        event_id, case_json, evidence, urgent, attempts, violation, clip = row
        paths = [self.root / p for p in json.loads(evidence)]
        clip_path = None if clip is None else self.root / clip
        return OutboxItem(event_id, case_json, paths, bool(urgent), attempts, ViolationType(violation), clip_path), None

    def _rebase_stored_due_times(self) -> None:
        """After a clock step: the stored wall-clock due times restated on the new clock (under the lock)."""
        self._db.executemany(
            "UPDATE outbox SET next_attempt_at = ? WHERE event_id = ? AND state = 'pending'",
            [(wall_due, event_id) for event_id, wall_due in self._retry.persisted_due().items()],
        )

    def mark_sent(self, event_id: str) -> None:
        """The case service acknowledged the case (201/200): the row says so, then the originals go."""
        with self._lock:
            self._retry.remove(event_id)
            self._db.execute(
                "UPDATE outbox SET state = 'sent', sent_at = ?, attempts = attempts + 1, last_error = NULL,"
                " evidence_pruned = 1 WHERE event_id = ?",
                (time.time(), event_id),
            )
            shutil.rmtree(self.evidence_dir / event_id, ignore_errors=True)

    def mark_retry(self, event_id: str, delay_s: float, error: str) -> None:
        with self._lock:
            wall_due = self._retry.retry_in(event_id, delay_s)
            self._db.execute(
                "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, retry_delay_s = ?, last_error = ?"
                " WHERE event_id = ?",
                (wall_due, delay_s, error[:500], event_id),
            )

    def mark_rejected(self, event_id: str, error: str) -> None:
        """The server refused the case for good (4xx): kept for inspection, never resent."""
        with self._lock:
            self._retry.remove(event_id)
            self._db.execute(
                "UPDATE outbox SET state = 'rejected', attempts = attempts + 1, last_error = ? WHERE event_id = ?",
                (error[:500], event_id),
            )

    # -- status ------------------------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute("SELECT state, COUNT(*) FROM outbox GROUP BY state").fetchall()
        return {state: n for state, n in rows}

    def depth(self) -> int:
        return self.counts().get("pending", 0)

    def rows(self) -> list[tuple[str, str, int, str | None]]:
        """(event_id, state, attempts, last_error) of every row, oldest first (for tests and status)."""
        with self._lock:
            return self._db.execute(
                "SELECT event_id, state, attempts, last_error FROM outbox ORDER BY rowid"
            ).fetchall()

    def usage_bytes(self) -> int:
        with self._lock:
            return self._usage()

    # -- housekeeping ------------------------------------------------------------------------------
    def recover(self) -> None:
        """At start: evidence folders with no row are moved to `quarantine/`, never deleted. A crash
        between the files and the commit leaves one such folder; many mean the database was lost,
        and those are cases nobody has received yet."""
        with self._lock:
            known = {r[0] for r in self._db.execute("SELECT event_id FROM outbox")}
            delivered = {r[0] for r in self._db.execute("SELECT event_id FROM outbox WHERE state = 'sent'")}
        unknown = []
        for folder in self.evidence_dir.iterdir():
            if folder.is_dir() and folder.name in delivered:
                shutil.rmtree(folder, ignore_errors=True)  # acknowledged, then the process ended before this
            elif folder.is_dir() and folder.name not in known:
                self.quarantine_dir.mkdir(exist_ok=True)
                target = self.quarantine_dir / folder.name
                if target.exists():
                    target = self.quarantine_dir / f"{folder.name}.{int(time.time())}"
                os.replace(folder, target)
                unknown.append(folder.name)
            elif folder.suffix == ".tmp":
                folder.unlink(missing_ok=True)
        # Clips being cut when the process ended belong to no case; cases that waited for one go without.
        shutil.rmtree(self.staging_dir, ignore_errors=True)
        with self._lock:
            self._db.execute("UPDATE outbox SET clip_state = 'lost', next_attempt_at = 0 WHERE clip_state = 'waiting'")
        if unknown:
            log.warning(
                "%d evidence folders have no row in %s (a crash before a commit leaves one; more mean "
                "the database was lost): moved to %s, not deleted",
                len(unknown),
                self.db_path,
                self.quarantine_dir,
            )
        self.prune()

    def prune(self, now: float | None = None) -> None:
        """Retention: forget delivered cases (rows and evidence) older than `retention_days`."""
        cutoff = (time.time() if now is None else now) - self.retention_s
        with self._lock:
            old = self._db.execute(
                "SELECT event_id FROM outbox WHERE state IN ('sent', 'rejected', 'dropped') AND created_at < ?",
                (cutoff,),
            ).fetchall()
            for (event_id,) in old:
                shutil.rmtree(self.evidence_dir / event_id, ignore_errors=True)
            self._db.execute(
                "DELETE FROM outbox WHERE state IN ('sent', 'rejected', 'dropped') AND created_at < ?", (cutoff,)
            )
            self._db.execute("DELETE FROM health_events WHERE at < ?", (cutoff,))

    def _usage(self) -> int:
        stored = self._db.execute("SELECT COALESCE(SUM(bytes), 0) FROM outbox WHERE evidence_pruned = 0").fetchone()[0]
        db_bytes = sum(p.stat().st_size for p in self.root.glob("outbox.sqlite3*") if p.is_file())
        return int(stored) + db_bytes

    def _make_room(self, size: int, urgent: bool, may_drop_pending: bool = True) -> bool:
        if self._usage() + size <= self.max_bytes:
            return True
        # Delivered evidence goes first, oldest first; the rows stay (they are small, and they say what was sent).
        done = self._db.execute(
            "SELECT event_id, bytes FROM outbox WHERE state IN ('sent', 'rejected', 'dropped') AND evidence_pruned = 0"
            " ORDER BY rowid"
        ).fetchall()
        for event_id, _ in done:
            shutil.rmtree(self.evidence_dir / event_id, ignore_errors=True)
            self._db.execute("UPDATE outbox SET evidence_pruned = 1 WHERE event_id = ?", (event_id,))
            if self._usage() + size <= self.max_bytes:
                return True
        if urgent:
            return True  # over budget by one case rather than lose a fire
        if self.when_full == "drop_new" or not may_drop_pending:
            return False
        pending = self._db.execute(
            "SELECT event_id FROM outbox WHERE state = 'pending' AND urgent = 0 ORDER BY rowid"
        ).fetchall()
        for (event_id,) in pending:
            shutil.rmtree(self.evidence_dir / event_id, ignore_errors=True)
            self._retry.remove(event_id)
            self._db.execute(
                "UPDATE outbox SET state = 'dropped', evidence_pruned = 1, last_error = 'disk budget'"
                " WHERE event_id = ?",
                (event_id,),
            )
            self.dropped += 1
            log.error("outbox full: dropped undelivered case %s (when_full=drop_oldest_pending)", event_id)
            if self._usage() + size <= self.max_bytes:
                return True
        return False

    def close(self) -> None:
        with self._lock:
            self._db.close()
        if self._root_lock >= 0:
            os.close(self._root_lock)  # releases the storage-root lock
            self._root_lock = -1
