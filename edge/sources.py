"""Camera sources: video files, RTSP, HTTP streams (MPEG-TS, MJPEG), HTTP snapshots, USB.

Each source yields `SampledFrame`s at about `sample_fps`, decoding as little as it can:
- PyAV sources demux every packet (cheap) but decode only keyframes when the stream's keyframe
  interval is no longer than the sampling interval (`decode: auto` finds this out from the first
  two keyframes; `keyframes` forces it). A 25 fps camera with a 1 s GOP sampled at 1 frame/s then
  costs 1 decode per second instead of 25. With longer GOPs every frame must be decoded (P-frames
  need their references), but only sampled frames are converted to BGR, and non-reference frames
  are skipped.
- Files are recordings: every frame is timed by its media time, and a file never loses a sampled
  frame (the pipeline waits for the detector instead of replacing it, pipeline.py). With `realtime`
  (default) a file plays no faster than its native rate, so a demo looks live on a machine that
  keeps up; on one that does not (a busy CPU) it plays slower, and its rules still see the same
  samples on the same clock. With `realtime: false` files run as fast as they decode.

A source raises `SourceError` when it cannot open or the stream breaks; `CameraWorker` (worker.py)
reconnects with backoff. Nothing here blocks for longer than the configured stall timeout.
"""

from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from streetwatch.edge.clips import ClipRecorder
from streetwatch.edge.config import CameraConfig, source_kind
from streetwatch.edge.sampling import sample_fps_of
from streetwatch.redact import mask_secrets, mask_url

log = logging.getLogger(__name__)


class SourceError(Exception):
    """The source could not be opened or broke off; the worker reconnects."""


@dataclass(frozen=True)
class SampledFrame:
    image: npt.NDArray[np.uint8]  # (H, W, 3) BGR
    t: float  # monotonic s when the frame arrived; for files, start + media time
    wall: datetime  # UTC
    captured: float  # time.monotonic() when its data arrived: frame-to-decision latency starts here


class Sampler:
    """Decides which frames to keep for a target rate, on whatever clock the source uses.

    `phase_s` (0 < phase <= interval) is the delay from the first sample to the second: cameras of
    one interval get different phases so that their samples interleave (edge/sampling.py).
    """

    def __init__(self, sample_fps: float, phase_s: float = 0.0) -> None:
        self.interval = 1.0 / sample_fps
        self.phase_s = phase_s if 0 < phase_s <= self.interval else self.interval
        self.next_due: float | None = None
        self.early_s = 1e-6  # how much earlier than due a frame may come and still be kept

    def frames_come_every(self, spacing_s: float) -> None:
        """The frames this source can hand over come about `spacing_s` apart (a keyframe-only
        decoder: one per GOP). A frame arriving up to half of that before the due time is the one
        nearest to it, so it is kept: otherwise a few milliseconds of network jitter push the sample
        to the next keyframe a whole GOP later, and a camera sampled once per GOP (1 frame/s, 1 s
        GOP) whose due times fall on its keyframes' arrival loses a third to a half of its samples."""
        self.early_s = max(1e-6, min(spacing_s, self.interval) / 2)

    def is_due(self, t: float) -> bool:
        """Would `due(t)` keep a frame at `t`? (No state change: asked before paying for a decode.)"""
        return self.next_due is None or t >= self.next_due - self.early_s

    def due(self, t: float) -> bool:
        if self.next_due is None:
            self.next_due = t + self.phase_s
            return True
        if t >= self.next_due - self.early_s:
            # Stay on the grid, but never build a backlog after a stall.
            base = t if t - self.next_due > self.interval else self.next_due
            self.next_due = base + self.interval
            return True
        return False


class FrameSource(ABC):
    def __init__(
        self,
        camera: CameraConfig,
        stall_timeout_s: float,
        stop: threading.Event,
        phase_s: float = 0.0,
        clips: ClipRecorder | None = None,
    ) -> None:
        self.camera = camera
        self.clips = clips  # PyAV sources hand it every packet before deciding what to decode (edge/clips.py)
        # The source as every message shows it: a camera URL's password never appears in an error.
        self.name = mask_url(camera.source)
        self.phase_s = phase_s  # see Sampler
        self.stall_timeout_s = stall_timeout_s
        self.stop = stop
        self.decoded = 0  # frames decoded (cost), versus frames yielded (sampled)
        self.packets = 0  # compressed frames read from the stream (keeping up with a live camera)

    @abstractmethod
    def frames(self) -> Iterator[SampledFrame]:
        """Sampled frames until the source ends (files) or breaks (SourceError)."""

    @property
    def is_file(self) -> bool:
        return False


