"""The local API, for installers and monitoring (loopback by default; it has no authentication).

GET /healthz                    200 while the pipeline runs ("degraded" when a camera is down or unhealthy)
GET /metrics                    Prometheus text
GET /cameras                    status of every camera
GET /cameras/{id}/snapshot.jpg  the newest sampled frame with zones and detections drawn
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from fastapi import FastAPI, HTTPException
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from streetwatch.edge.evidence import draw_zone, encode_jpeg, stamp
from streetwatch.inference.draw import draw_detections

if TYPE_CHECKING:
    from streetwatch.edge.agent import EdgeAgent


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


class Health(BaseModel):
    status: str
    cameras_up: int
    cameras: int
    outbox_depth: int
    uptime_s: float


def create_app(agent: EdgeAgent) -> FastAPI:
    from streetwatch.edge.sources import source_kind

    app = FastAPI(title="streetwatch edge agent", docs_url=None, redoc_url=None)

    @app.get("/healthz", response_model=Health)
    def healthz() -> Health:
        runtimes = agent.cameras.values()
        up = sum(1 for r in runtimes if r.worker.state.connected and r.health.status.healthy)
        return Health(
            status="ok" if up == len(agent.cameras) else "degraded",
            cameras_up=up,
            cameras=len(agent.cameras),
            outbox_depth=agent.outbox.depth(),
            uptime_s=round(time.monotonic() - agent.started_at, 1),
        )

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(generate_latest(agent.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/cameras", response_model=list[CameraPublic])
    def cameras() -> list[CameraPublic]:
        out = []
        now = time.monotonic()
        for camera_id, r in agent.cameras.items():
            s = r.worker.state
            out.append(
                CameraPublic(
                    id=camera_id,
                    source_kind=source_kind(r.config),
                    connected=s.connected,
                    ended=s.ended,
                    healthy=r.health.status.healthy,
                    problems=dict(r.health.status.problems),
                    fps=round(s.fps, 3),
                    frames=s.frames,
                    frames_dropped=s.dropped,
                    frames_decoded=s.decoded,
                    decode=s.decode_mode or r.config.decode,
                    reconnects=s.reconnects,
                    last_error=s.last_error,
                    seconds_since_frame=None if s.last_frame_at is None else round(now - s.last_frame_at, 2),
                    cases=r.cases,
                    zones=[z.id for z in r.config.zones],
                    model=r.model.detector.info.path.name,
                    rules_that_cannot_fire=[zr.zone_config.id for zr in r.rules.zone_rules if not zr.can_fire],
                )
            )
        return out

    @app.get("/cameras/{camera_id}/snapshot.jpg")
    def snapshot(camera_id: str) -> Response:
        runtime = agent.cameras.get(camera_id)
        if runtime is None:
            raise HTTPException(404, f"no camera {camera_id!r}; cameras: {', '.join(agent.cameras)}")
        if runtime.latest is None:
            raise HTTPException(503, f"camera {camera_id!r} has not delivered a frame yet")
        frame, detections = runtime.latest
        for zone in runtime.config.zones:
            frame = draw_zone(frame, zone)
        frame = draw_detections(frame, detections, runtime.model.detector.names)
        height, width = frame.shape[:2]
        frame = stamp(frame, f"{camera_id}  {width}x{height}  zones: {len(runtime.config.zones)}")
        return Response(encode_jpeg(frame, 85), media_type="image/jpeg")

    return app
