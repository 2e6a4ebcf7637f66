"""Clips: a bounded ring buffer of one camera's compressed packets, cut and remuxed to MP4.

The camera already sends H.264/H.265; a clip is a copy of its packets from the keyframe at or
before "N s before first seen" to "M s after the confirmation", put in an MP4 container with the
stream's own parameters (SPS/PPS extradata), timestamps rebased to start at 0. Nothing is decoded
or encoded, so buffering and cutting cost almost no CPU (figures in docs/edge.md, `streetwatch
bench clips`).

Threads: `PacketRing` belongs to the camera's thread (the source pushes every packet before it
decides what to decode). The evidence worker asks for a clip with `ClipRecorder.request` once the
case is stored; the camera thread cuts it once a packet past its end arrives (or the stream ends)
and hands the MP4 file to `deliver`. The cut happens in the camera thread because the MP4 muxer copies the
parameters from the live input stream, which the camera thread owns and closes.

Bounds: at least `buffer_s` seconds (at most one GOP more) and at most `buffer_bytes` bytes,
dropped a GOP at a time from the front so the buffer always starts on a keyframe. A single GOP
over the byte bound (a stream without keyframes) empties the buffer until the next keyframe.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

from streetwatch.contract import ClipRef
from streetwatch.edge.config import ClipConfig

log = logging.getLogger(__name__)

# How long a stored case waits for its clip beyond `after_s` (the cut and the write take well under
# a second; a camera that stops sending packets must not hold the case for ever).
CLIP_WAIT_GRACE_S = 30.0
CODECS = ("h264", "hevc")  # what the case service accepts in a clip (and browsers play)


def clip_wait_s(config: ClipConfig) -> float:
    """The longest a case of a camera with clips waits before it is sent (without its clip)."""
    return config.after_s + CLIP_WAIT_GRACE_S


@dataclass(frozen=True)
class BufferedPacket:
    """One compressed video packet as the camera sent it."""

    t: float  # the source's clock, the one `SampledFrame.t` (and so every rule moment) uses
    wall: float  # UTC epoch seconds
    data: bytes
    pts: int | None  # in the stream's time base
    dts: int | None
    duration: int
    keyframe: bool


@dataclass(frozen=True)
class Clip:
    """An MP4 file cut from the ring, not yet owned by anyone: whoever `deliver` hands it to moves
    or deletes `path`."""

    path: Path
    size: int
    sha256: str
    codec: str  # FFmpeg's codec name: h264, hevc
    width: int
    height: int
    starts_at: datetime  # wall time of its first (key)frame, UTC
    duration_s: float  # presentation span of its packets
    packets: int
    short: bool  # the ring no longer held the asked start, or the stream ended before the asked end

    def ref(self) -> ClipRef:
        """How the case JSON describes it (contract)."""
        return ClipRef(
            sha256=self.sha256,
            codec=self.codec,  # type: ignore[arg-type]  # h264 | hevc: ClipRecorder cuts no other
            width=self.width,
            height=self.height,
            starts_at=self.starts_at,
            duration_s=max(self.duration_s, 1e-3),
        )


class PacketRing:
    """The newest packets of one stream, bounded by duration and bytes, starting on a keyframe."""

    def __init__(self, max_s: float, max_bytes: int) -> None:
        self.max_s, self.max_bytes = max_s, max_bytes
        self._packets: deque[BufferedPacket] = deque()
        self._key_t: deque[float] = deque()  # the time of each keyframe in _packets
        self.bytes = 0
        self.dropped_gops = 0

    def __len__(self) -> int:
        return len(self._packets)

    @property
    def seconds(self) -> float:
        return self._packets[-1].t - self._packets[0].t if self._packets else 0.0

    def held(self) -> tuple[float, int]:
        """(seconds, bytes) held, safe to read from another thread (the API) while packets arrive."""
        try:
            return self.seconds, self.bytes
        except IndexError:  # emptied between the two reads
            return 0.0, 0

    def clear(self) -> None:
        self._packets.clear()
        self._key_t.clear()
        self.bytes = 0

    def push(self, packet: BufferedPacket) -> None:
        if not self._packets and not packet.keyframe:
            return  # a clip must start on a keyframe: nothing before the first one is useful
        self._packets.append(packet)
        self.bytes += len(packet.data)
        if packet.keyframe:
            self._key_t.append(packet.t)
        # The oldest GOP goes once the rest still covers max_s (so at least max_s is held, at most a GOP
        # more), or while over the bytes bound.
        while len(self._key_t) >= 2 and (self.bytes > self.max_bytes or packet.t - self._key_t[1] >= self.max_s):
            self._drop_gop()
        if self.bytes > self.max_bytes:  # one GOP larger than the budget: start again at the next keyframe
            self.clear()

    def _drop_gop(self) -> None:
        self.bytes -= len(self._packets.popleft().data)
        self._key_t.popleft()
        while self._packets and not self._packets[0].keyframe:
            self.bytes -= len(self._packets.popleft().data)
        self.dropped_gops += 1

    def span(self, start_t: float, end_t: float) -> list[BufferedPacket]:
        """Packets from the last keyframe at or before `start_t` (else the oldest keyframe held) up to,
        in decode order, the first packet later than `end_t` (excluded: what follows it may need it)."""
        packets = list(self._packets)
        start = 0
        for index, packet in enumerate(packets):
            if packet.t > start_t:
                break
            if packet.keyframe:
                start = index
        out = []
        for packet in packets[start:]:
            if packet.t > end_t:
                break
            out.append(packet)
        return out


def timestamps(packets: Sequence[BufferedPacket]) -> list[tuple[int, int]]:
    """(pts, dts) of each packet. A packet without either (FFmpeg's RTSP client gives the first
    packet of a session none) is timed one duration after the packet before it, or, at the start,
    one duration before the first timed packet, so the clip's first keyframe is never lost."""
    times: list[tuple[int, int] | None] = []
    for packet in packets:
        pts = packet.pts if packet.pts is not None else packet.dts
        dts = packet.dts if packet.dts is not None else pts
        times.append(None if pts is None or dts is None else (pts, dts))
    first = next((i for i, t in enumerate(times) if t is not None), None)
    if first is None:
        return [(i, i) for i in range(len(packets))]  # no times at all: one tick apart
    for i in range(first - 1, -1, -1):  # backwards from the first timed packet
        pts, dts = times[i + 1]  # type: ignore[misc]
        step = packets[i].duration or 1
        times[i] = (pts - step, dts - step)
    for i in range(first + 1, len(times)):
        if times[i] is None:
            pts, dts = times[i - 1]  # type: ignore[misc]
            step = packets[i - 1].duration or 1
            times[i] = (pts + step, dts + step)
    return times  # type: ignore[return-value]


