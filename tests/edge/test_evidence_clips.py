"""A case's clip is asked for when the case is confirmed, not when its evidence is stored: a case
that waits in the evidence queue longer than the camera's packet ring holds its span still gets the
span it asked for. Real H.264 file through the real source and clip recorder, real outbox."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import threading
from pathlib import Path

import av
from edge_builders import filing_camera, make_event
from test_clips import FPS, GOP, moving_scene
from test_sources import camera
from videos import write_video

from streetwatch.edge.clips import ClipRecorder
from streetwatch.edge.config import ClipConfig
from streetwatch.edge.evidence_worker import EvidenceWorker
from streetwatch.edge.outbox import Outbox
from streetwatch.edge.sources import PyAvSource
from streetwatch.edge.status import Tally


def clip_states(outbox: Outbox) -> list[tuple[str, dict[str, object] | None]]:
    with sqlite3.connect(outbox.root / "outbox.sqlite3") as db:
        rows = db.execute("SELECT clip_state, case_json FROM outbox ORDER BY rowid").fetchall()
    return [(state, json.loads(case)["clip"]) for state, case in rows]


def test_a_case_that_waits_longer_than_the_ring_still_gets_its_clip(tmp_path: Path) -> None:
    video = write_video(tmp_path / "cam.mp4", moving_scene, 300, fps=FPS, gop=GOP)  # 30 s
    outbox = Outbox(tmp_path / "state", max_bytes=500 * 1024**2, retention_days=30)
    worker = EvidenceWorker(outbox, Tally())  # not started yet: the case waits in its queue
    config = ClipConfig(enabled=True, before_s=1.0, after_s=1.0, buffer_s=9.0)  # holds the span when it is cut
    recorder = ClipRecorder("cam-1", config, outbox.staging_dir, worker.clip_ready)
    source = PyAvSource(camera(str(video), realtime=False), 5, threading.Event(), "file", clips=recorder)
    filing = filing_camera(clips=recorder)
    first_seen_t = None
    for frame in source.frames():
        first_seen_t = frame.t if first_seen_t is None else first_seen_t
        if frame.t - first_seen_t >= 6.0 - 1e-6 and filing.cases == 0 and not worker.pending():
            event = make_event(frame.image)  # first seen at media time 0 s, confirmed at 6 s
            event = dataclasses.replace(
                event,
                first_seen=dataclasses.replace(event.first_seen, t=first_seen_t),
                confirmed=dataclasses.replace(event.confirmed, t=frame.t),
            )
            worker.submit(filing, event)
    # The stream went on to 30 s: the ring no longer holds 0-7 s, and the case is not stored yet.
    assert recorder.ring.span(-1.0, 1e9)[0].t > first_seen_t + 7.0  # asked now, the clip would start late
    assert (recorder.cut, recorder.missed) == (1, 0)  # cut at 7 s, while the case waited
    assert outbox.rows() == []
    worker.start()
    worker.finish(timeout=60)
    [(state, ref)] = clip_states(outbox)
    assert state == "attached" and ref is not None
    with av.open(str(outbox.evidence_dir / str(event.event_id) / "clip.mp4")) as container:
        frames = list(container.decode(container.streams.video[0]))
    asked = (6.0 + 1.0) - (0.0 - 1.0)  # from first seen - 1 s (the stream starts at 0) to confirmed + 1 s
    assert asked - 1.0 - 1 / FPS <= len(frames) / FPS <= asked + 1 / FPS  # the span asked, within a GOP
    outbox.close()


def test_a_clip_of_a_case_that_could_not_be_stored_is_deleted(tmp_path: Path) -> None:
    video = write_video(tmp_path / "cam.mp4", moving_scene, 120, fps=FPS, gop=GOP)  # 12 s
    outbox = Outbox(tmp_path / "state", max_bytes=500 * 1024**2, retention_days=30)
    worker = EvidenceWorker(outbox, Tally())
    config = ClipConfig(enabled=True, before_s=1.0, after_s=1.0)
    recorder = ClipRecorder("cam-1", config, outbox.staging_dir, worker.clip_ready)
    source = PyAvSource(camera(str(video), realtime=False), 5, threading.Event(), "file", clips=recorder)
    filing = filing_camera(clips=recorder)
    submitted = False
    for frame in source.frames():
        if frame.t >= 3.0 and not submitted:
            event = make_event(frame.image)
            event = dataclasses.replace(
                event,
                zone_id="gone",  # no such zone on the camera: its evidence cannot be built
                first_seen=dataclasses.replace(event.first_seen, t=frame.t - 1.0),
                confirmed=dataclasses.replace(event.confirmed, t=frame.t),
            )
            worker.submit(filing, event)
            submitted = True
    assert recorder.cut == 1 and any(outbox.staging_dir.iterdir())  # cut and staged while the case waited
    worker.start()
    worker.finish(timeout=60)
    assert outbox.rows() == [] and not any(outbox.staging_dir.iterdir())  # nothing left behind
    outbox.close()
