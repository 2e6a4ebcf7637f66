"""`streetwatch bench edge`: how many 1080p 25 fps camera streams one box watches, today and by need.

A realistic mix of cameras, in ONE run, under one latency rule, for two paths:
- today: every camera sampled at 1 frame/s, every sample inferred (onnxruntime);
- new:   each camera sampled at the fastest interval its zones need (edge/sampling.py), cameras
         spread over their interval, unchanged frames judged with the previous detections
         (edge/change.py), keyframes decoded only when due, and the faster measured runtime.

The mix: camera i has the zones of one of the three views of examples/edge.yaml, in turn
(no_parking + garbage_watch; no_vending; burning_watch + no_parking), and every camera whose
index falls in the static share watches a static night scene (sensor noise only); the others a
street with a moving object. Two short 1080p H.264 clips (1 s GOP) are encoded ONCE; a loopback
HTTP server streams their MPEG-TS bytes to every camera connection at their real bitrate.

Both paths feed the same detector loop (a one-slot mailbox per camera, batches of the oldest
frames, as the agent's pipeline). N "holds" when, over the measured window:
- p95 over all cameras of (decision time - capture time of the camera's previous sample - the
  camera's interval) <= 2 s: an event just after a sample is decided within the interval + 2 s;
- every camera was judged >= 90 % of the times its interval asks for;
- every reader keeps up with its live stream (>= 95 % of 25 frames/s read).
The largest N that holds is found by doubling, then bisection, within a time budget per path; the
new path starts from twice today's result.
"""

from __future__ import annotations

import argparse
import io
import itertools
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

FPS = 25
SIZE = (1920, 1080)
REPO = Path(__file__).resolve().parents[1]
# The three camera views of examples/edge.yaml, by their zone types.
VIEWS: tuple[tuple[str, ...], ...] = (
    ("no_parking", "garbage_watch"),
    ("no_vending",),
    ("burning_watch", "no_parking"),
)


