"""`streetwatch bench clips`: what clips cost. The same 1080p 25 fps H.264 stream (GOP 1 s, the
scenes of `bench edge`) is read through the agent's own source (`PyAvSource`, 1 sample/s, keyframe-only
decoding) three ways, interleaved: decode only (today), decode + the clip ring buffer, decode + ring +
one clip cut and remuxed at the end. It prints the median CPU seconds per second of video of each and
the ratios against decode only, the remux time of a clip, and clip sizes per scene (moving, static).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from streetwatch.benchmarks.bench_edge import FPS, encode_clip
from streetwatch.edge.clips import Clip, ClipRecorder
from streetwatch.edge.config import CameraConfig, ClipConfig
from streetwatch.edge.sources import PyAvSource


def register(benches: argparse._SubParsersAction) -> None:
    parser = benches.add_parser(
        "clips",
        help="CPU of the clip ring buffer and remux against decode-only, and clip sizes",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the test stream")
    parser.add_argument("--repeats", type=int, default=5, help="runs of each way (interleaved)")
    parser.add_argument("--clip-s", type=float, default=20.0, help="length of the clip cut at the end")
    parser.set_defaults(func=_main)


@dataclass(frozen=True)
class Run:
    cpu_s: float
    wall_s: float
    clip: Clip | None


def camera(source: Path, clips: bool) -> CameraConfig:
    return CameraConfig.model_validate(
        {
            "id": "bench",
            "source": str(source),
            "sample_fps": 1,
            "realtime": False,
            "location": {"lat": 31.2, "lon": 121.5},
            "clip": {"enabled": clips, "before_s": 0, "after_s": 0},
        }
    )


def read_once(video: Path, way: str, clip_s: float, seconds: float, staging: Path) -> Run:
    """One pass over the file through PyAvSource; `way`: decode | ring | ring+remux."""
    got: list[Clip | None] = []
    recorder = None
    if way != "decode":
        config = ClipConfig(enabled=True, before_s=0, after_s=0, buffer_s=max(clip_s, 1.0) + 2)
        recorder = ClipRecorder("bench", config, staging, lambda _e, clip, _why: got.append(clip))
    source = PyAvSource(camera(video, recorder is not None), 5, threading.Event(), "file", clips=recorder)
    cpu, wall = time.process_time(), time.perf_counter()
    t0: float | None = None
    asked = False
    for frame in source.frames():
        t0 = frame.t if t0 is None else t0
        if way == "ring+remux" and recorder is not None and not asked and frame.t - t0 >= seconds - 2:
            # A case confirmed near the end, first seen clip_s before; cut when the file ends.
            recorder.request("bench", frame.t - clip_s, frame.t + 10)
            asked = True
    run = Run(time.process_time() - cpu, time.perf_counter() - wall, got[0] if got else None)
    if run.clip is not None:
        run.clip.path.unlink(missing_ok=True)
    return run


def clip_sizes(video: Path, seconds: float, staging: Path, lengths: list[float]) -> dict[float, tuple[int, float]]:
    """Clip length asked -> (bytes, seconds it lasts) cut from the end of `video`."""
    out = {}
    for length in lengths:
        got: list[Clip | None] = []
        config = ClipConfig(enabled=True, before_s=0, after_s=0, buffer_s=length + 2)
        recorder = ClipRecorder("bench", config, staging, lambda _e, clip, _why, got=got: got.append(clip))
        source = PyAvSource(camera(video, True), 5, threading.Event(), "file", clips=recorder)
        t0 = None
        for frame in source.frames():
            t0 = frame.t if t0 is None else t0
            if not got and not recorder._pending and frame.t - t0 >= seconds - 1:
                recorder.request("size", frame.t - length, frame.t + 10)
        clip = got[0]
        assert clip is not None
        out[length] = (clip.size, clip.duration_s)
        clip.path.unlink(missing_ok=True)
    return out


def _main(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        staging = root / "staging"
        videos = {}
        for scene in ("moving", "static"):
            started = time.perf_counter()
            path = root / f"{scene}.ts"
            path.write_bytes(encode_clip(0, scene, seconds=args.seconds))
            videos[scene] = path
            rate = path.stat().st_size * 8 / args.seconds / 1e6
            print(f"{scene}: {args.seconds:.0f} s of 1920x1080 {FPS} fps H.264 (GOP 1 s), {rate:.2f} Mbit/s "
                  f"(encoded in {time.perf_counter() - started:.0f} s)")  # fmt: skip
        ways = ("decode", "ring", "ring+remux")
        runs: dict[str, list[Run]] = {w: [] for w in ways}
        read_once(videos["moving"], "decode", args.clip_s, args.seconds, staging)  # warm-up (page cache, codecs)
        for _ in range(args.repeats):
            for way in ways:
                runs[way].append(read_once(videos["moving"], way, args.clip_s, args.seconds, staging))
        base = statistics.median(r.cpu_s for r in runs["decode"])
        print(f"\nCPU per pass over {args.seconds:.0f} s of the moving scene, median of {args.repeats} (interleaved):")
        print(f"{'way':<12} {'CPU s':>8} {'CPU ms per video s':>19} {'vs decode only':>15}")
        for way in ways:
            cpu = statistics.median(r.cpu_s for r in runs[way])
            print(f"{way:<12} {cpu:8.3f} {cpu / args.seconds * 1000:19.1f} {cpu / base:14.3f}x")
        remux_extra = statistics.median(r.cpu_s for r in runs["ring+remux"]) - statistics.median(
            r.cpu_s for r in runs["ring"]
        )
        clip = next(r.clip for r in runs["ring+remux"] if r.clip is not None)
        print(f"remux of one {clip.duration_s:.1f} s clip ({clip.size / 1e6:.2f} MB): "
              f"about {remux_extra * 1000:.0f} ms CPU (difference of the medians)")  # fmt: skip
        print("\nclip sizes (cut from the end of each stream):")
        print(f"{'scene':<8} {'asked s':>8} {'lasts s':>8} {'MB':>8} {'MB per minute':>14}")
        lengths = [length for length in (10.0, 20.0, args.seconds - 4) if length <= args.seconds - 4]
        for scene, path in videos.items():
            for length, (size, lasts) in clip_sizes(path, args.seconds, staging, lengths).items():
                print(f"{scene:<8} {length:8.0f} {lasts:8.1f} {size / 1e6:8.2f} {size / 1e6 / lasts * 60:14.1f}")
    return 0
