"""Clips from real H.264 streams: the packet ring's bounds, and MP4s cut from it that decode, last
what was asked (within one GOP) and start on a keyframe."""

from __future__ import annotations

import threading
from pathlib import Path

import av
import numpy as np
import pytest
from test_sources import camera
from videos import street_scene, with_bus, write_video

from streetwatch.edge.clips import BufferedPacket, Clip, ClipRecorder, PacketRing
from streetwatch.edge.config import ClipConfig
from streetwatch.edge.sources import PyAvSource

FPS, GOP = 10, 10  # a 1 s GOP, as docs/edge.md asks cameras to be set


def synthetic(n: int, gop: int = GOP, size: int = 1000) -> list[BufferedPacket]:
    return [BufferedPacket(i / FPS, 0.0, bytes(size), i, i, 1, i % gop == 0) for i in range(n)]


def test_the_ring_is_bounded_by_duration_and_starts_on_a_keyframe() -> None:
    ring = PacketRing(max_s=3.0, max_bytes=10**9)
    for packet in synthetic(100):
        ring.push(packet)
        assert ring.seconds < 3.0 + 1.0  # at most a GOP more than asked
        assert ring.seconds >= min(packet.t, 3.0)  # and never less
        assert ring.span(-1, 1e9)[0].keyframe
    assert ring.dropped_gops == 6  # a GOP at a time
    assert len(ring) == 40 and ring.bytes == 40_000  # keyframe at 6.0 s .. 9.9 s


def test_the_ring_is_bounded_by_bytes() -> None:
    ring = PacketRing(max_s=1e6, max_bytes=25_000)
    for packet in synthetic(100):
        ring.push(packet)
        assert ring.bytes <= 25_000
    assert len(ring) == 20  # two whole GOPs of 10 packets of 1000 bytes


def test_a_stream_without_keyframes_never_grows_past_the_bytes_bound() -> None:
    ring = PacketRing(max_s=1e6, max_bytes=25_000)
    for packet in synthetic(200, gop=10_000):  # one keyframe, then P-frames for ever
        ring.push(packet)
        assert ring.bytes <= 25_000
    assert len(ring) == 0  # emptied; it starts again at the next keyframe
    ring.push(BufferedPacket(99.0, 0.0, bytes(10), 0, 0, 1, keyframe=False))
    assert len(ring) == 0  # nothing before a keyframe


def test_span_starts_at_the_keyframe_before_the_asked_start() -> None:
    ring = PacketRing(max_s=100, max_bytes=10**9)
    for packet in synthetic(60):
        ring.push(packet)
    got = ring.span(2.35, 4.0)
    assert got[0].t == pytest.approx(2.0) and got[0].keyframe
    assert got[-1].t == pytest.approx(4.0)
    assert ring.span(-5, 1.0)[0].t == 0  # before the ring: its oldest keyframe


def moving_scene(i: int) -> np.ndarray:
    """The street with a bus from frame 30 and a bright bar that moves every frame (frames differ)."""
    frame = with_bus(street_scene()) if i >= 30 else street_scene()
    frame = frame.copy()
    x = (i * 7) % 600
    frame[10:30, x : x + 30] = 255
    return frame


def record(video: Path, config: ClipConfig, ask: tuple[float, float], **cam: object) -> tuple[Clip | None, str]:
    """Play `video` through a real PyAvSource with a ClipRecorder; when a frame at media time
    ask[1] is sampled, ask for the clip of a case first seen at ask[0] and confirmed then."""
    got: list[tuple[Clip | None, str]] = []
    recorder = ClipRecorder("cam-1", config, video.parent / "staging", lambda e, c, why: got.append((c, why)))
    source = PyAvSource(camera(str(video), realtime=False, **cam), 5, threading.Event(), "file", clips=recorder)
    t0: float | None = None
    for frame in source.frames():
        t0 = frame.t if t0 is None else t0
        if not got and frame.t - t0 >= ask[1] - 1e-6 and not recorder._pending:
            recorder.request("case-1", t0 + ask[0], frame.t)
    assert len(got) == 1, got
    return got[0]


def probe(path: Path) -> tuple[str, list[av.VideoFrame], float]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = list(container.decode(stream))  # every frame decodes, or this raises
        return stream.codec_context.name, frames, float(stream.time_base)