def register(benches: argparse._SubParsersAction) -> None:
    parser = benches.add_parser(
        "edge",
        help="largest number of 1080p streams on a realistic camera mix: today's path vs sampling by need",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--model", type=Path, default=None, help="ONNX detector (default: the default model release)")
    parser.add_argument("--trial-s", type=float, default=16.0, help="seconds per trial of today's path (4 warm-up)")
    parser.add_argument(
        "--new-trial-s",
        type=float,
        default=60.0,
        help="seconds per trial of the new path (the slowest interval warm-up)",
    )
    parser.add_argument("--budget-s", type=float, default=600.0, help="time budget per path")
    parser.add_argument("--max-streams", type=int, default=200, help="never try more streams than this")
    parser.add_argument("--threads", type=int, default=2, help="inference threads")
    parser.add_argument(
        "--runtime",
        default="auto",
        choices=["auto", "onnxruntime", "openvino"],
        help="the new path's runtime; auto: the faster of the two, measured here first",
    )
    parser.add_argument("--static-share", type=float, default=1 / 3, help="share of cameras watching a static scene")
    parser.add_argument("--paths", default="today,new", help="comma-separated: today, new")
    parser.set_defaults(func=_main)


# -- the synthetic cameras -----------------------------------------------------------------------
def encode_clip(scene: str, seconds: float = 4.0) -> bytes:
    """1080p 25 fps H.264 in MPEG-TS, GOP 25, from a real image, encoded once.

    moving: a block crosses the street (every frame differs);
    static: the same street at night, only sensor noise changes (what a quiet camera sends).
    """
    import av
    import cv2

    image = cv2.imread(str(REPO / "tests" / "data" / "images" / "bus.jpg"))
    base = cv2.resize(image, SIZE) if image is not None else np.full((SIZE[1], SIZE[0], 3), 90, np.uint8)
    if scene == "static":
        base = (base.astype(np.float32) * 0.3).astype(np.uint8)
    rng = np.random.default_rng(0)
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mpegts") as container:
        stream = container.add_stream("libx264", rate=Fraction(FPS, 1))
        stream.width, stream.height, stream.pix_fmt = SIZE[0], SIZE[1], "yuv420p"
        stream.codec_context.gop_size = FPS
        stream.options = {"preset": "ultrafast", "bf": "0", "sc_threshold": "0", "crf": "28"}
        for i in range(int(seconds * FPS)):
            frame = base.copy()
            if scene == "moving":
                x = 100 + (i * 23) % (SIZE[0] - 400)
                frame[700:900, x : x + 300] = (40, 40, 220)
            else:
                noise = rng.integers(-4, 5, size=(SIZE[1] // 4, SIZE[0] // 4, 1), dtype=np.int16)
                noise = cv2.resize(noise.astype(np.float32), SIZE, interpolation=cv2.INTER_NEAREST)[..., None]
                frame = np.clip(frame.astype(np.float32) + noise, 0, 255).astype(np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="bgr24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buffer.getvalue()


class StreamServer:
    """Serves each clip at its real bitrate to every connection (/SCENE/N.ts), looping, until closed."""

    def __init__(self, clips: dict[str, bytes], seconds: float) -> None:
        self.clips = {name: (data, max(1, int(len(data) / (seconds * FPS)))) for name, data in clips.items()}
        self.closing = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                scene = self.path.strip("/").split("/")[0]
                if scene not in server.clips:
                    self.send_error(404)
                    return
                data, per_tick = server.clips[scene]
                self.send_response(200)
                self.send_header("Content-Type", "video/mp2t")
                self.end_headers()
                start, tick = time.monotonic(), 0
                try:
                    while not server.closing.is_set():
                        offset = (tick * per_tick) % len(data)
                        self.wfile.write(data[offset : offset + per_tick])
                        tick += 1
                        delay = start + tick / FPS - time.monotonic()
                        if delay > 0:
                            time.sleep(delay)
                except OSError:
                    return

        ThreadingHTTPServer.daemon_threads = True
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def url(self, scene: str, i: int) -> str:
        return f"http://127.0.0.1:{self.port}/{scene}/{i}.ts"

    def close(self) -> None:
        self.closing.set()
        self.httpd.shutdown()
        self.httpd.server_close()


# -- the camera mix and the two paths ------------------------------------------------------------
@dataclass(frozen=True)
class Camera:
    index: int
    scene: str  # moving | static
    view: tuple[str, ...]  # zone types
    interval_s: float
    phase_s: float
    max_reuse_s: float  # 0: never reuse (today's path)


def mix(n: int, static_share: float, by_need: bool) -> list[Camera]:
    """N cameras of the realistic mix; `by_need`: intervals, spreading and reuse from the agent's own rules."""
    from streetwatch.edge.config import EdgeConfig
    from streetwatch.edge.sampling import camera_interval, camera_max_reuse, phases

    full = [[0, 0], [1920, 0], [1920, 1080], [0, 1080]]
    every = max(1, round(1 / static_share)) if static_share > 0 else 0
    cameras = [
        {
            "id": f"cam-{i}",
            "source": f"http://127.0.0.1/{i}.ts",
            "location": {"lat": 0, "lon": 0},
            "zones": [{"id": f"z{k}", "type": t, "polygon": full} for k, t in enumerate(VIEWS[i % len(VIEWS)])],
        }
        for i in range(n)
    ]
    config = EdgeConfig.model_validate(
        {
            "device": {"id": "bench", "token": "bench-token", "case_service_url": "http://127.0.0.1:9"},
            "model": {"path": "model.onnx"},
            "storage": {"root": "/nonexistent"},
            "cameras": cameras,
        }
    )
    intervals = [(c.id, camera_interval(config, c) if by_need else 1.0) for c in config.cameras]
    spread = phases(intervals) if by_need else {}
    out = []
    for i, (camera, (_, interval)) in enumerate(zip(config.cameras, intervals, strict=True)):
        static = every > 0 and (i // len(VIEWS)) % every == every - 1
        out.append(
            Camera(
                index=i,
                scene="static" if static else "moving",
                view=VIEWS[i % len(VIEWS)],
                interval_s=interval,
                phase_s=spread.get(camera.id, 0.0),
                max_reuse_s=camera_max_reuse(config, camera) if by_need else 0.0,
            )
        )
    return out


@dataclass
class Sample:
    image: np.ndarray
    captured: float
    thumb: np.ndarray | None


@dataclass
class Mailbox:
    cond: threading.Condition = field(default_factory=threading.Condition)
    slots: dict[int, Sample] = field(default_factory=dict)

    def put(self, camera: int, sample: Sample) -> None:
        with self.cond:
            self.slots[camera] = sample
            self.cond.notify()


def reader(url: str, camera: Camera, box: Mailbox, stop: threading.Event, sources: list, thumbs: bool) -> None:  # type: ignore[type-arg]
    """The agent's own source: demux every packet, decode keyframes only (and only those due)."""
    from streetwatch.edge.change import change_thumbnail
    from streetwatch.edge.config import CameraConfig
    from streetwatch.edge.sources import PyAvSource, SourceError

    config = CameraConfig(
        id=f"cam-{camera.index}", source=url, sample_fps=1.0 / camera.interval_s, location={"lat": 0, "lon": 0}
    )
    source = PyAvSource(config, 10.0, stop, "http_stream", camera.phase_s)
    # Packets read are counted live from the source: a slow-sampled camera yields a frame only every
    # few seconds, and a count taken at each frame would lag behind what was read.
    sources[camera.index] = source
    try:
        for frame in source.frames():
            # The agent computes the change thumbnail in the camera's thread too.
            box.put(
                camera.index, Sample(frame.image, frame.captured, change_thumbnail(frame.image) if thumbs else None)
            )
    except SourceError:
        pass


@dataclass
class Trial:
    n: int
    p95_over: float  # p95 of (decision - previous capture - interval), s
    judged_share: float  # worst camera: judged / asked by its interval
    read_rate: float  # worst camera: frames read per second
    inferred: int
    skipped: int
    measured_s: float
    skipped_static: int = 0

    @property
    def holds(self) -> bool:
        return self.p95_over <= 2.0 and self.judged_share >= 0.9 and self.read_rate >= 0.95 * FPS

    def __str__(self) -> str:
        verdict = "holds" if self.holds else "fails"
        return (
            f"N={self.n:3d}: p95 beyond interval {self.p95_over:5.2f} s, judged {self.judged_share:4.2f} of asked, "
            f"read {self.read_rate:5.1f} fps (worst camera); inferences {self.inferred / self.measured_s:5.1f}/s, "
            f"skipped {self.skipped / self.measured_s:5.1f}/s ({self.skipped_static / self.measured_s:4.1f} static) "
            f"-> {verdict}"
        )


def packets_read(sources: list) -> list[int]:  # type: ignore[type-arg]
    return [0 if source is None else source.packets for source in sources]


def run_trial(cameras: list[Camera], server: StreamServer, detector: object, trial_s: float, warmup: float) -> Trial:
    from streetwatch.edge.change import FrameSkipper, SkipSettings

    n = len(cameras)
    box, stop = Mailbox(), threading.Event()
    sources: list = [None] * n  # type: ignore[type-arg]  # each reader's PyAvSource, once opened
    by_need = any(c.max_reuse_s > 0 for c in cameras)
    skippers = [
        FrameSkipper(SkipSettings(min_changed=0.002, pixel_delta=12, max_reuse_s=c.max_reuse_s))
        if c.max_reuse_s
        else None
        for c in cameras
    ]
    threads = [
        threading.Thread(
            target=reader, args=(server.url(c.scene, c.index), c, box, stop, sources, by_need), daemon=True
        )
        for c in cameras
    ]
    for t in threads:
        t.start()
    started = time.monotonic()
    decided: list[list[tuple[float, float]]] = [[] for _ in range(n)]  # (captured, decided) per camera
    inferred = skipped = skipped_static = 0
    read_at_warmup: list[int] | None = None
    while time.monotonic() - started < trial_s:
        if read_at_warmup is None and time.monotonic() - started >= warmup:
            read_at_warmup = packets_read(sources)
        with box.cond:
            if not box.slots:
                box.cond.wait(0.2)
            waiting = sorted(box.slots.items(), key=lambda kv: kv[1].captured)
            box.slots.clear()
        if not waiting:
            continue
        run: list[tuple[int, Sample]] = []
        for cam, sample in waiting:
            skipper = skippers[cam]
            if skipper is not None and skipper.reuse(sample.thumb, sample.captured) is not None:
                decided[cam].append((sample.captured, time.monotonic()))
                if time.monotonic() - started >= warmup:
                    skipped += 1
                    skipped_static += cameras[cam].scene == "static"
            else:
                run.append((cam, sample))
        # Oldest first, one batch of 8; the rest go back to their slots unless a newer frame came
        # meanwhile (as the agent's mailbox: a frame waiting too long is replaced, never queued).
        batch, rest = run[:8], run[8:]
        if rest:
            with box.cond:
                for cam, sample in rest:
                    box.slots.setdefault(cam, sample)
        if not batch:
            continue
        results = detector.detect_batch([s.image for _, s in batch])  # type: ignore[attr-defined]
        done = time.monotonic()
        for (cam, sample), detections in zip(batch, results, strict=True):
            if skippers[cam] is not None:
                skippers[cam].record(sample.thumb, sample.captured, detections)  # type: ignore[union-attr]
            decided[cam].append((sample.captured, done))
        inferred += len(batch) if done - started >= warmup else 0
    measured = trial_s - warmup
    read_end = packets_read(sources)
    stop.set()
    for t in threads:
        t.join(timeout=12)
    base = read_at_warmup or [0] * n
    start_measure = started + warmup
    over: list[float] = []
    shares: list[float] = []
    for camera, events in zip(cameras, decided, strict=True):
        events = [e for e in events if e[1] >= start_measure - camera.interval_s]
        in_window = [e for e in events if e[1] >= start_measure]
        for (prev_captured, _), (_, done) in itertools.pairwise(events):
            if done >= start_measure:
                over.append(done - prev_captured - camera.interval_s)
        asked = measured / camera.interval_s
        shares.append(len(in_window) / max(1, int(asked)) if asked >= 1 else 1.0)
    p95 = float(np.percentile(over, 95)) if over else float("inf")
    read_rate = min((read_end[i] - base[i]) / measured for i in range(n))
    return Trial(n, p95, min(shares), read_rate, inferred, skipped, measured, skipped_static)


def largest_n(
    name: str,
    make: Callable[[int], list[Camera]],
    server: StreamServer,
    detector: object,
    trial_s: float,
    warmup: float,
    start: int,
    args: argparse.Namespace,
) -> int:
    deadline = time.monotonic() + args.budget_s
    best, worst = 0, args.max_streams + 1
    n = max(1, min(start, args.max_streams))
    if start > 1:
        best = 0  # the starting point is a guess, not a result
    while n < worst and time.monotonic() + trial_s < deadline:
        trial = run_trial(make(n), server, detector, trial_s, warmup)
        print(f"  {name:5s} {trial}", flush=True)
        if trial.holds:
            best = max(best, n)
        else:
            worst = min(worst, n)
        if worst > args.max_streams:  # still doubling
            n = min(n * 2, args.max_streams) if n < args.max_streams else args.max_streams + 1
        elif best == 0 and n > 1:  # the guess was too high: halve until something holds
            n = n // 2
        else:
            n = (best + worst) // 2
            if n <= best:
                break
    return best


def median_ms(detector: object, frames: list[np.ndarray], repeats: int) -> float:
    times = []
    for i in range(repeats):
        t = time.perf_counter()
        detector.detect(frames[i % len(frames)])  # type: ignore[attr-defined]
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def pick_runtime(model: Path, threads: int, choice: str) -> tuple[object, str]:
    """The new path's detector: the runtime asked for, or (auto) the faster one measured here,
    interleaved so that machine noise hits both alike."""
    import cv2

    from streetwatch.inference.detector import Detector
    from streetwatch.inference.runtimes import openvino_available

    if choice != "auto":
        return Detector(model, conf=0.3, threads=threads, runtime=choice), choice
    if not openvino_available():
        print("runtime: openvino extra not installed; the new path runs onnxruntime", flush=True)
        return Detector(model, conf=0.3, threads=threads), "onnxruntime"
    frames = [cv2.resize(cv2.imread(str(p)), SIZE) for p in sorted((REPO / "tests" / "data" / "images").glob("*.jpg"))]
    detectors = {name: Detector(model, conf=0.3, threads=threads, runtime=name) for name in ("onnxruntime", "openvino")}
    samples: dict[str, list[float]] = {name: [] for name in detectors}
    for _ in range(5):
        for name, detector in detectors.items():
            samples[name].append(median_ms(detector, frames, 6))
    medians = {name: statistics.median(v) for name, v in samples.items()}
    faster = min(medians, key=lambda k: medians[k])
    print(
        "runtime: Detector.detect median on 1080p frames, "
        + ", ".join(f"{k} {v:.1f} ms" for k, v in medians.items())
        + f" (onnxruntime / openvino = {medians['onnxruntime'] / medians['openvino']:.2f}x); new path runs {faster}",
        flush=True,
    )
    return detectors[faster], faster


def _main(args: argparse.Namespace) -> int:
    from streetwatch.inference.detector import Detector

    model = args.model
    if model is None:
        from streetwatch.models.registry import default_model_path

        model = default_model_path()
    today_detector = Detector(model, conf=0.3, threads=args.threads)
    print(f"model {Path(model).name} at {today_detector.imgsz[0]} px, {args.threads} threads", flush=True)
    clip_s = 4.0
    clips = {scene: encode_clip(scene, clip_s) for scene in ("moving", "static")}
    for scene, data in clips.items():
        print(f"clip {scene}: {len(data) * 8 / clip_s / 1e6:.1f} Mbit/s, 1080p {FPS} fps, 1 s GOP", flush=True)
    every = max(1, round(1 / args.static_share)) if args.static_share > 0 else 1
    example = mix(len(VIEWS) * every, args.static_share, by_need=True)
    print(
        f"mix (repeats every {len(example)} cameras): "
        + "; ".join(f"{'+'.join(c.view)} {c.scene} every {c.interval_s:g} s" for c in example),
        flush=True,
    )
    paths = [p.strip() for p in args.paths.split(",") if p.strip()]
    server = StreamServer(clips, clip_s)
    results: dict[str, int] = {}
    try:
        if "today" in paths:
            results["today"] = largest_n(
                "today",
                lambda n: mix(n, args.static_share, by_need=False),
                server,
                today_detector,
                args.trial_s,
                4.0,
                1,
                args,
            )
        if "new" in paths:
            detector, runtime = pick_runtime(model, args.threads, args.runtime)
            slowest = max(c.interval_s for c in example)
            start = 2 * results.get("today", 4)
            results["new"] = largest_n(
                "new",
                lambda n: mix(n, args.static_share, by_need=True),
                server,
                detector,
                args.new_trial_s,
                slowest,
                start,
                args,
            )
            print(f"new path runtime: {runtime}")
    finally:
        server.close()
    print()
    for name, n in results.items():
        print(f"{name:5s}: largest N with p95 frame-to-decision within each camera's interval + 2 s: {n}")
    if "today" in results and "new" in results:
        ratio = results["new"] / results["today"] if results["today"] else float("inf")
        print(f"ratio new / today: {ratio:.1f}x")
    return 0
