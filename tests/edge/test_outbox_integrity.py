"""The outbox's folder after accidents: an emptied, cut or overwritten database, evidence the
database does not know, and a second agent started on the same folder. Pending evidence is never
deleted silently, and a bad database is refused with one line saying which file and what to do."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from edge_builders import make_bundle, street_frame

from streetwatch.edge.outbox import Outbox, OutboxError
from streetwatch.errors import StreetwatchError


@pytest.fixture
def frame(sample_images: list[Path]):
    return street_frame(sample_images)


def outbox_at(root: Path) -> Outbox:
    return Outbox(root, max_bytes=500 * 1024**2, retention_days=30)


def pending_folder(tmp_path: Path, frame, n: int = 3) -> list[str]:
    """A storage root holding `n` undelivered cases, its outbox closed (the agent stopped)."""
    outbox = outbox_at(tmp_path)
    ids = []
    for i in range(n):
        bundle = make_bundle(frame, urgent=i == 0)
        assert outbox.enqueue(bundle)
        ids.append(str(bundle.report.event_id))
    assert outbox.depth() == n
    outbox.close()
    return ids


def evidence_files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*.jpg")}


def corrupt(db: Path, how: str) -> None:
    data = db.read_bytes()
    if how == "emptied":  # truncate -s 0
        db.write_bytes(b"")
    elif how == "cut":
        db.write_bytes(data[: len(data) // 3])
    elif how == "header_overwritten":
        db.write_bytes(b"this is not a database at all" + data[29:])
    elif how == "pages_overwritten":
        db.write_bytes(data[:4096] + b"\xde\xad" * ((len(data) - 4096) // 2))


@pytest.mark.parametrize("how", ["emptied", "cut", "header_overwritten", "pages_overwritten"])
def test_a_damaged_outbox_is_refused_and_its_evidence_kept(tmp_path: Path, frame, how: str) -> None:
    pending_folder(tmp_path, frame)
    before = evidence_files(tmp_path)
    for side in tmp_path.glob("outbox.sqlite3-*"):  # WAL checkpointed on close; no side files left
        side.unlink()
    corrupt(tmp_path / "outbox.sqlite3", how)
    with pytest.raises(OutboxError) as caught:
        outbox_at(tmp_path)
    message = str(caught.value)
    assert isinstance(caught.value, StreetwatchError)  # the CLI prints it as one line
    assert str(tmp_path / "outbox.sqlite3") in message
    assert "move it aside" in message and "evidence" in message
    assert len(message.splitlines()) == 1
    assert evidence_files(tmp_path) == before  # nothing deleted


def test_evidence_the_outbox_does_not_know_is_quarantined_not_deleted(tmp_path: Path, frame, caplog) -> None:
    """The database removed (or replaced by an empty one): its cases' evidence is moved aside and
    the log says where, so an operator can recover them."""
    ids = pending_folder(tmp_path, frame)
    before = evidence_files(tmp_path)
    for db in tmp_path.glob("outbox.sqlite3*"):
        db.unlink()
    with caplog.at_level(logging.WARNING, logger="streetwatch.edge.outbox"):
        outbox = outbox_at(tmp_path)
    try:
        assert outbox.depth() == 0
        moved = {name.replace("evidence/", "quarantine/", 1) for name in before}
        assert evidence_files(tmp_path) == moved
        warning = " ".join(r.getMessage() for r in caplog.records)
        assert "3 evidence folders" in warning and str(tmp_path / "quarantine") in warning, warning
        assert all((tmp_path / "quarantine" / event_id).is_dir() for event_id in ids)
    finally:
        outbox.close()


def test_a_second_agent_on_the_same_folder_is_refused(tmp_path: Path) -> None:
    first = outbox_at(tmp_path)
    try:
        with pytest.raises(OutboxError, match=r"another edge agent .* uses storage root"):
            outbox_at(tmp_path)
    finally:
        first.close()
    again = outbox_at(tmp_path)  # the lock goes with the process (or the close)
    again.close()
