"""`streetwatch bench edge`: how many 1080p 25 fps camera streams one box can watch at 1 frame/s.

A short synthetic clip (a real street image with a moving block, 1080p H.264, 1 s GOP) is encoded
ONCE; a loopback HTTP server then streams its MPEG-TS bytes to every camera connection at the
clip's real bitrate, over and over (live re-encoding of many 1080p streams is impossible on a
small box). Two readers feed the same detector loop (a one-slot mailbox per camera, batches of
the oldest frames, as the agent's pipeline):
- agent:  the edge agent's `PyAvSource` (demux every packet, decode keyframes only)
- naive:  `cv2.VideoCapture.read()` on every frame, keeping one per second
N "holds" when, over the measured window, the p95 frame-to-decision latency is <= 2 s, every
sampled frame rate is >= 90 % of 1/s, and every reader keeps up with the live stream (>= 95 % of
25 frames/s read; a reader that falls behind builds a hidden backlog that latency measured from
its own reads would not show). The largest N that holds is found by doubling, then bisection,
within a time budget.
"""

from __future__ import annotations

import argparse
import io
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


def register(benches: argparse._SubParsersAction) -> None:
    parser = benches.add_parser(
        "edge",
        help="largest number of 1080p streams held at 1 frame/s (p95 latency <= 2 s): agent vs naive cv2 loop",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--model", type=Path, default=None, help="ONNX detector (default: the default model release)")
    parser.add_argument("--trial-s", type=float, default=16.0, help="seconds per trial (the first 4 are warm-up)")
    parser.add_argument("--budget-s", type=float, default=300.0, help="time budget per method")
    parser.add_argument("--max-streams", type=int, default=64, help="never try more streams than this")
    parser.add_argument("--threads", type=int, default=None, help="onnxruntime threads (default: all cores)")
    parser.add_argument("--methods", default="agent,naive", help="comma-separated: agent, naive")
    parser.set_defaults(func=_main)


# -- the synthetic camera ------------------------------------------------------------------------
def encode_clip(seconds: float = 4.0) -> bytes:
    """1080p 25 fps H.264 in MPEG-TS, GOP 25, from a real image with a moving block; encoded once."""
    import av
    import cv2

    image = cv2.imread(str(REPO / "tests" / "data" / "images" / "bus.jpg"))
    base = cv2.resize(image, SIZE) if image is not None else np.full((SIZE[1], SIZE[0], 3), 90, np.uint8)
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mpegts") as container:
        stream = container.add_stream("libx264", rate=Fraction(FPS, 1))
        stream.width, stream.height, stream.pix_fmt = SIZE[0], SIZE[1], "yuv420p"
        stream.codec_context.gop_size = FPS
        stream.options = {"preset": "ultrafast", "bf": "0", "sc_threshold": "0", "crf": "28"}
        for i in range(int(seconds * FPS)):
            frame = base.copy()
            x = 100 + (i * 23) % (SIZE[0] - 400)
            frame[700:900, x : x + 300] = (40, 40, 220)
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="bgr24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buffer.getvalue()


class StreamServer:
    """Serves the clip at its real bitrate to every connection, looping, until closed."""

    def __init__(self, data: bytes, seconds: float) -> None:
        self.data, self.bytes_per_tick = data, max(1, int(len(data) / (seconds * FPS)))
        self.closing = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "video/mp2t")
                self.end_headers()
                start, tick = time.monotonic(), 0
                try:
                    while not server.closing.is_set():
                        offset = (tick * server.bytes_per_tick) % len(server.data)
                        chunk = server.data[offset : offset + server.bytes_per_tick]
                        self.wfile.write(chunk)
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

    def url(self, i: int) -> str:
        return f"http://127.0.0.1:{self.port}/cam/{i}.ts"

    def close(self) -> None:
        self.closing.set()
        self.httpd.shutdown()
        self.httpd.server_close()


# -- readers -------------------------------------------------------------------------------------
@dataclass
class Mailbox:
    cond: threading.Condition = field(default_factory=threading.Condition)
    slots: dict[int, tuple[np.ndarray, float]] = field(default_factory=dict)

    def put(self, camera: int, image: np.ndarray, captured: float) -> None:
        with self.cond:
            self.slots[camera] = (image, captured)
            self.cond.notify()


def agent_reader(url: str, camera: int, box: Mailbox, stop: threading.Event, read: list[int]) -> None:
    from streetwatch.edge.config import CameraConfig
    from streetwatch.edge.sources import PyAvSource, SourceError

    config = CameraConfig(id=f"cam-{camera}", source=url, sample_fps=1.0, location={"lat": 0, "lon": 0})
    source = PyAvSource(config, 10.0, stop, "http_stream")
    try:
        for frame in source.frames():
            read[camera] = source.packets
            box.put(camera, frame.image, frame.captured)
    except SourceError:
        pass
    read[camera] = source.packets


