"""A full evidence store, on a real full file system: the live service runs in its own mount namespace
(`unshare --user --map-root-user --mount`) with a 1 MiB tmpfs mounted on its evidence folder, and the
test fills that tmpfs through `/proc/<pid>/root`. Filing answers 507 with a JSON body (retryable),
`/healthz` and `/metrics` report the store full, the images a failed filing stored are swept, and the
evidence of committed cases is never deleted. The start-up sweep is tested on the plain disk."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from builders import wait_until
from case_builders import clip_ref, images_for_case, jpeg, mp4, post_case, report, sha
from live_server import LiveServer, make_token, start_server, stop_server

TMPFS_BYTES = 1024 * 1024
MIN_FREE = 256 * 1024
FAST_SWEEP = {"STREETWATCH_CASES_EVIDENCE_SWEEP_GRACE_S": "1", "STREETWATCH_CASES_EVIDENCE_SWEEP_INTERVAL_S": "0"}


def can_mount_tmpfs(tmp: Path) -> bool:
    if shutil.which("unshare") is None:
        return False
    target = tmp / "probe"
    target.mkdir()
    probe = subprocess.run(
        [
            "unshare",
            "--user",
            "--map-root-user",
            "--mount",
            "mount",
            "-t",
            "tmpfs",
            "-o",
            "size=64k",
            "tmpfs",
            str(target),
        ],
        capture_output=True,
        timeout=10,
    )
    return probe.returncode == 0


def tmpfs_wrap(mountpoint: Path, size: int, seed: Path | None = None) -> list[str]:
    """Mount a `size`-byte tmpfs on `mountpoint` in a new mount namespace, copy `seed`'s files into it,
    then exec the server there (same pid: `/proc/<pid>/root` shows the namespace's view of the files;
    SQLite resolves that link, so a database is seeded rather than opened through it)."""
    script = 'mount -t tmpfs -o size="$1" tmpfs "$2" && { [ -z "$3" ] || cp -a "$3"/. "$2"/; } && shift 3 && exec "$@"'
    where = ["sh", str(size), str(mountpoint), str(seed or "")]
    return ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script, *where]


def stored(store: Path, digest: str, suffix: str = ".jpg") -> Path:
    return store / digest[:2] / digest[2:4] / f"{digest}{suffix}"


def fill(store: Path, leave: int) -> Path:
    """Fill the store's file system to ENOSPC, then give back `leave` bytes."""
    filler = store / "filler"
    chunk = b"\0" * 65536
    with filler.open("wb") as handle:
        try:
            while True:
                handle.write(chunk)
                handle.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc
    size = filler.stat().st_size
    os.truncate(filler, max(0, size - leave))
    return filler