def remux_mp4(template: Any, packets: Sequence[BufferedPacket], path: Path) -> None:
    """Write `packets` (starting on a keyframe) to an MP4 at `path` with `template`'s codec parameters
    (an input `av.VideoStream`), timestamps rebased so the first frame is at 0, `moov` up front
    (faststart) so a browser can play it before it has all of it."""
    import av

    times = timestamps(packets)
    base = times[0][0]
    last_dts: int | None = None
    with av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"}) as out:
        stream = out.add_stream_from_template(template)
        for packet, (pts, dts) in zip(packets, times, strict=True):
            if last_dts is not None and dts - base <= last_dts:
                continue  # out of order: the MP4 muxer refuses it
            copy = av.Packet(packet.data)
            copy.pts, copy.dts, copy.duration = pts - base, dts - base, packet.duration
            copy.is_keyframe = packet.keyframe
            copy.time_base = template.time_base
            copy.stream = stream
            out.mux(copy)
            last_dts = dts - base


@dataclass(frozen=True)
class ClipRequest:
    event_id: str
    start_t: float  # first seen - before_s, on the source's clock
    end_t: float  # confirmation + after_s


# deliver(event_id, clip or None, why): None when no clip could be cut (the reason says why)
Deliver = Callable[[str, Clip | None, str], None]