def naive_reader(url: str, camera: int, box: Mailbox, stop: threading.Event, read: list[int]) -> None:
    import cv2

    capture = cv2.VideoCapture(url, cv2.CAP_FFMPEG)
    last = 0.0
    while not stop.is_set():
        ok, image = capture.read()
        if not ok:
            break
        read[camera] += 1
        now = time.monotonic()
        if now - last >= 1.0:
            last = now
            box.put(camera, image, now)
    capture.release()


Reader = Callable[[str, int, Mailbox, threading.Event, list[int]], None]


@dataclass
class Trial:
    n: int
    p95: float
    sample_rate: float  # judged frames per camera per second (worst camera)
    read_rate: float  # frames read per camera per second (worst camera)

    @property
    def holds(self) -> bool:
        return self.p95 <= 2.0 and self.sample_rate >= 0.9 and self.read_rate >= 0.95 * FPS

    def __str__(self) -> str:
        verdict = "holds" if self.holds else "fails"
        return (
            f"N={self.n:3d}: p95 {self.p95:5.2f} s, judged {self.sample_rate:4.2f}/s, "
            f"read {self.read_rate:5.1f} fps per camera (worst) -> {verdict}"
        )


def run_trial(n: int, reader: Reader, server: StreamServer, detector: object, trial_s: float) -> Trial:
    box, stop = Mailbox(), threading.Event()
    read = [0] * n
    threads = [threading.Thread(target=reader, args=(server.url(i), i, box, stop, read), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    warmup, started = 4.0, time.monotonic()
    latencies: list[float] = []
    judged = [0] * n
    read_at_warmup: list[int] | None = None
    while time.monotonic() - started < trial_s:
        if read_at_warmup is None and time.monotonic() - started >= warmup:
            read_at_warmup = list(read)
        with box.cond:
            if not box.slots:
                box.cond.wait(0.2)
            batch = sorted(box.slots.items(), key=lambda kv: kv[1][1])[:8]
            for cam, _ in batch:
                del box.slots[cam]
        if not batch:
            continue
        detector.detect_batch([img for _, (img, _) in batch])  # type: ignore[attr-defined]
        done = time.monotonic()
        if done - started >= warmup:
            for cam, (_, captured) in batch:
                latencies.append(done - captured)
                judged[cam] += 1
    measured = trial_s - warmup
    read_end = list(read)
    stop.set()
    for t in threads:
        t.join(timeout=12)
    base = read_at_warmup or [0] * n
    p95 = float(np.percentile(latencies, 95)) if latencies else float("inf")
    read_rate = min((read_end[i] - base[i]) / measured for i in range(n))
    return Trial(n, p95, min(judged) / measured, read_rate)


def largest_n(name: str, reader: Reader, server: StreamServer, detector: object, args: argparse.Namespace) -> int:
    deadline = time.monotonic() + args.budget_s
    best, worst = 0, args.max_streams + 1
    n = 1
    while n < worst and time.monotonic() + args.trial_s < deadline:
        trial = run_trial(n, reader, server, detector, args.trial_s)
        print(f"  {name:5s} {trial}", flush=True)
        if trial.holds:
            best = n
        else:
            worst = n
        if worst > args.max_streams:  # still doubling
            n = min(n * 2, args.max_streams) if n < args.max_streams else args.max_streams + 1
        else:
            n = (best + worst) // 2
            if n <= best:
                break
    return best


def _main(args: argparse.Namespace) -> int:
    from streetwatch.inference.detector import Detector

    model = args.model
    if model is None:
        from streetwatch.models.registry import default_model_path

        try:
            model = default_model_path()
        except Exception:
            model = REPO / "models" / "releases" / "coco-teacher" / "yolov8n-coco.onnx"
    detector = Detector(model, conf=0.3, threads=args.threads)
    print(f"model {Path(model).name} at {detector.imgsz[0]} px; encoding the 1080p clip once ...", flush=True)
    clip_s = 4.0
    data = encode_clip(clip_s)
    print(f"clip: {len(data) / 1e6:.1f} MB for {clip_s:.0f} s ({len(data) * 8 / clip_s / 1e6:.1f} Mbit/s)", flush=True)
    server = StreamServer(data, clip_s)
    readers: dict[str, Reader] = {"agent": agent_reader, "naive": naive_reader}
    results: dict[str, int] = {}
    try:
        for name in [m.strip() for m in args.methods.split(",") if m.strip()]:
            results[name] = largest_n(name, readers[name], server, detector, args)
    finally:
        server.close()
    print()
    for name, n in results.items():
        print(f"{name:5s}: largest N with p95 frame-to-decision <= 2 s at 1 frame/s: {n}")
    if "agent" in results and "naive" in results:
        ratio = results["agent"] / results["naive"] if results["naive"] else float("inf")
        print(f"ratio agent / naive: {ratio:.1f}x")
    return 0
