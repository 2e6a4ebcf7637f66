"""The local API, for installers and monitoring (loopback by default; it has no authentication).

GET /healthz                    200 while the pipeline runs ("degraded" when a camera is down or unhealthy)
GET /metrics                    Prometheus text
GET /cameras                    status of every camera
GET /cameras/{id}/snapshot.jpg  the newest sampled frame with zones and detections drawn

It reads the agent only through `AgentView` (status snapshots, the newest frame): no agent import.
"""

from __future__ import annotations

import logging
import threading
import time

import uvicorn
from fastapi import FastAPI, HTTPException
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from pydantic import BaseModel

from streetwatch.edge.evidence import draw_zone, stamp
from streetwatch.edge.jpeg import encode_jpeg
from streetwatch.edge.status import AgentView, CameraStatus
from streetwatch.inference.draw import draw_detections

log = logging.getLogger(__name__)


class ClipPublic(BaseModel):
    buffer_s: float
    buffer_bytes: int
    cut: int
    missed: int


class CameraPublic(BaseModel):
    id: str
    source_kind: str
    connected: bool
    ended: bool
    healthy: bool
    problems: dict[str, str]
    fps: float
    frames: int
    frames_dropped: int
    frames_decoded: int
    decode: str
    reconnects: int
    last_error: str | None
    seconds_since_frame: float | None
    cases: int
    zones: list[str]
    model: str  # the model file this camera runs (its own, or the box's)
    rules_that_cannot_fire: list[str]
    clip: ClipPublic | None = None  # the clip packet ring; null: clips off

    @classmethod
    def of(cls, s: CameraStatus) -> CameraPublic:
        return cls(
            id=s.id,
            source_kind=s.source_kind,
            connected=s.connected,
            ended=s.ended,
            healthy=s.healthy,
            problems=s.problems,
            fps=round(s.fps, 3),
            frames=s.frames,
            frames_dropped=s.frames_dropped,
            frames_decoded=s.frames_decoded,
            decode=s.decode,
            reconnects=s.reconnects,
            last_error=s.last_error,
            seconds_since_frame=None if s.seconds_since_frame is None else round(s.seconds_since_frame, 2),
            cases=s.cases,
            zones=list(s.zones),
            model=s.model,
            rules_that_cannot_fire=list(s.rules_that_cannot_fire),
            clip=None
            if s.clip is None
            else ClipPublic(
                buffer_s=round(s.clip.buffer_s, 2),
                buffer_bytes=s.clip.buffer_bytes,
                cut=s.clip.cut,
                missed=s.clip.missed,
            ),
        )


class Health(BaseModel):
    status: str
    cameras_up: int
    cameras: int
    outbox_depth: int
    uptime_s: float


def create_app(agent: AgentView, registry: CollectorRegistry) -> FastAPI:
    app = FastAPI(title="streetwatch edge agent", docs_url=None, redoc_url=None)

    @app.get("/healthz", response_model=Health)
    def healthz() -> Health:
        status = agent.status()
        up = status.cameras_up
        return Health(
            status="ok" if up == len(status.cameras) else "degraded",
            cameras_up=up,
            cameras=len(status.cameras),
            outbox_depth=status.outbox_depth,
            uptime_s=round(status.uptime_s, 1),
        )

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/cameras", response_model=list[CameraPublic])
    def cameras() -> list[CameraPublic]:
        return [CameraPublic.of(camera) for camera in agent.status().cameras]

    @app.get("/cameras/{camera_id}/snapshot.jpg")
    def snapshot(camera_id: str) -> Response:
        try:
            view = agent.latest_frame(camera_id)
        except KeyError:
            known = ", ".join(c.id for c in agent.status().cameras)
            raise HTTPException(404, f"no camera {camera_id!r}; cameras: {known}") from None
        if view is None:
            raise HTTPException(503, f"camera {camera_id!r} has not delivered a frame yet")
        frame = view.frame
        for zone in view.zones:
            frame = draw_zone(frame, zone)
        frame = draw_detections(frame, view.detections, view.names)
        height, width = frame.shape[:2]
        frame = stamp(frame, f"{camera_id}  {width}x{height}  zones: {len(view.zones)}")
        return Response(encode_jpeg(frame, 85), media_type="image/jpeg")

    return app


class ApiServer:
    """uvicorn in a daemon thread; the agent owns the process's signals."""

    def __init__(self, app: FastAPI, host: str, port: int) -> None:
        self.host = host
        self._server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off"))
        self._server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        self.port: int | None = None  # the bound port once started (port 0 picks a free one)

    def start(self, timeout_s: float = 10.0) -> int | None:
        thread = threading.Thread(target=self._server.run, name="api", daemon=True)
        thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started and thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        if self._server.started:
            self.port = self._server.servers[0].sockets[0].getsockname()[1]
            log.info("local API on http://%s:%d", self.host, self.port)
        else:
            log.error("local API did not start on %s", self.host)
        return self.port

    def stop(self) -> None:
        self._server.should_exit = True