class PyAvSource(FrameSource):
    """Files, RTSP and HTTP/TCP streams through FFmpeg (PyAV), keyframe-only when that suffices."""

    def __init__(
        self,
        camera: CameraConfig,
        stall_timeout_s: float,
        stop: threading.Event,
        kind: str,
        phase_s: float = 0.0,
        clips: ClipRecorder | None = None,
    ) -> None:
        super().__init__(camera, stall_timeout_s, stop, phase_s, clips)
        self.kind = kind
        self.mode = camera.decode  # auto | keyframes | all
        self.gop_s: float | None = None

    @property
    def is_file(self) -> bool:
        return self.kind == "file"

    def _open(self):  # -> av.container.InputContainer
        import av

        options = {"rtsp_transport": "tcp"} if self.kind == "rtsp" else {}
        if self.is_file and not Path(self.camera.source).is_file():
            raise SourceError(f"video file not found: {self.name}")
        try:
            return av.open(self.camera.source, options=options, timeout=(self.stall_timeout_s, self.stall_timeout_s))
        except (av.FFmpegError, OSError) as exc:
            raise SourceError(f"cannot open {self.name}: {mask_secrets(str(exc))}") from None

    def frames(self) -> Iterator[SampledFrame]:
        import av

        container = self._open()
        clips = self.clips
        try:
            if not container.streams.video:
                raise SourceError(f"{self.name}: no video stream")
            stream = container.streams.video[0]
            stream.codec_context.thread_count = 1  # many cameras share few cores: one thread each
            time_base = float(stream.time_base or 0) or 1 / 90000
            sampler = Sampler(sample_fps_of(self.camera), self.phase_s)
            realtime = self.is_file and self.camera.realtime
            start_mono, start_wall = time.monotonic(), datetime.now(UTC)
            first_pts: float | None = None
            last_key: float | None = None
            keyframes_only = self.mode == "keyframes"
            if self.mode == "all":
                stream.codec_context.skip_frame = "NONREF"
            if clips is not None:
                clips.open(stream)
            for packet in container.demux(stream):
                if self.stop.is_set():
                    return
                if packet.size == 0:  # flush packet at the end of a file
                    continue
                self.packets += 1
                arrived = time.monotonic()
                pts_s = (packet.pts if packet.pts is not None else (packet.dts or 0)) * time_base
                if first_pts is None:
                    first_pts = pts_s
                media_t = pts_s - first_pts
                if clips is not None:  # every packet, before any is skipped: a clip needs them all
                    # On the clock the frames get below: media time for files, arrival for live streams.
                    if self.is_file:
                        clips.push(packet, start_mono + media_t, start_wall.timestamp() + media_t)
                    else:
                        clips.push(packet, arrived, time.time())
                if packet.is_keyframe:
                    if last_key is not None and media_t > last_key:
                        self.gop_s = media_t - last_key
                        if self.mode == "auto":
                            keyframes_only = self.gop_s <= sampler.interval * 1.05
                        if keyframes_only:
                            sampler.frames_come_every(self.gop_s)
                    last_key = media_t
                if keyframes_only and not packet.is_keyframe:
                    continue
                if keyframes_only and not sampler.is_due(arrived if not self.is_file else start_mono + media_t):
                    continue  # a keyframe the sampler would not keep (a slow-sampled camera): skip its decode
                try:
                    decoded = packet.decode()
                except av.FFmpegError as exc:
                    if self.is_file:
                        raise SourceError(f"{self.name}: corrupt video data ({mask_secrets(str(exc))})") from None
                    continue  # a damaged packet on a live stream: the next keyframe repairs it
                for frame in decoded:
                    self.decoded += 1
                    # Packets come in decode order: with B-frames a packet's decoder returns an earlier
                    # frame, several at once. Time each frame by its own presentation time, or a burst
                    # of frames shares one clock reading and the sampler keeps only one of them.
                    frame_t = frame.pts * time_base - first_pts if frame.pts is not None else media_t
                    if realtime:  # play the file at its own frame rate
                        delay = start_mono + frame_t - time.monotonic()
                        if delay > 0 and self.stop.wait(delay):
                            return
                        arrived = time.monotonic()
                    if self.is_file:  # the recording's own clock, however fast the box plays it
                        t, wall = start_mono + frame_t, start_wall + timedelta(seconds=frame_t)
                    else:
                        t, wall = arrived, datetime.now(UTC)
                    if sampler.due(t):
                        yield SampledFrame(frame.to_ndarray(format="bgr24"), t, wall, arrived)
        except av.FFmpegError as exc:
            raise SourceError(f"{self.name}: stream error ({mask_secrets(str(exc))})") from None
        finally:
            if clips is not None:
                clips.close()  # cuts pending clips while the stream's parameters still exist
            container.close()
        if not self.is_file:
            raise SourceError(f"{self.name}: stream ended")


