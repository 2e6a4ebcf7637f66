"""`streetwatch bench edge`: how many 1080p 25 fps camera streams one box watches, today and by need.

A realistic mix of cameras, in ONE run, under one latency rule, for two paths:
- today: every camera sampled at 1 frame/s, every sample inferred (onnxruntime);
- new:   each camera sampled at the fastest interval its zones need (edge/sampling.py), cameras
         spread over their interval, unchanged frames judged with the previous detections
         (edge/change.py), keyframes decoded only when due, and the faster measured runtime.

The mix: camera i has the zones of one of the three views of examples/edge.yaml, in turn
(no_parking + garbage_watch; no_vending; burning_watch + no_parking), each looking at something
its rules judge (test images: garbage beside a parked bus; the bus street; fire beside the bus),
and every camera whose index falls in the static share watches its view as a static night scene
(sensor noise only); the others the view with a moving object. Six short 1080p H.264 clips
(1 s GOP) are encoded ONCE; a loopback HTTP server streams their MPEG-TS bytes to every camera
connection at their real bitrate.

Both paths are the edge agent itself (`EdgeAgent`: camera workers and their sources, the
pipeline's mailbox and batches, tracking, the zones' rules, evidence and the outbox), configured
as each path runs; only the rule times are shortened (`BENCH_RULES`) so that a trial of minutes
confirms cases. N "holds" when, over the measured window:
- p95 over all cameras of (decision time - capture time of the camera's previous sample - the
  camera's interval) <= 2 s: an event just after a sample is decided within the interval + 2 s;
- every camera was judged >= 90 % of the times its interval asks for;
- every reader keeps up with its live stream (>= 95 % of 25 frames/s read).
The largest N that holds is found by doubling, then bisection, within a time budget per path; the
new path starts from twice today's result. Every trial of both paths measures eight intervals of
the new path's slowest camera (`--measured-intervals`) after one of warm-up, so that a camera
sampled every 15 s gives enough decisions for its p95, and both paths confirm (and pay the
evidence of) the same kinds of cases. A failing trial names its latest decision and how much of it the
pipeline took. Then both paths run on the same cameras for
`--decide-s` and their cases are compared per (camera, zone, violation): the command fails (exit
1) when the new path missed one that today's path confirmed.
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
from typing import TYPE_CHECKING

import numpy as np

from streetwatch.inference.runtime_names import RUNTIME_CHOICES

if TYPE_CHECKING:  # the pipeline pulls in the edge agent's parts: imported where a trial runs
    from streetwatch.edge.pipeline import Judged

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
    parser.add_argument(
        "--new-model",
        type=Path,
        default=None,
        help="the new path's model file (default: --model), e.g. a release's INT8 OpenVINO IR",
    )
    parser.add_argument(
        "--trial-s",
        type=float,
        default=None,
        help="seconds per trial of either path, warm-up included (default: from --measured-intervals)",
    )
    parser.add_argument(
        "--measured-intervals",
        type=float,
        default=8.0,
        help="each trial's measured window, in intervals of the new path's slowest camera (after one of warm-up)",
    )
    parser.add_argument("--start", type=int, default=4, help="today's path: the first N tried")
    parser.add_argument("--budget-s", type=float, default=600.0, help="time budget per path")
    parser.add_argument("--max-streams", type=int, default=200, help="never try more streams than this")
    parser.add_argument("--threads", type=int, default=2, help="inference threads")
    parser.add_argument(
        "--runtime",
        default="auto",
        choices=RUNTIME_CHOICES,
        help="the new path's runtime; auto: the faster of the two, measured here first",
    )
    parser.add_argument("--static-share", type=float, default=1 / 3, help="share of cameras watching a static scene")
    parser.add_argument("--paths", default="today,new", help="comma-separated: today, new")
    parser.add_argument(
        "--decide-s",
        type=float,
        default=180.0,
        help="then run both paths on the same cameras this long and compare their cases (0: skip)",
    )
    parser.add_argument("--decide-n", type=int, default=0, help="cameras for that comparison (default: one mix period)")
    parser.add_argument(
        "--evidence-queue-mb",
        type=int,
        default=None,
        help="both paths' storage.evidence_queue_mb (default: the agent's): how large a burst of cases "
        "waits for its evidence without holding the pipeline",
    )
    parser.set_defaults(func=_main)


# -- the synthetic cameras -----------------------------------------------------------------------
# What each view shows (test images): something for each of its zones' rules to confirm. A view
# with two zone types shows two images side by side (the second one a parked bus).
VIEW_IMAGES: tuple[tuple[str, ...], ...] = (
    ("garbage-*.jpg", "bus.jpg"),
    ("bus.jpg",),
    ("fire-*.jpg", "bus.jpg"),
)
# Shorter rule times than a city's defaults, so that a trial of minutes confirms cases; the
# sampling intervals, which decide the capacity, stay the defaults of edge/sampling.py.
BENCH_RULES: dict[str, dict[str, float]] = {
    "illegal_parking": {"dwell_s": 40},
    "exposed_garbage": {"window_s": 120, "min_duration_s": 90},
    "occupied_lane_vending": {"window_s": 60, "min_duration_s": 45, "keeper_still_s": 20},
}


def _image(pattern: str) -> np.ndarray:
    import cv2

    paths = sorted((REPO / "tests" / "data" / "images").glob(pattern))
    image = cv2.imread(str(paths[0])) if paths else None
    if image is None:
        raise FileNotFoundError(f"tests/data/images/{pattern}: the benchmark's scenes need this test image")
    return image


def scene_frame(view: int) -> np.ndarray:
    """(1080, 1920, 3) BGR: the view's images side by side, each scaled to its share of the frame."""
    import cv2

    images = [_image(p) for p in VIEW_IMAGES[view]]
    width = SIZE[0] // len(images)
    return np.concatenate([cv2.resize(im, (width, SIZE[1])) for im in images], axis=1)