def metric(client: httpx.Client, name: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in /metrics")


@pytest.fixture
def full_fs_server(own_db_url: str, tmp_path: Path) -> Iterator[tuple[LiveServer, Path]]:
    if not can_mount_tmpfs(tmp_path):
        pytest.skip("cannot mount a tmpfs in a user namespace here (unshare --user --map-root-user --mount)")
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    env = {**FAST_SWEEP, "STREETWATCH_CASES_EVIDENCE_MIN_FREE_BYTES": str(MIN_FREE)}
    live = start_server(own_db_url, tmp_path, env=env, wrap=tmpfs_wrap(evidence, TMPFS_BYTES))
    live.reviewer = make_token(own_db_url, "reviewer", "dora")
    view = Path(f"/proc/{live.process.pid}/root") / evidence.relative_to("/")
    try:
        if not os.access(view, os.W_OK):
            pytest.skip(f"cannot reach the server's mount namespace through {view}")
        yield live, view
    finally:
        stop_server(live)


@pytest.mark.slow
def test_full_store_answers_507_json_reports_unhealthy_and_sweeps_what_the_failed_filing_wrote(
    full_fs_server: tuple[LiveServer, Path],
) -> None:
    live, store = full_fs_server
    token, device, cameras = live.new_device()
    with live.client() as client, live.reviewer_client() as reviewer:
        health = client.get("/healthz")
        assert health.status_code == 200 and health.json()["evidence_store"] == "ok"
        assert metric(client, "streetwatch_evidence_store_ok") == 1.0

        # Two small images fit in what is left, the third (noise, 640x480) does not.
        # Images of their own: another module's case in this database (test_cases_api files seed 1)
        # would reference them, and the sweep rightly keeps referenced images.
        images = images_for_case(4242)
        images["confirmation"] = jpeg(640, 480, seed=77, quality=95)
        assert len(images["confirmation"]) > 2 * 64 * 1024
        body = report(device, cameras[0], images)
        filler = fill(store, leave=64 * 1024)
        stale = store / "ab" / "cd" / ".incoming-left-by-a-crash"
        stale.parent.mkdir(parents=True)
        stale.write_bytes(b"half an image")
        os.utime(stale, (time.time() - 3600, time.time() - 3600))

        health = client.get("/healthz")
        assert health.status_code == 503
        assert health.json()["evidence_store"].startswith("full: ")
        assert metric(client, "streetwatch_evidence_store_ok") == 0.0
        assert metric(client, "streetwatch_evidence_store_free_bytes") < MIN_FREE

        refused = post_case(client, token, body, list(images.values()))
        assert refused.status_code == 507, refused.text
        assert refused.headers["content-type"] == "application/json"
        assert "no room" in refused.json()["detail"] and "send it again later" in refused.json()["detail"]
        assert int(refused.headers["retry-after"]) > 0
        assert metric(client, "streetwatch_evidence_store_full_total") == 1.0
        assert reviewer.get("/api/v1/cases", params={"camera_id": cameras[0]}).json()["items"] == []

        # The first two images were stored before the third failed: no case references them, and the
        # sweep (one grace period after the failed filing) deletes them and the stale temp file.
        small = [sha(images["first_seen"]), sha(images["first_seen_clean"])]
        assert all(stored(store, d).exists() for d in small)
        assert not list(store.rglob(".incoming-*.jpg"))
        wait_until(lambda: not any(stored(store, d).exists() for d in small), "the orphaned images to be swept")
        wait_until(lambda: not stale.exists(), "the stale temp file to be swept")
        assert metric(client, 'streetwatch_evidence_swept_total{kind="orphan"}') >= 2

        # Room again: healthy, and the same filing (same key, same body) goes through.
        filler.unlink()
        assert client.get("/healthz").status_code == 200
        filed = post_case(client, token, body, list(images.values()))
        assert filed.status_code == 201, filed.text
        case = filed.json()

        # Another failed filing triggers another sweep, once the committed case's files are older
        # than the grace period: those are referenced and stay; the new orphans go.
        time.sleep(1.5)
        other = images_for_case(2)
        other["confirmation"] = jpeg(640, 480, seed=78, quality=95)
        fill(store, leave=64 * 1024)
        assert post_case(client, token, report(device, cameras[1], other), list(other.values())).status_code == 507
        orphan = stored(store, sha(other["first_seen"]))
        assert orphan.exists()
        wait_until(lambda: not orphan.exists(), "the second filing's orphans to be swept")
        for evidence in case["evidence"]:
            assert stored(store, evidence["sha256"]).exists()
            download = reviewer.get(evidence["url"])
            assert download.status_code == 200 and sha(download.content) == evidence["sha256"]


@pytest.mark.slow
def test_start_up_sweep_deletes_old_orphans_and_temp_files_and_keeps_referenced_and_young_files(
    own_db_url: str, tmp_path: Path
) -> None:
    db_url = own_db_url  # a database of its own: an image another test filed is (rightly) never swept
    live = start_server(db_url, tmp_path)
    token, device, cameras = live.new_device()
    try:
        images = images_for_case(5)
        clip = mp4(seconds=1.0)  # clips are swept like images: the referenced one stays
        body = report(device, cameras[0], images, clip=clip_ref(clip, seconds=1.0))
        with live.client() as client:
            filed = post_case(client, token, body, list(images.values()), clip=clip)
            assert filed.status_code == 201, filed.text
    finally:
        stop_server(live)
    store = tmp_path / "evidence"
    old = time.time() - 2 * 3600
    referenced = [stored(store, sha(data)) for data in images.values()] + [stored(store, sha(clip), ".mp4")]
    orphan_old, orphan_young = (stored(store, sha(jpeg(seed=s))) for s in (901, 902))
    orphan_clip = stored(store, sha(mp4(seconds=1.5)), ".mp4")
    temp_old, temp_young = store / "00" / "00" / ".incoming-abc", store / "00" / "00" / ".incoming-def"
    for path, data in [
        (orphan_old, jpeg(seed=901)),
        (orphan_young, jpeg(seed=902)),
        (temp_old, b"x"),
        (temp_young, b"y"),
        (orphan_clip, mp4(seconds=1.5)),
    ]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    for path in [*referenced, orphan_old, temp_old, orphan_clip]:
        os.utime(path, (old, old))

    live = start_server(db_url, tmp_path, port=int(live.base_url.rsplit(":", 1)[1]))
    live.reviewer = make_token(db_url, "reviewer", "erin")
    try:
        wait_until(lambda: not orphan_old.exists() and not temp_old.exists(), "the start-up sweep")
        wait_until(lambda: not orphan_clip.exists(), "the start-up sweep of clips")
        assert orphan_young.exists() and temp_young.exists()  # younger than the grace period (1 h)
        assert all(path.exists() for path in referenced)
        with live.reviewer_client() as reviewer:
            for evidence in filed.json()["evidence"]:
                assert reviewer.get(evidence["url"]).status_code == 200
    finally:
        stop_server(live)


@pytest.mark.slow
def test_full_sqlite_disk_answers_507_json_and_files_once_there_is_room(tmp_path: Path) -> None:
    """The database's own disk full (SQLite on a 4 MiB tmpfs): 507 JSON, not a plain 500. PostgreSQL's
    `disk_full` (SQLSTATE 53100) takes the same path; its data folder is not ours to fill here."""
    if not can_mount_tmpfs(tmp_path):
        pytest.skip("cannot mount a tmpfs in a user namespace here (unshare --user --map-root-user --mount)")
    seed, folder = tmp_path / "seed", tmp_path / "db"
    seed.mkdir()
    folder.mkdir()
    token = make_token(f"sqlite:///{seed / 'cases.db'}", "device", "edge-full", ["cam-full"])
    wrap = tmpfs_wrap(folder, 4 * TMPFS_BYTES, seed=seed)
    live = start_server(f"sqlite:///{folder / 'cases.db'}", tmp_path, wrap=wrap)
    try:
        view = Path(f"/proc/{live.process.pid}/root") / folder.relative_to("/")
        if not os.access(view, os.W_OK):
            pytest.skip(f"cannot reach the server's mount namespace through {view}")
        images = images_for_case(9)
        body = report("edge-full", "cam-full", images)
        filler = fill(view, leave=0)
        with live.client() as client:
            refused = post_case(client, token, body, list(images.values()))
            assert refused.status_code == 507, refused.text
            assert refused.headers["content-type"] == "application/json"
            assert "no room" in refused.json()["detail"] and int(refused.headers["retry-after"]) > 0
            filler.unlink()
            filed = post_case(client, token, body, list(images.values()))
            assert filed.status_code == 201, filed.text
    finally:
        stop_server(live)