class SnapshotSource(FrameSource):
    """An HTTP endpoint that returns one JPEG per request, polled at `sample_fps`."""

    def frames(self) -> Iterator[SampledFrame]:
        import httpx

        interval = 1.0 / sample_fps_of(self.camera)
        first = True
        with httpx.Client(timeout=self.stall_timeout_s) as client:
            while not self.stop.is_set():
                started = time.monotonic()
                try:
                    response = client.get(self.camera.source)
                    response.raise_for_status()
                except httpx.HTTPError as exc:
                    raise SourceError(f"{self.name}: {mask_secrets(str(exc))}") from None
                image = cv2.imdecode(np.frombuffer(response.content, np.uint8), cv2.IMREAD_COLOR)
                if image is None:
                    raise SourceError(f"{self.name}: response is not an image")
                self.decoded += 1
                yield SampledFrame(image, started, datetime.now(UTC), started)
                wait = self.phase_s if first and 0 < self.phase_s <= interval else interval
                first = False
                self.stop.wait(max(0.0, wait - (time.monotonic() - started)))


class UsbSource(FrameSource):
    """A local camera (V4L2) through OpenCV; frames are read continuously so none go stale."""

    def frames(self) -> Iterator[SampledFrame]:
        index = int(self.camera.source.split(":", 1)[1])
        capture = cv2.VideoCapture(index)
        if not capture.isOpened():
            raise SourceError(f"USB camera {index} cannot be opened")
        sampler = Sampler(sample_fps_of(self.camera), self.phase_s)
        try:
            while not self.stop.is_set():
                ok = capture.grab()  # grab() without retrieve(): no colour conversion for skipped frames
                now = time.monotonic()
                if not ok:
                    raise SourceError(f"USB camera {index} stopped delivering frames")
                if sampler.due(now):
                    ok, image = capture.retrieve()
                    if ok:
                        self.decoded += 1
                        yield SampledFrame(image, now, datetime.now(UTC), now)
        finally:
            capture.release()


def open_source(
    camera: CameraConfig,
    stall_timeout_s: float,
    stop: threading.Event,
    phase_s: float = 0.0,
    clips: ClipRecorder | None = None,
) -> FrameSource:
    kind = source_kind(camera)
    if kind == "http_snapshot":
        return SnapshotSource(camera, stall_timeout_s, stop, phase_s)
    if kind == "usb":
        return UsbSource(camera, stall_timeout_s, stop, phase_s)
    return PyAvSource(camera, stall_timeout_s, stop, kind, phase_s, clips)


def video_file_size(path: Path) -> tuple[int, int] | None:
    """(width, height) of a video file's first video stream, from its header (nothing decoded);
    None when the file cannot be read (`check` says nothing then; `run` reports the camera)."""
    import av

    try:
        with av.open(str(path)) as container:
            stream = next(iter(container.streams.video), None)
            if stream is None or not stream.codec_context.width:
                return None
            return int(stream.codec_context.width), int(stream.codec_context.height)
    except (av.FFmpegError, OSError):
        return None