def encode_clip(view: int, scene: str, seconds: float = 4.0) -> bytes:
    """1080p 25 fps H.264 in MPEG-TS, GOP 25, of one view, encoded once.

    moving: a block crosses the top of the picture (every frame differs; it covers none of the
    things the rules judge); static: the same view at night, only sensor noise changes (what a
    quiet camera sends).
    """
    import av
    import cv2

    base = scene_frame(view)
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
                frame[20:180, x : x + 300] = (40, 40, 220)
            else:
                noise = rng.integers(-4, 5, size=(SIZE[1] // 4, SIZE[0] // 4, 1), dtype=np.int16)
                noise = cv2.resize(noise.astype(np.float32), SIZE, interpolation=cv2.INTER_NEAREST)[..., None]
                frame = np.clip(frame.astype(np.float32) + noise, 0, 255).astype(np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="bgr24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buffer.getvalue()


def clip_name(view: int, scene: str) -> str:
    return f"{view}-{scene}"


class StreamServer:
    """Serves each clip at its real bitrate to every connection (/CLIP/N.ts), looping, until closed."""

    def __init__(self, clips: dict[str, bytes], seconds: float) -> None:
        self.clips = {name: (data, max(1, int(len(data) / (seconds * FPS)))) for name, data in clips.items()}
        self.closing = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                clip = self.path.strip("/").split("/")[0]
                if clip not in server.clips:
                    self.send_error(404)
                    return
                data, per_tick = server.clips[clip]
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

    def url(self, clip: str, i: int) -> str:
        return f"http://127.0.0.1:{self.port}/{clip}/{i}.ts"

    def close(self) -> None:
        self.closing.set()
        self.httpd.shutdown()
        self.httpd.server_close()


# -- the camera mix: an agent config ---------------------------------------------------------------
@dataclass(frozen=True)
class Camera:
    id: str
    scene: str  # moving | static
    view: tuple[str, ...]  # zone types
    interval_s: float  # as the agent samples it (edge/sampling.py)
    violations: tuple[str, ...]  # what its zones judge


@dataclass(frozen=True)
class Setup:
    """One path's agent configuration for N cameras, and what the bench reads of each camera."""

    config: object  # EdgeConfig
    cameras: list[Camera]


def is_static(i: int, static_share: float) -> bool:
    every = max(1, round(1 / static_share)) if static_share > 0 else 0
    return every > 0 and (i // len(VIEWS)) % every == every - 1


def setup(
    n: int,
    by_need: bool,
    args: argparse.Namespace,
    url: Callable[[str, int], str],
    root: Path,
    runtime: str,
    model: Path | None = None,
) -> Setup:
    """The agent's own config for N cameras of the mix.

    today: `sample_fps: 1` on every camera, no unchanged-frame skipping, onnxruntime;
    new:   the defaults (sampling by need, skipping), the runtime measured faster.
    """
    from streetwatch.edge.config import EdgeConfig
    from streetwatch.edge.sampling import camera_interval

    full = [[0, 0], [1920, 0], [1920, 1080], [0, 1080]]
    cameras = []
    for i in range(n):
        view = i % len(VIEWS)
        scene = "static" if is_static(i, args.static_share) else "moving"
        cameras.append(
            {
                "id": f"cam-{i:03d}",
                "source": url(clip_name(view, scene), i),
                "kind": "http_stream",
                "location": {"lat": 0, "lon": 0},
                "zones": [{"id": f"z{k}-{t}", "type": t, "polygon": full} for k, t in enumerate(VIEWS[view])],
                **({} if by_need else {"sample_fps": 1.0}),
                # The clips loop a few seconds of one picture: health would call them frozen or moved.
                "health": {"frozen_after_s": None, "moved_after_s": None},
            }
        )
    config = EdgeConfig.model_validate(
        {
            "device": {"id": "bench", "token": "bench-token", "case_service_url": "http://127.0.0.1:9"},
            "model": {"path": str(model or args.model_path), "conf": 0.3, "threads": args.threads, "runtime": runtime},
            "rules": BENCH_RULES,
            "sampling": {"skip_unchanged": by_need},
            "storage": {
                "root": str(root),
                **({} if args.evidence_queue_mb is None else {"evidence_queue_mb": args.evidence_queue_mb}),
            },
            "api": {"enabled": False},
            "drain_timeout_s": 0,
            "cameras": cameras,
        }
    )
    return Setup(
        config,
        [
            Camera(
                c.id,
                "static" if is_static(i, args.static_share) else "moving",
                VIEWS[i % len(VIEWS)],
                camera_interval(config, c),
                tuple(zone.violation.value for zone in c.zones),
            )
            for i, c in enumerate(config.cameras)
        ],
    )


# -- one trial: the agent itself, for a while ----------------------------------------------------
CaseKey = tuple[str, str, str]  # (camera, zone, violation)


@dataclass(frozen=True)
class Late:
    """One decision measured against its camera's previous sample (what a failing trial names)."""

    camera_id: str
    over_s: float  # decision - previous capture - interval
    latency_s: float  # decision - this frame's capture: the pipeline's share of `over_s`
    confirmed: bool  # the frame confirmed a case


def lateness(judged: list[Judged], cameras: list[Camera], start: float, end: float) -> tuple[list[Late], list[float]]:
    """Each decision in [start, end] against its camera's previous one, and per camera the share of
    the samples its interval asks for that were judged in the window (`judged`: pipeline `Judged`)."""
    late: list[Late] = []
    shares: list[float] = []
    measured = end - start
    for camera in cameras:
        events = [j for j in judged if j.camera_id == camera.id and start - camera.interval_s <= j.decided <= end]
        for prev, this in itertools.pairwise(events):
            if this.decided >= start:
                over = this.decided - prev.captured - camera.interval_s
                late.append(Late(camera.id, over, this.decided - this.captured, bool(this.events)))
        asked = measured / camera.interval_s
        got = sum(1 for j in events if j.decided >= start)
        shares.append(got / max(1, int(asked)) if asked >= 1 else 1.0)
    return late, shares


def trial_seconds(args: argparse.Namespace, slowest: float) -> float:
    """Both paths' trial: one interval of the new path's slowest camera as warm-up, then
    `--measured-intervals` of them.

    A camera sampled every 15 s gives only a few intervals in a minute, so one late decision would
    be the p95 of a small trial; eight intervals or more keep a single outlier from deciding it. And
    both paths get the same length: in a trial of seconds no parking or garbage case confirms, so a
    short trial would spare one path the evidence of its cases (JPEGs, plates, public copies: about
    a second of CPU per parking case at 1080p) that the other path pays."""
    if args.trial_s is not None:
        return float(args.trial_s)
    return slowest * (1 + args.measured_intervals)


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
    latest: Late | None = None  # the decision furthest beyond its camera's interval
    reconnects: int = 0  # camera reconnections over the trial (a stalled read, a broken stream)
    cases: dict[CaseKey, int] = field(default_factory=dict)  # over the whole trial, warm-up included
    decisions: dict[str, int] = field(default_factory=dict)  # per violation: zone judgements in the window

    @property
    def holds(self) -> bool:
        return self.p95_over <= 2.0 and self.judged_share >= 0.9 and self.read_rate >= 0.95 * FPS

    def cases_by_rule(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for (_, _, violation), count in sorted(self.cases.items()):
            out[violation] = out.get(violation, 0) + count
        return out

    def __str__(self) -> str:
        verdict = "holds" if self.holds else "fails"
        cases = ", ".join(f"{k} {v}" for k, v in self.cases_by_rule().items()) or "none"
        late = self.latest
        worst = (
            ""
            if late is None or self.holds
            else f" (latest: {late.camera_id} {late.over_s:.2f} s, of it {late.latency_s:.2f} s in the pipeline"
            + (", a confirming frame)" if late.confirmed else ")")
        )
        return (
            f"N={self.n:3d}: p95 beyond interval {self.p95_over:5.2f} s, judged {self.judged_share:4.2f} of asked, "
            f"read {self.read_rate:5.1f} fps (worst camera); inferences {self.inferred / self.measured_s:5.1f}/s, "
            f"skipped {self.skipped / self.measured_s:5.1f}/s ({self.skipped_static / self.measured_s:4.1f} static); "
            f"cases: {cases}{f'; reconnects {self.reconnects}' if self.reconnects else ''} -> {verdict}{worst}"
        )


def packets_read(agent: object) -> dict[str, int]:
    """Packets each camera's source has read so far (0 before it opened)."""
    return {
        camera_id: 0 if runtime.worker.source is None else runtime.worker.source.packets
        for camera_id, runtime in agent.cameras.items()  # type: ignore[attr-defined]
    }


def run_trial(made: Setup, detector: object, trial_s: float, warmup: float) -> Trial:
    """Run the agent (its workers, pipeline, rules, evidence and outbox) on the cameras for `trial_s`."""
    from streetwatch.edge.agent import EdgeAgent

    agent = EdgeAgent(made.config, detector)  # type: ignore[arg-type]
    judged: list[Judged] = []
    agent.pipeline.on_judged = judged.append
    thread = threading.Thread(target=agent.run, name="bench-agent", daemon=True)
    started = time.monotonic()
    thread.start()
    time.sleep(warmup)
    base = packets_read(agent)
    time.sleep(max(0.0, trial_s - warmup))
    read_end = packets_read(agent)
    end_measure = time.monotonic()
    reconnects = sum(runtime.worker.state.reconnects for runtime in agent.cameras.values())
    agent.stop()
    thread.join(timeout=120)
    start_measure = started + warmup
    measured = end_measure - start_measure
    decided = [j for j in judged if j.decided <= end_measure]
    in_window = [j for j in decided if j.decided >= start_measure]
    views = {c.id: c for c in made.cameras}
    decisions: dict[str, int] = {}
    for j in in_window:
        for violation in views[j.camera_id].violations:
            decisions[violation] = decisions.get(violation, 0) + 1
    cases: dict[CaseKey, int] = {}
    for j in decided:
        for event in j.events:
            key = (event.camera_id, event.zone_id, event.violation.value)
            cases[key] = cases.get(key, 0) + 1
    late, shares = lateness(decided, made.cameras, start_measure, end_measure)
    over = [entry.over_s for entry in late]
    skipped = [j for j in in_window if not j.inferred]
    return Trial(
        n=len(made.cameras),
        p95_over=float(np.percentile(over, 95)) if over else float("inf"),
        judged_share=min(shares),
        read_rate=min((read_end[c] - base.get(c, 0)) / measured for c in read_end),
        inferred=len(in_window) - len(skipped),
        skipped=len(skipped),
        measured_s=measured,
        skipped_static=sum(1 for j in skipped if views[j.camera_id].scene == "static"),
        latest=max(late, key=lambda entry: entry.over_s) if late else None,
        reconnects=reconnects,
        cases=cases,
        decisions=decisions,
    )


def largest_n(
    name: str,
    make: Callable[[int], Setup],
    detector: object,
    trial_s: float,
    warmup: float,
    start: int,
    args: argparse.Namespace,
) -> int:
    deadline = time.monotonic() + args.budget_s
    best, worst = 0, args.max_streams + 1
    n = max(1, min(start, args.max_streams))
    while n < worst and time.monotonic() + trial_s < deadline:
        trial = run_trial(make(n), detector, trial_s, warmup)
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


def missed_cases(today: Trial, new: Trial) -> list[CaseKey]:
    """(camera, zone, violation) that today's path confirmed and the new path did not."""
    return sorted(set(today.cases) - set(new.cases))


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
    import logging
    import tempfile

    # The agent logs every camera start and case; the bench prints its own lines. Cases stay in
    # the outbox (nothing listens at the case service address): the sender's retries are expected.
    logging.getLogger("streetwatch.edge").setLevel(logging.WARNING)
    logging.getLogger("streetwatch.edge.sender").setLevel(logging.ERROR)

    from streetwatch.inference.detector import Detector

    if args.model is None:
        from streetwatch.models.registry import default_model_path

        args.model = default_model_path()
    args.model_path = Path(args.model).resolve()
    args.new_model_path = Path(args.new_model).resolve() if args.new_model else args.model_path
    today_detector = Detector(args.model_path, conf=0.3, threads=args.threads)
    print(f"model {args.model_path.name} at {today_detector.imgsz[0]} px, {args.threads} threads", flush=True)
    clip_s = 4.0
    clips = {
        clip_name(view, scene): encode_clip(view, scene, clip_s)
        for view in range(len(VIEWS))
        for scene in ("moving", "static")
    }
    rate = statistics.median(len(data) * 8 / clip_s / 1e6 for data in clips.values())
    print(f"clips: {len(clips)} views x scenes, median {rate:.1f} Mbit/s, 1080p {FPS} fps, 1 s GOP", flush=True)
    paths = [p.strip() for p in args.paths.split(",") if p.strip()]
    server = StreamServer(clips, clip_s)
    results: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="bench-edge-") as tmp:
        roots = itertools.count()

        def make(by_need: bool, runtime: str) -> Callable[[int], Setup]:
            model = args.new_model_path if by_need else args.model_path
            return lambda n: setup(n, by_need, args, server.url, Path(tmp) / f"agent-{next(roots)}", runtime, model)

        period = len(VIEWS) * (max(1, round(1 / args.static_share)) if args.static_share > 0 else 1)
        example = make(True, "onnxruntime")(period).cameras
        print(
            f"mix (repeats every {len(example)} cameras): "
            + "; ".join(f"{'+'.join(c.view)} {c.scene} every {c.interval_s:g} s" for c in example),
            flush=True,
        )
        try:
            detector, runtime = today_detector, "onnxruntime"
            if "new" in paths and args.new_model_path != args.model_path:
                # Another file for the new path (a release's INT8 IR): OpenVINO, the runtime that runs it.
                detector, runtime = (
                    Detector(args.new_model_path, conf=0.3, threads=args.threads, runtime="auto"),
                    "auto",
                )
                print(f"new path model {args.new_model_path.name} on {detector.runtime.name}", flush=True)
            elif "new" in paths:
                detector, runtime = pick_runtime(args.model_path, args.threads, args.runtime)
            slowest = max(c.interval_s for c in example)
            trial_s = trial_seconds(args, slowest)
            print(f"trials: {trial_s:g} s ({slowest:g} s warm-up, the new path's slowest interval)", flush=True)
            if "today" in paths:
                results["today"] = largest_n(
                    "today", make(False, "onnxruntime"), today_detector, trial_s, slowest, args.start, args
                )
            if "new" in paths:
                start = 2 * results.get("today", args.start)
                results["new"] = largest_n("new", make(True, runtime), detector, trial_s, slowest, start, args)
                print(f"new path runtime: {runtime}")
            decided: dict[str, Trial] = {}
            if args.decide_s > 0:
                n = args.decide_n or period
                print(f"decisions: both paths on the same {n} cameras for {args.decide_s:g} s each", flush=True)
                for name in paths:
                    by_need = name == "new"
                    made = make(by_need, runtime if by_need else "onnxruntime")(n)
                    trial = run_trial(made, detector if by_need else today_detector, args.decide_s, slowest)
                    decided[name] = trial
                    print(f"  {name:5s} {trial}", flush=True)
                    per_rule = ", ".join(f"{k} {v}" for k, v in sorted(trial.decisions.items()))
                    print(f"  {name:5s} zone judgements per rule: {per_rule}", flush=True)
        finally:
            server.close()
    print()
    for name, n in results.items():
        print(f"{name:5s}: largest N with p95 frame-to-decision within each camera's interval + 2 s: {n}")
    missed: list[CaseKey] = []
    if "today" in decided and "new" in decided:
        today, new = decided["today"], decided["new"]
        missed = missed_cases(today, new)
        print(
            f"cases, same {today.n} cameras: today {sum(today.cases.values())} ({today.cases_by_rule()}), "
            f"new {sum(new.cases.values())} ({new.cases_by_rule()})"
        )
        if missed:
            print("the new path MISSED cases today's path confirmed: " + "; ".join("/".join(k) for k in missed))
        else:
            print(f"the new path confirmed every one of today's {len(today.cases)} (camera, zone, violation) cases")
    if "today" in results and "new" in results:
        ratio = results["new"] / results["today"] if results["today"] else float("inf")
        print(f"ratio new / today: {ratio:.1f}x")
    return 1 if missed else 0
