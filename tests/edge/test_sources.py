"""Sources on real encoded video: keyframe-only decoding, sampling, and a live stream that dies and comes back."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import pairwise
from pathlib import Path

import pytest
from edge_builders import config_dict, free_port
from videos import bus_parks_video, street_scene, write_video

from streetwatch.edge.config import CameraConfig, HealthConfig, ReconnectConfig, is_file_source, source_kind
from streetwatch.edge.health import HealthMonitor
from streetwatch.edge.sources import PyAvSource, Sampler
from streetwatch.edge.worker import CameraWorker


def camera(source: str, **kw: object) -> CameraConfig:
    data = dict(config_dict()["cameras"][0])  # type: ignore[index]
    data.update(source=source, **kw)
    return CameraConfig.model_validate(data)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return bus_parks_video(tmp_path_factory.mktemp("src") / "clip.mp4", seconds=6, fps=10)


@pytest.mark.parametrize(
    ("decode", "max_decoded"),
    [("auto", 16), ("keyframes", 7), ("all", 60)],  # auto decodes the first GOP whole, then keyframes
)
def test_keyframe_only_decoding_decodes_a_fraction(clip: Path, decode: str, max_decoded: int) -> None:
    source = PyAvSource(camera(str(clip), realtime=False, decode=decode), 5, threading.Event(), "file")
    frames = list(source.frames())
    assert 5 <= len(frames) <= 7  # 6 s sampled at 1 frame/s
    assert source.decoded <= max_decoded
    assert frames[0].image.shape == (360, 640, 3)
    times = [f.t - frames[0].t for f in frames]
    assert times == pytest.approx([float(i) for i in range(len(frames))], abs=0.11)
    if decode != "all":
        assert source.gop_s == pytest.approx(1.0)


def test_realtime_files_play_at_their_frame_rate(tmp_path: Path) -> None:
    video = write_video(tmp_path / "short.mp4", lambda i: street_scene(), 15, fps=10)
    source = PyAvSource(camera(str(video), realtime=True, sample_fps=5), 5, threading.Event(), "file")
    started = time.monotonic()
    assert len(list(source.frames())) >= 7
    assert time.monotonic() - started >= 1.2  # 1.5 s of video takes about 1.5 s


@pytest.mark.parametrize("realtime", [True, False])
def test_b_frames_are_sampled_at_the_asked_rate(tmp_path: Path, realtime: bool) -> None:
    """With B-frames, packets come in decode order and one packet can release several frames: each
    frame must be timed by its presentation time, or the bursts collapse to one sample."""
    video = write_video(tmp_path / "bframes.mp4", lambda i: street_scene(), 30, fps=10, bframes=3)
    source = PyAvSource(camera(str(video), realtime=realtime, sample_fps=5), 5, threading.Event(), "file")
    frames = list(source.frames())
    assert 14 <= len(frames) <= 16  # 3 s at 5 frames/s
    gaps = [b.t - a.t for a, b in pairwise(frames)]
    assert max(gaps) < 0.35 and min(gaps) > 0.05, gaps


@pytest.mark.parametrize(
    ("source", "kind"),
    [
        ("rtsp://cam/stream", "rtsp"),
        ("http://cam/snapshot.jpg", "http_snapshot"),
        ("http://cam/live.ts", "http_stream"),
        ("tcp://127.0.0.1:9000", "http_stream"),
        ("usb:0", "usb"),
        ("USB:1", "usb"),  # was a "file" to the config checks and the agent, "usb" to the source opener
        ("videos/a.mp4", "file"),
    ],
)
def test_source_kind_from_url(source: str, kind: str) -> None:
    assert source_kind(camera(source)) == kind
    assert is_file_source(camera(source)) == (kind == "file")  # one rule for both questions


def test_sampler_keeps_the_grid_without_backlog() -> None:
    sampler = Sampler(1.0)
    picked = [t for t in [0.0, 0.4, 1.0, 1.5, 2.01, 7.3, 7.9, 8.3] if sampler.due(t)]
    assert picked == [0.0, 1.0, 2.01, 7.3, 8.3]


@pytest.mark.parametrize("interval_s", [1.0, 10.0])
def test_keyframes_arriving_a_little_early_are_kept_so_the_rate_holds(interval_s: float) -> None:
    """A 1 s GOP over a network: each keyframe arrives a few ms before or after its second. The
    sampler's due times fall on those arrivals (the first sample is a keyframe), so without the
    tolerance an early keyframe is skipped and the sample waits a whole GOP for the next one."""
    jitter = [0.0, -0.01, 0.02, -0.03, 0.01, -0.02, 0.03, -0.005]
    arrivals = [k + jitter[k % len(jitter)] for k in range(121)]
    sampler = Sampler(1 / interval_s)
    sampler.frames_come_every(1.0)
    kept = [t for t in arrivals if sampler.due(t)]
    assert len(kept) == 1 + int(120 / interval_s)
    assert max(b - a for a, b in pairwise(kept)) <= interval_s + 0.1


class _Stream:
    """An HTTP server streaming an MPEG-TS file, looping; `kill()` cuts it off mid-stream. `seconds`:
    the file's duration, to send it at its real rate (default: 16 KB every 20 ms)."""

    def __init__(self, data: bytes, port: int, seconds: float | None = None) -> None:
        self.data, self.port, self.alive = data, port, threading.Event()
        self.seconds = seconds
        self.server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        stream = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "video/mp2t")
                self.end_headers()
                chunk = 16 * 1024
                pause = 0.02 if stream.seconds is None else stream.seconds * chunk / len(stream.data)
                try:
                    while stream.alive.is_set():  # loop the clip for as long as the server lives
                        for i in range(0, len(stream.data), chunk):
                            if not stream.alive.is_set():
                                return
                            self.wfile.write(stream.data[i : i + chunk])
                            time.sleep(pause)
                except OSError:
                    return

        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.alive.set()
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def kill(self) -> None:
        self.alive.clear()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def test_a_stream_that_dies_and_comes_back(tmp_path: Path) -> None:
    ts = write_video(tmp_path / "live.ts", lambda i: street_scene(), 40, fps=10)
    port = free_port()
    stream = _Stream(ts.read_bytes(), port)
    stream.start()
    got: list[float] = []
    cam = camera(f"http://127.0.0.1:{port}/live.ts", sample_fps=2)
    worker = CameraWorker(
        cam,
        ReconnectConfig(initial_s=0.2, max_s=0.5, jitter=0.1, stall_timeout_s=2),
        HealthMonitor(HealthConfig(frozen_after_s=None, moved_after_s=None)),
        lambda cid, frame, started, ended: got.append(frame.t),
    )
    worker.start()
    try:
        deadline = time.monotonic() + 20
        while len(got) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert worker.state.connected
        stream.kill()
        deadline = time.monotonic() + 20
        while worker.state.reconnects == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert worker.state.reconnects >= 1 and not worker.state.connected
        assert worker.state.last_error
        time.sleep(0.6)  # down for a while: more attempts fail
        seen_before = len(got)
        stream.start()
        deadline = time.monotonic() + 20
        while len(got) < seen_before + 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(got) >= seen_before + 2
        assert worker.state.connected
    finally:
        worker.stop.set()
        stream.kill()
        worker.join(5)