@pytest.mark.parametrize(
    ("suffix", "bframes", "decode"),
    [(".mp4", 0, "auto"), (".ts", 0, "keyframes"), (".mp4", 2, "all")],
    ids=["mp4", "mpeg-ts", "b-frames"],
)
def test_a_clip_decodes_lasts_what_was_asked_and_starts_on_a_keyframe(
    tmp_path: Path, suffix: str, bframes: int, decode: str
) -> None:
    video = write_video(tmp_path / f"cam{suffix}", moving_scene, 200, fps=FPS, gop=GOP, bframes=bframes)
    config = ClipConfig(enabled=True, before_s=2.0, after_s=3.0)
    clip, why = record(video, config, ask=(5.3, 9.0), decode=decode)  # asked: 3.3 s .. 12.0 s of the video
    assert clip is not None, why
    assert not clip.short
    codec, frames, time_base = probe(clip.path)
    assert codec == clip.codec == "h264"
    assert (clip.width, clip.height) == (640, 360)
    asked = (9.0 + 3.0) - (5.3 - 2.0)
    duration = len(frames) / FPS
    assert asked <= duration <= asked + 1.0 + 1 / FPS  # starts up to one GOP early, at the keyframe
    assert frames[0].key_frame and frames[0].pts * time_base == pytest.approx(0.0)  # rebased to 0
    assert clip.duration_s == pytest.approx(duration, abs=0.11)
    # It is the camera's own picture: the frame at 3.0 s of the source (the keyframe the clip starts on).
    first = frames[0].to_ndarray(format="bgr24").astype(np.int16)
    assert np.abs(first - moving_scene(30).astype(np.int16)).mean() < 8
    assert np.abs(first - moving_scene(45).astype(np.int16)).mean() > np.abs(first - moving_scene(30)).mean()
    assert clip.path.read_bytes()[4:8] == b"ftyp"


def test_a_clip_is_a_copy_of_the_packets_not_a_new_encoding(tmp_path: Path) -> None:
    video = write_video(tmp_path / "cam.mp4", moving_scene, 100, fps=FPS, gop=GOP)
    clip, why = record(video, ClipConfig(enabled=True, before_s=0, after_s=1.0), ask=(2.0, 4.0))
    assert clip is not None, why
    with av.open(str(video)) as src:
        source_packets = [bytes(p) for p in src.demux(src.streams.video[0]) if p.size]
    with av.open(str(clip.path)) as out:
        clip_packets = [bytes(p) for p in out.demux(out.streams.video[0]) if p.size]
    assert clip_packets == source_packets[20 : 20 + len(clip_packets)]  # byte for byte, from the keyframe at 2 s


def test_a_stream_that_ends_early_gives_a_short_clip(tmp_path: Path) -> None:
    video = write_video(tmp_path / "cam.mp4", moving_scene, 60, fps=FPS, gop=GOP)  # 6 s
    clip, _ = record(video, ClipConfig(enabled=True, before_s=1.0, after_s=30.0), ask=(2.0, 4.0))
    assert clip is not None and clip.short
    _, frames, _ = probe(clip.path)
    assert len(frames) == 60 - 10  # from the keyframe at 1 s to the end


def test_a_start_older_than_the_ring_starts_at_its_oldest_keyframe(tmp_path: Path) -> None:
    video = write_video(tmp_path / "cam.mp4", moving_scene, 150, fps=FPS, gop=GOP)
    config = ClipConfig(enabled=True, before_s=0, after_s=1.0, buffer_s=4.0)
    clip, _ = record(video, config, ask=(1.0, 10.0))
    assert clip is not None and clip.short
    _, frames, _ = probe(clip.path)
    assert frames[0].key_frame
    assert 4.0 <= len(frames) / FPS <= 5.0 + 1 / FPS  # what the 4 s ring held, plus the 1 s after


def test_no_camera_no_clip() -> None:
    got: list[tuple[Clip | None, str]] = []
    recorder = ClipRecorder("cam-1", ClipConfig(enabled=True), Path("/nonexistent"), lambda e, c, w: got.append((c, w)))
    recorder.request("case-1", 0.0, 1.0)
    assert got == [(None, "the camera is not connected")]


def test_clips_need_a_packet_source() -> None:
    with pytest.raises(ValueError, match=r"clip\.enabled needs a compressed stream"):
        camera("http://cam/snapshot.jpg", clip={"enabled": True})
    assert camera("rtsp://cam/stream", clip={"enabled": True}).clip.enabled


def test_a_clip_from_a_live_stream_on_the_arrival_clock(tmp_path: Path) -> None:
    """A live HTTP MPEG-TS camera (served at its real rate): packets are timed by arrival, as the
    frames the rules see; the clip covers the asked seconds of wall time."""
    import time

    from edge_builders import free_port
    from test_sources import _Stream

    from streetwatch.edge.config import HealthConfig, ReconnectConfig
    from streetwatch.edge.health import HealthMonitor
    from streetwatch.edge.worker import CameraWorker

    ts = write_video(tmp_path / "live.ts", moving_scene, 100, fps=FPS, gop=GOP)
    port = free_port()
    stream = _Stream(ts.read_bytes(), port, seconds=10.0)  # 100 frames at 10 fps, sent in real time
    stream.start()
    got: list[tuple[Clip | None, str]] = []
    frames: list[float] = []
    config = ClipConfig(enabled=True, before_s=0.0, after_s=1.0)
    recorder = ClipRecorder("cam-1", config, tmp_path / "staging", lambda e, c, why: got.append((c, why)))
    worker = CameraWorker(
        camera(f"http://127.0.0.1:{port}/live.ts", sample_fps=2, clip={"enabled": True}),
        ReconnectConfig(initial_s=0.2, max_s=0.5, jitter=0.1, stall_timeout_s=3),
        HealthMonitor(HealthConfig(frozen_after_s=None, moved_after_s=None)),
        lambda cid, frame, started, ended: frames.append(frame.t),
        clips=recorder,
    )
    worker.start()
    try:
        deadline = time.monotonic() + 20
        while (not frames or frames[-1] - frames[0] < 3.5) and time.monotonic() < deadline:
            time.sleep(0.05)
        now = frames[-1]
        recorder.request("case-live", now - 2.0, now)  # first seen 2 s ago, confirmed now: 3 s with after_s
        while not got and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        worker.stop.set()
        stream.kill()
        worker.join(5)
    [(clip, why)] = got
    assert clip is not None and not clip.short, why
    _, decoded, _ = probe(clip.path)
    assert decoded[0].key_frame
    # 3 s asked, on the arrival clock: up to one GOP more at the start, and packets arrive in bursts
    # (TCP buffering, a busy CPU), which moves the cut by up to a burst either way.
    assert 3.0 - 1.0 <= len(decoded) / FPS <= 3.0 + 1.0 + 1.5


