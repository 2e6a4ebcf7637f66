"""Evidence clips: an MP4 (ISO base media file, ISO/IEC 14496-12) checked from its bytes before it is stored.

The edge box remuxes the camera's own H.264/H.265 packets (edge/clips.py), so a clip is an MP4
with one video track. The check reads the box structure only, nothing is decoded (a clip can be
tens of MB and decoding it would cost the server seconds of CPU): every top-level box must end
inside the file and the boxes must add up to its exact length (a cut-off upload fails here), a
`moov` with one video track whose sample entry is H.264 (`avc1`/`avc3`) or H.265 (`hvc1`/`hev1`),
a duration within the limit, and every chunk of samples inside an `mdat`. The walk is bounded
(box count, depth), so hostile nesting cannot make it loop.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

from streetwatch.cases.evidence import EvidenceRejected, sha256_hex, sniff

MP4_CONTENT_TYPE = "video/mp4"
CLIP_ROLE = "clip"  # the evidence row of a case's clip (case.clip in the contract), beside the stills' roles
CODECS = {"avc1": "h264", "avc3": "h264", "hvc1": "hevc", "hev1": "hevc"}  # sample entry -> FFmpeg's name
EXPECTED = "an MP4 (ISO BMFF) with an H.264 (avc1/avc3) or H.265 (hvc1/hev1) video track"
# Major brands of MP4 files (FFmpeg's mp4 muxer writes isom); HEIF images (heic, mif1) and
# QuickTime (qt) files also start with ftyp and are refused.
_BRANDS = {b"isom", b"iso2", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"M4V ", b"dash"}
_MAX_BOXES = 10_000


@dataclass(frozen=True)
class CheckedClip:
    sha256: str
    data: bytes
    codec: str  # h264 | hevc
    width: int
    height: int
    duration_s: float
    content_type: str = MP4_CONTENT_TYPE


class _Bad(Exception):
    """Structure broken: a 422 naming where."""


@dataclass(frozen=True)
class _Box:
    kind: bytes
    start: int  # offset of the payload in the file
    end: int  # offset just after the box


def _boxes(data: bytes, start: int, end: int, budget: list[int]) -> Iterator[_Box]:
    """The boxes between `start` and `end`, which they must fill exactly."""
    at = start
    while at < end:
        budget[0] -= 1
        if budget[0] < 0:
            raise _Bad(f"more than {_MAX_BOXES} boxes")
        if end - at < 8:
            raise _Bad(f"{end - at} stray bytes at offset {at} (a box header needs 8)")
        size, kind = struct.unpack_from(">I4s", data, at)
        header = 8
        if size == 1:
            if end - at < 16:
                raise _Bad(f"box {kind!r} at offset {at} is cut off in its header")
            size = struct.unpack_from(">Q", data, at + 8)[0]
            header = 16
        elif size == 0:
            size = end - at  # "to the end of the file": only the last box may say so
        if size < header or at + size > end:
            raise _Bad(f"box {kind!r} at offset {at} says {size} bytes but only {end - at} remain (cut off?)")
        yield _Box(kind, at + header, at + size)
        at += size


def _find(data: bytes, box: _Box, kind: bytes, budget: list[int]) -> list[_Box]:
    return [b for b in _boxes(data, box.start, box.end, budget) if b.kind == kind]


def _one(data: bytes, box: _Box, kind: bytes, budget: list[int]) -> _Box:
    found = _find(data, box, kind, budget)
    if len(found) != 1:
        raise _Bad(f"expected one {kind.decode()} box in {box.kind.decode()}; found {len(found)}")
    return found[0]


def _duration(data: bytes, box: _Box) -> float:
    """mvhd/mdhd: timescale and duration (version 0 or 1)."""
    version = data[box.start]
    if version == 1:
        timescale, duration = struct.unpack_from(">IQ", data, box.start + 20)
    else:
        timescale, duration = struct.unpack_from(">II", data, box.start + 12)
    if timescale == 0:
        raise _Bad(f"{box.kind.decode()} has timescale 0")
    return duration / timescale


def _chunk_offsets(data: bytes, stbl: _Box, budget: list[int]) -> list[int]:
    tables = _find(data, stbl, b"stco", budget) + _find(data, stbl, b"co64", budget)
    if len(tables) != 1:
        raise _Bad(f"expected one stco or co64 box in stbl; found {len(tables)}")
    table = tables[0]
    width = 8 if table.kind == b"co64" else 4
    (count,) = struct.unpack_from(">I", data, table.start + 4)
    if table.start + 8 + count * width > table.end:
        raise _Bad(f"{table.kind.decode()} lists {count} chunks but is too short for them")
    fmt = ">" + ("Q" if width == 8 else "I") * count
    return list(struct.unpack_from(fmt, data, table.start + 8))


def check_mp4(data: bytes, *, label: str, max_bytes: int, max_seconds: float) -> CheckedClip:
    """Accept `data` only if it is a complete MP4 with one H.264/H.265 video track within the limits."""
    if len(data) > max_bytes:
        raise EvidenceRejected(f"{label} is {len(data)} bytes; the limit is {max_bytes}", status=413)
    if not data:
        raise EvidenceRejected(f"{label} is empty; expected {EXPECTED}")
    if data[4:8] != b"ftyp":
        kind = sniff(data)
        if data[:4] == b"\x1a\x45\xdf\xa3":
            kind = "video/webm or Matroska"
        elif data[:1] == b"\x47" and data[188:189] in (b"\x47", b""):
            kind = "video/mp2t (MPEG-TS)"
        raise EvidenceRejected(f"{label} is {kind} by its content; expected {EXPECTED}", status=415)
    if data[8:12] not in _BRANDS:
        raise EvidenceRejected(
            f"{label} is an ISO BMFF file of brand {data[8:12].decode('latin-1')!r}, not an MP4; expected {EXPECTED}",
            status=415,
        )
    budget = [_MAX_BOXES]
    try:
        top = list(_boxes(data, 0, len(data), budget))
        kinds = [b.kind for b in top]
        if kinds.count(b"moov") != 1 or b"mdat" not in kinds:
            raise _Bad(f"expected one moov box and an mdat box at the top level; found {[k.decode() for k in kinds]}")
        moov = top[kinds.index(b"moov")]
        duration = _duration(data, _one(data, moov, b"mvhd", budget))
        video = []
        for trak in _find(data, moov, b"trak", budget):
            mdia = _one(data, trak, b"mdia", budget)
            hdlr = _one(data, mdia, b"hdlr", budget)
            if data[hdlr.start + 8 : hdlr.start + 12] == b"vide":
                video.append((trak, mdia))
        if len(video) != 1:
            raise _Bad(f"expected one video track; found {len(video)}")
        trak, mdia = video[0]
        stbl = _one(data, _one(data, mdia, b"minf", budget), b"stbl", budget)
        stsd = _one(data, stbl, b"stsd", budget)
        entries = list(_boxes(data, stsd.start + 8, stsd.end, budget))
        if len(entries) != 1:
            raise _Bad(f"expected one sample description; found {len(entries)}")
        entry = entries[0]
        fourcc = entry.kind.decode("latin-1")
        if fourcc not in CODECS:
            raise EvidenceRejected(f"{label} has video codec {fourcc!r}; expected {EXPECTED}", status=415)
        if entry.end - entry.start < 28:
            raise _Bad(f"sample entry {fourcc} is too short")
        width, height = struct.unpack_from(">HH", data, entry.start + 24)
        mdats = [b for b in top if b.kind == b"mdat"]
        offsets = _chunk_offsets(data, stbl, budget)
        if not offsets:
            raise _Bad("the video track has no samples")
        outside = [o for o in offsets if not any(m.start <= o < m.end for m in mdats)]
        if outside:
            raise _Bad(f"{len(outside)} chunk(s) of samples point outside the mdat data (first at offset {outside[0]})")
        duration = max(duration, _duration(data, _one(data, mdia, b"mdhd", budget)))
    except _Bad as exc:
        raise EvidenceRejected(f"{label} is not a complete MP4: {exc}") from None
    except struct.error as exc:
        raise EvidenceRejected(f"{label} is not a complete MP4: a box is too short ({exc})") from None
    if not 0 < duration <= max_seconds:
        raise EvidenceRejected(f"{label} lasts {duration:.1f} s; expected more than 0 and at most {max_seconds:g} s")
    if not (width and height):
        raise EvidenceRejected(f"{label} has no picture size ({width}x{height}) in its sample entry")
    return CheckedClip(sha256_hex(data), data, CODECS[fourcc], width, height, duration)