class ClipRecorder:
    """One camera's ring and its pending clip requests. `request` is called from any thread; `open`,
    `push` and `close` from the camera's thread only (the source calls them)."""

    def __init__(self, camera_id: str, config: ClipConfig, staging: Path, deliver: Deliver) -> None:
        self.camera_id, self.config = camera_id, config
        self.staging = staging  # where MP4 files are written before the outbox takes them (same disk)
        self.deliver = deliver
        self.ring = PacketRing(config.buffer_s, config.buffer_bytes)
        self._lock = threading.Lock()
        self._pending: list[ClipRequest] = []
        self._template: Any = None  # the open input stream (camera thread), None while disconnected
        self._time_base: Fraction | None = None
        self._last_dts: int | None = None  # decode order: a step back means a new timeline
        self.cut = 0  # clips delivered
        self.missed = 0  # requests answered without a clip

    def request(self, event_id: str, first_seen_t: float, confirmed_t: float) -> None:
        """Ask for the clip of one case; `deliver` is called once for it, with a clip or with None."""
        req = ClipRequest(event_id, first_seen_t - self.config.before_s, confirmed_t + self.config.after_s)
        with self._lock:
            if self._template is not None:
                self._pending.append(req)
                return
        self.missed += 1
        self.deliver(event_id, None, "the camera is not connected")

    # -- camera thread -----------------------------------------------------------------------------
    def open(self, stream: Any) -> None:
        """A new connection: packets of the old one cannot be joined to the new one's timestamps."""
        self.ring.clear()
        self._last_dts = None
        with self._lock:
            self._template = stream
            self._time_base = stream.time_base

    def push(self, packet: Any, t: float, wall: float) -> None:
        """Keep one demuxed `av.Packet` (its bytes are copied), then cut every clip it completes."""
        dts = packet.dts if packet.dts is not None else packet.pts
        if dts is not None and self._last_dts is not None and dts <= self._last_dts:
            # The stream's clock went back (an encoder restart, a looping source): what is held
            # cannot be joined to what follows, as after a reconnect.
            self.ring.clear()
        self._last_dts = dts if dts is not None else self._last_dts
        self.ring.push(
            BufferedPacket(t, wall, bytes(packet), packet.pts, packet.dts, packet.duration or 0, packet.is_keyframe)
        )
        with self._lock:
            due = [r for r in self._pending if t > r.end_t]
            self._pending = [r for r in self._pending if t <= r.end_t]
            template = self._template
        for req in due:
            self._cut(req, template, ended=False)

    def close(self) -> None:
        """The stream ended or broke: cut what is pending with what there is (the stream's parameters
        still exist), and from now on answer requests with "not connected"."""
        with self._lock:
            pending, self._pending = self._pending, []
            template, self._template = self._template, None
        for req in pending:
            self._cut(req, template, ended=True)

    def _cut(self, req: ClipRequest, template: Any, ended: bool) -> None:
        packets = self.ring.span(req.start_t, req.end_t)
        codec = template.codec_context.name if template is not None else ""
        if template is not None and codec not in CODECS:
            self.missed += 1
            self.deliver(req.event_id, None, f"the camera sends {codec}; clips are made of H.264 or H.265 only")
            return
        if not packets or template is None:
            self.missed += 1
            self.deliver(req.event_id, None, "no packets of the asked time are buffered")
            return
        try:
            clip = self._write(template, packets, short=ended or packets[0].t > req.start_t)
        except Exception as exc:  # a clip must never take the camera down
            log.warning("camera %s: clip for case %s not written: %s", self.camera_id, req.event_id, exc)
            self.missed += 1
            self.deliver(req.event_id, None, f"remux failed: {exc}")
            return
        self.cut += 1
        self.deliver(req.event_id, clip, "")

    def _write(self, template: Any, packets: list[BufferedPacket], short: bool) -> Clip:
        self.staging.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=self.staging, prefix=f"{self.camera_id}-", suffix=".mp4")
        os.close(fd)
        path = Path(name)
        try:
            remux_mp4(template, packets, path)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        time_base = float(self._time_base or 0)
        times = timestamps(packets)
        first = times[0][0]
        ends = [pts + p.duration for p, (pts, _) in zip(packets, times, strict=True)]
        ctx = template.codec_context
        return Clip(
            path=path,
            size=path.stat().st_size,
            sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
            codec=ctx.name,
            width=ctx.width,
            height=ctx.height,
            starts_at=datetime.fromtimestamp(packets[0].wall, UTC),
            duration_s=max(0.0, (max(ends) - first) * time_base),
            packets=len(packets),
            short=short,
        )
