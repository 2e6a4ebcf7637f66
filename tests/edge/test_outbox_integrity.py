"""The outbox's folder after accidents: an emptied, cut or overwritten database, evidence the
database does not know, and a second agent started on the same folder. Pending evidence is never
deleted silently, and a bad database is refused with one line saying which file and what to do."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from edge_builders import config_dict, make_bundle, street_frame

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


# -- the same accidents met by `streetwatch edge run`, in real processes -------------------------------
HOLD_ROOT = """
import sys, time
from pathlib import Path
from streetwatch.edge.outbox import Outbox
outbox = Outbox(Path(sys.argv[1]), max_bytes=500 * 1024**2, retention_days=30)
print("holding", flush=True)
time.sleep(120)
"""


def edge_run(tmp_path: Path, root: Path) -> subprocess.CompletedProcess[str]:
    """`edge run` on a config whose storage root is `root` (its model is never reached: the outbox comes first)."""
    data = config_dict(root)
    data["device"]["token"] = "secret-token-1"  # type: ignore[index]
    config = tmp_path / "edge.yaml"
    config.write_text(yaml.safe_dump(data))
    return subprocess.run(
        [sys.executable, "-m", "streetwatch.cli", "edge", "run", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_one_line_exit(result: subprocess.CompletedProcess[str], *expected: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    [line] = [line for line in result.stderr.splitlines() if "error" in line]
    for text in expected:
        assert text in line, line


def test_edge_run_refuses_an_emptied_outbox_with_one_line(tmp_path: Path, frame) -> None:
    root = tmp_path / "state"
    pending_folder(root, frame)
    for side in root.glob("outbox.sqlite3-*"):
        side.unlink()
    (root / "outbox.sqlite3").write_bytes(b"")  # truncate -s 0
    before = evidence_files(root)
    assert_one_line_exit(edge_run(tmp_path, root), str(root / "outbox.sqlite3"), "is empty (0 bytes)", "move it aside")
    assert evidence_files(root) == before


def test_edge_run_refuses_a_storage_root_that_is_a_file_with_one_line(tmp_path: Path) -> None:
    root = tmp_path / "state"
    root.write_text("not a folder")
    result = edge_run(tmp_path, root)  # refused while the config is read, as `edge check` refuses it
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert str(tmp_path / "edge.yaml") in result.stderr and "storage.root" in result.stderr
    assert "is a file; expected a folder" in result.stderr


def test_a_second_agent_process_exits_with_one_line_and_the_lock_dies_with_its_holder(tmp_path: Path) -> None:
    root = tmp_path / "state"
    holder = subprocess.Popen([sys.executable, "-c", HOLD_ROOT, str(root)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        assert_one_line_exit(edge_run(tmp_path, root), f"another edge agent (pid {holder.pid})", str(root))
    finally:
        holder.kill()  # SIGKILL: no close(), no cleanup; the OS drops the lock with the process
        holder.wait(10)
    outbox_at(root).close()  # the folder is free again
