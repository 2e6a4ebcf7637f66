"""The evidence worker in the whole agent: a case's evidence is built off the pipeline thread, every
confirmed case is stored when the agent stops, and one case that cannot be stored does not stop the
next. Real H.264 files, the COCO teacher model, plate reading and privacy copies as configured by
default, the real case service on 127.0.0.1."""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from edge_builders import free_port
from live_cases import CaseService
from test_agent import agent_config, bus_video, coco_model
from videos import bus_parks_video, scaled

from streetwatch.edge.agent import EdgeAgent
from streetwatch.edge.pipeline import Judged

pytestmark = pytest.mark.slow
__all__ = ["bus_video", "coco_model"]  # fixtures

FULL_HD = (1920, 1080)
CURB = (250, 250, 640, 250, 640, 360, 250, 360)  # agent_config's no_parking zone, for 640x360


def curb_zone(size: tuple[int, int]) -> list[dict[str, object]]:
    xy = scaled(CURB, size)
    return [{"id": "curb", "type": "no_parking", "polygon": [list(xy[i : i + 2]) for i in range(0, len(xy), 2)]}]


@pytest.fixture(scope="module")
def full_hd_bus_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The parking bus at 1080p: its case (four full-HD JPEGs, their public copies, the plate
    search) takes the longest to build."""
    return bus_parks_video(tmp_path_factory.mktemp("video") / "bus-1080p.mp4", size=FULL_HD)


@pytest.fixture(scope="module")
def empty_street_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return bus_parks_video(tmp_path_factory.mktemp("video") / "street.mp4", seconds=4, appears_at=99)


def outbox_rows(state: Path) -> list[tuple[str, str, float, list[str]]]:
    """(event id, state, when it was stored (wall clock), evidence files) of each case in the outbox."""
    with sqlite3.connect(state / "outbox.sqlite3") as db:
        rows = db.execute("SELECT event_id, state, created_at, evidence FROM outbox ORDER BY rowid").fetchall()
    return [(event_id, row_state, at, json.loads(files)) for event_id, row_state, at, files in rows]


def test_other_cameras_are_judged_while_a_case_is_built(
    tmp_path: Path,
    case_service: CaseService,
    coco_model: Path,
    full_hd_bus_video: Path,
    empty_street_video: Path,
    new_camera,
) -> None:
    """A 1080p parking case is built while the other camera's frames keep being judged: the confirming
    frame's decision is made before its case is stored, and the second camera's frames decided in
    between show the pipeline did not wait. (Built in the pipeline thread, the decision came after
    the case was stored and no frame could be judged in between.)"""
    slow, other = new_camera(), new_camera()
    config = agent_config(
        tmp_path, coco_model, full_hd_bus_video, case_service.url, case_service.device, realtime=True,
        zones=curb_zone(FULL_HD),
    )  # fmt: skip
    parking = config.cameras[0].model_copy(update={"id": slow})
    street = config.cameras[0].model_copy(update={"id": other, "source": str(empty_street_video), "loop": True})
    config = config.model_copy(update={"cameras": [parking, street], "stop_when_sources_end": True})
    agent = EdgeAgent(config)
    decided: list[tuple[Judged, float]] = []  # with the wall time of the decision (the outbox stores wall time)
    agent.pipeline.on_judged = lambda judged: decided.append((judged, time.time()))
    assert agent.run() == 0
    [case] = case_service.cases(slow)
    assert case_service.cases(other) == []
    [(confirming, decided_at)] = [(j, t) for j, t in decided if j.events]
    assert confirming.camera_id == slow and [str(e.event_id) for e in confirming.events] == [case["event_id"]]
    [(_, _, stored, _)] = [row for row in outbox_rows(tmp_path / "state") if row[0] == case["event_id"]]
    meanwhile = [j for j, t in decided if j.camera_id == other and decided_at < t < stored]
    late = max(j.decided - j.captured for j, _ in decided if j.camera_id == other)
    print(  # the figure in the closing note (pytest -s)
        f"confirming frame decided {confirming.decided - confirming.captured:.3f} s after capture; "
        f"case stored {stored - decided_at:+.3f} s after the decision; {len(meanwhile)} frames of the other "
        f"camera judged meanwhile; its slowest decision {late:.3f} s after capture"
    )
    assert decided_at < stored, f"the decision came {decided_at - stored:.3f} s after the case was stored"
    assert meanwhile, f"no frame of {other} was judged in the {stored - decided_at:.3f} s the case took to store"
    assert agent.case_outcomes.snapshot()[("illegal_parking", "filed")] == 1
    assert agent.cameras[slow].cases == 1 and agent.cameras[other].cases == 0


def test_stopping_right_after_a_confirmation_stores_the_case(
    tmp_path: Path, coco_model: Path, full_hd_bus_video: Path
) -> None:
    """Asked to stop by the very frame that confirmed a case, the agent still builds and stores it
    before it closes the outbox (nobody listens at the case service's address: it stays pending)."""
    nobody = f"http://127.0.0.1:{free_port()}"
    config = agent_config(
        tmp_path, coco_model, full_hd_bus_video, nobody, realtime=True, zones=curb_zone(FULL_HD)
    ).model_copy(update={"drain_timeout_s": 0.3})
    agent = EdgeAgent(config)
    confirmed: list[str] = []

    def stop_on_confirmation(judged: Judged) -> None:
        if judged.events:
            confirmed.extend(str(e.event_id) for e in judged.events)
            agent.stop()

    agent.pipeline.on_judged = stop_on_confirmation
    assert agent.run() == 1  # the case, stored and not delivered
    assert len(confirmed) == 1
    assert agent.case_outcomes.snapshot().get(("illegal_parking", "filed")) == 1
    [(event_id, state, _, files)] = outbox_rows(tmp_path / "state")
    assert (event_id, state) == (confirmed[0], "pending")
    assert len(files) >= 4 and all((tmp_path / "state" / f).is_file() for f in files)


class RepairOnError(logging.Handler):
    """Puts the evidence folder back when the worker logs that a case could not be stored: in the
    worker's own thread, so before it takes the next case."""

    def __init__(self, folder: Path) -> None:
        super().__init__(logging.ERROR)
        self.folder = folder
        self.failures = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.failures += 1
        if self.folder.is_file():
            self.folder.unlink()
            self.folder.mkdir()


def test_a_case_that_cannot_be_stored_does_not_stop_the_next(
    tmp_path: Path, case_service: CaseService, coco_model: Path, bus_video: Path, new_camera
) -> None:
    """Two cameras see the bus park; the first case finds a file where the evidence folder should be
    (a real OSError while storing it). It is logged and counted as failed, the worker goes on, and
    the second case is stored and delivered."""
    first, second = new_camera(), new_camera()
    config = agent_config(tmp_path, coco_model, bus_video, case_service.url, case_service.device, realtime=False)
    cameras = [config.cameras[0].model_copy(update={"id": camera_id}) for camera_id in (first, second)]
    config = config.model_copy(update={"cameras": cameras, "stop_when_sources_end": True})
    agent = EdgeAgent(config)
    folder = agent.outbox.evidence_dir
    folder.rmdir()
    folder.write_bytes(b"not a folder")
    repair = RepairOnError(folder)
    worker_log = logging.getLogger("streetwatch.edge.evidence_worker")
    worker_log.addHandler(repair)
    judged_by: dict[str, list[threading.Thread]] = {}
    agent.pipeline.on_judged = lambda j: judged_by.setdefault(j.camera_id, []).append(threading.current_thread())
    try:
        assert agent.run() == 0
    finally:
        worker_log.removeHandler(repair)
    assert repair.failures == 1
    outcomes = agent.case_outcomes.snapshot()
    assert outcomes[("illegal_parking", "failed")] == 1 and outcomes[("illegal_parking", "filed")] == 1
    delivered = case_service.cases(first) + case_service.cases(second)
    assert len(delivered) == 1
    assert sorted(r.cases for r in agent.cameras.values()) == [0, 1]
    # Every sampled frame of both cameras was judged, in the pipeline thread alone.
    for camera_id in (first, second):
        runtime = agent.cameras[camera_id]
        assert len(judged_by[camera_id]) == runtime.judged == runtime.worker.state.frames > 0
    assert {t.name for ts in judged_by.values() for t in ts} == {"pipeline"}