def test_a_stream_whose_clock_goes_back_starts_a_new_ring() -> None:
    """An encoder restart (or a looping source) restarts the timestamps: held packets cannot be joined
    to the new ones in one MP4, so the ring starts again at the new keyframe."""
    from fractions import Fraction
    from types import SimpleNamespace

    recorder = ClipRecorder("cam-1", ClipConfig(enabled=True), Path("/nonexistent"), lambda e, c, w: None)
    recorder.open(SimpleNamespace(time_base=Fraction(1, FPS)))
    for i in [*range(20), 0, 1, 2]:
        packet = av.Packet(bytes(100))
        packet.pts = packet.dts = i
        packet.is_keyframe = i % GOP == 0
        recorder.push(packet, t=len(recorder.ring) / FPS, wall=0.0)
    assert len(recorder.ring) == 3 and recorder.ring.span(-1, 1e9)[0].keyframe


def test_a_clip_from_a_real_rtsp_camera_keeps_its_untimed_first_keyframe(tmp_path: Path) -> None:
    """RTSP over TCP from a real RTSP server (tests/edge/rtsp_server.py), as the agent reads cameras.
    FFmpeg's RTSP client gives a session's first packet, a keyframe, no timestamp: a clip that starts
    there must still start on it and decode."""
    import time

    from edge_builders import free_port
    from rtsp_server import RtspServer, annexb_units

    from streetwatch.edge.config import HealthConfig, ReconnectConfig
    from streetwatch.edge.health import HealthMonitor
    from streetwatch.edge.worker import CameraWorker

    video = write_video(tmp_path / "cam.mp4", moving_scene, 100, fps=FPS, gop=GOP)
    server = RtspServer(annexb_units(video), FPS, free_port())
    server.start()
    got: list[tuple[Clip | None, str]] = []
    frames: list[float] = []
    config = ClipConfig(enabled=True, before_s=0.0, after_s=0.5)
    recorder = ClipRecorder("cam-1", config, tmp_path / "staging", lambda e, c, why: got.append((c, why)))
    worker = CameraWorker(
        camera(server.url, sample_fps=2, clip={"enabled": True}),
        ReconnectConfig(initial_s=0.2, max_s=0.5, jitter=0.1, stall_timeout_s=3),
        HealthMonitor(HealthConfig(frozen_after_s=None, moved_after_s=None)),
        lambda cid, frame, started, ended: frames.append(frame.t),
        clips=recorder,
    )
    worker.start()
    try:
        deadline = time.monotonic() + 20
        while (not frames or frames[-1] - frames[0] < 3.0) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert frames, worker.state.last_error
        recorder.request("case-rtsp", frames[0] - 60, frames[-1])  # from before the session began
        while not got and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        worker.stop.set()
        server.stop()
        worker.join(5)
    assert server.plays == 1 and recorder.ring.dropped_gops == 0
    [(clip, why)] = got
    assert clip is not None and clip.short, why  # the asked start is before the session
    codec, decoded, time_base = probe(clip.path)
    assert codec == "h264" and decoded[0].key_frame and decoded[0].pts * time_base == pytest.approx(0.0)
    assert len(decoded) >= 3.0 * FPS  # every packet since the session's first keyframe, which decodes
    first = decoded[0].to_ndarray(format="bgr24").astype(np.int16)
    assert np.abs(first - moving_scene(0).astype(np.int16)).mean() < 8  # the stream's first picture


def test_untimed_packets_are_timed_from_their_neighbours() -> None:
    from streetwatch.edge.clips import timestamps

    def packet(pts: int | None) -> BufferedPacket:
        return BufferedPacket(0.0, 0.0, b"", pts, pts, 10, pts is None)

    assert timestamps([packet(None), packet(0), packet(10), packet(None), packet(30)]) == [
        (-10, -10), (0, 0), (10, 10), (20, 20), (30, 30),
    ]  # fmt: skip
    assert timestamps([packet(None), packet(None)]) == [(0, 0), (1, 1)]
