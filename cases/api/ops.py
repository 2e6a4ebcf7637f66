"""Operations: `/healthz` for load balancers, `/metrics` for Prometheus."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool

from streetwatch.cases import migrate
from streetwatch.cases.api.deps import StateDep
from streetwatch.cases.schemas import Health

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Health, responses={503: {"model": Health}})
async def healthz(state: StateDep) -> JSONResponse:
    def check() -> Health:
        database, revision = migrate.database_status(state.engine)
        store = state.store.health(state.settings.evidence_min_free_bytes)
        ok = database == "ok" and store == "ok"
        return Health(
            status="ok" if ok else "unhealthy", database=database, evidence_store=store, schema_revision=revision
        )

    health = await run_in_threadpool(check)
    return JSONResponse(health.model_dump(), status_code=200 if health.status == "ok" else 503)


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
async def metrics(state: StateDep) -> Response:
    # Collected at scrape time (one statvfs), like every other status this service reports.
    def collect() -> None:
        try:
            state.metrics.evidence_free_bytes.set(state.store.free_bytes())
        except OSError:
            state.metrics.evidence_free_bytes.set(float("nan"))
        state.metrics.evidence_store_ok.set(state.store.health(state.settings.evidence_min_free_bytes) == "ok")

    await run_in_threadpool(collect)
    return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
