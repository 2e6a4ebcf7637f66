"""`streetwatch bench clips` measures what it says: the three ways read the same stream, and only the
ring+remux way cuts a clip, of the asked length."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from streetwatch.benchmarks.bench_clips import clip_sizes, read_once


def small_stream(path: Path, seconds: int = 8, fps: int = 10) -> Path:
    rng = np.random.default_rng(0)
    with av.open(str(path), "w", format="mpegts") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps, 1))
        stream.width, stream.height, stream.pix_fmt = 160, 96, "yuv420p"
        stream.codec_context.gop_size = fps
        stream.options = {"preset": "ultrafast", "bf": "0", "sc_threshold": "0"}
        for _ in range(seconds * fps):
            pixels = rng.integers(0, 256, size=(96, 160, 3), dtype=np.uint8)  # (H, W, 3)
            for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="bgr24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def test_the_three_ways_and_the_clip_sizes(tmp_path: Path) -> None:
    video = small_stream(tmp_path / "s.ts")
    assert read_once(video, "decode", 3.0, 8.0, tmp_path / "staging").clip is None
    assert read_once(video, "ring", 3.0, 8.0, tmp_path / "staging").clip is None
    cut = read_once(video, "ring+remux", 3.0, 8.0, tmp_path / "staging").clip
    assert cut is not None and 3.0 <= cut.duration_s <= 5.0 + 0.11  # asked 3 s before t=6 s, cut at the end
    assert not cut.path.exists()  # the benchmark leaves nothing behind
    sizes = clip_sizes(video, 8.0, tmp_path / "staging", [2.0, 4.0])
    assert sizes[2.0][0] < sizes[4.0][0] and 2.0 <= sizes[2.0][1] <= 3.11
