"""The FastAPI application. `create_app(settings)` builds everything explicitly (no import-time
side effects); `app_from_env()` is the factory uvicorn workers call."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from streetwatch.cases import migrate
from streetwatch.cases.api import boxes, cases, deliveries, open311, ops, review
from streetwatch.cases.db import is_disk_full, make_sessionmaker, open_database
from streetwatch.cases.evidence import EvidenceStore
from streetwatch.cases.evidence_sweep import EvidenceSweeper
from streetwatch.cases.forwarding import forwarder_from_settings
from streetwatch.cases.logs import configure_logging
from streetwatch.cases.metrics import make_metrics
from streetwatch.cases.middleware import (
    AccessLogMiddleware,
    BodyLimitMiddleware,
    NulQueryMiddleware,
    SecurityHeadersMiddleware,
)
from streetwatch.cases.rate_limit import RateLimitMiddleware, RateRule, TokenBuckets
from streetwatch.cases.service import STORE_FULL_RETRY_AFTER_S, CaseServiceError
from streetwatch.cases.service_codes import load_catalogue
from streetwatch.cases.settings import CaseSettings, load_settings, startup_signing_key
from streetwatch.cases.state import AppState
from streetwatch.cases.worker_process import die_with_parent
from streetwatch.cases.workflow import load_workflow
from streetwatch.contract import API_PREFIX
from streetwatch.version import __version__

log = logging.getLogger("streetwatch.cases")
STATIC_DIR = Path(__file__).parent / "static"


def create_app(settings: CaseSettings) -> FastAPI:
    configure_logging(settings.log_format, settings.log_level)
    if settings.dev_mode:
        log.warning("dev mode: secrets are not enforced; never run a city's service like this")
    engine = open_database(settings)
    if settings.migrate_on_start:
        migrate.upgrade(engine)
    metrics = make_metrics()
    store = EvidenceStore(settings.resolved_evidence_dir())
    sessions = make_sessionmaker(engine)
    state = AppState(
        settings=settings,
        engine=engine,
        sessions=sessions,
        store=store,
        catalogue=load_catalogue(settings.service_codes_file),
        workflow=load_workflow(settings.workflow_file),
        metrics=metrics,
        signing_key=startup_signing_key(settings),
        sweeper=EvidenceSweeper(
            store,
            sessions,
            grace_s=settings.evidence_sweep_grace_s,
            interval_s=settings.evidence_sweep_interval_s,
            metrics=metrics,
        ),
    )
    forwarder = forwarder_from_settings(state.sessions, settings, state.catalogue, state.workflow)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Each worker process runs a forwarder; they share the queue through row leases.
        if forwarder is not None:
            forwarder.start()
        state.sweeper.start()
        try:
            yield
        finally:
            state.sweeper.stop()
            if forwarder is not None:
                forwarder.stop()

    app = FastAPI(
        lifespan=lifespan,
        title="streetwatch case service",
        version=__version__,
        description="Cases filed by street-camera edge boxes; review; Open311 GeoReport v2 view.",
    )
    app.state.cases = state
    app.include_router(cases.router, prefix=API_PREFIX)
    app.include_router(boxes.router, prefix=API_PREFIX)
    app.include_router(deliveries.router, prefix=API_PREFIX)
    app.include_router(open311.router)
    app.include_router(review.router)
    app.include_router(ops.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    _install_error_handlers(app)
    # Outermost first: the access log sees the 413 that the body limit answers with.
    app.add_middleware(NulQueryMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(BodyLimitMiddleware, limit=settings.request_body_limit)
    app.add_middleware(RateLimitMiddleware, rules=_rate_rules(settings))
    app.add_middleware(AccessLogMiddleware, metrics=metrics)
    log.info(
        "case service ready",
        extra={"database": engine.url.render_as_string(hide_password=True), "evidence_dir": str(state.store.root)},
    )
    return app


def _rate_rules(settings: CaseSettings) -> list[RateRule]:
    """The endpoints anyone can reach: people's reports (Open311) and sign-in (token guessing)."""
    rules = []
    if settings.rate_limit_open311_per_minute:
        paths = frozenset(f"{open311.router.prefix}/requests.{fmt}" for fmt in ("json", "xml"))
        buckets = TokenBuckets(settings.rate_limit_open311_per_minute)
        rules.append(
            RateRule(
                "Open311 reports",
                "POST",
                paths,
                buckets,
                reply=lambda path, message: open311.error_reply(path, 429, message),
            )
        )
    if settings.rate_limit_login_per_minute:
        paths = frozenset({f"{review.router.prefix}/login"})
        rules.append(RateRule("sign-in attempts", "POST", paths, TokenBuckets(settings.rate_limit_login_per_minute)))
    return rules


def _is_open311(request: Request) -> bool:
    return request.url.path.startswith("/open311/")


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(CaseServiceError)
    async def service_error(request: Request, exc: CaseServiceError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer", **exc.headers} if exc.status == 401 else exc.headers
        body = {"detail": exc.detail} | ({"code": exc.code.value} if exc.code is not None else {})
        return JSONResponse(body, status_code=exc.status, headers=headers or None)

    @app.exception_handler(DBAPIError)
    async def database_error(request: Request, exc: DBAPIError) -> Response:
        if not is_disk_full(exc):
            raise exc  # a fault of ours: the server error handler answers 500 and logs it
        log.error("the database's disk is full: %s", exc.orig)
        detail = "the database has no room to store this; nothing was saved, send it again later"
        headers = {"Retry-After": str(STORE_FULL_RETRY_AFTER_S)}
        if _is_open311(request):
            reply = open311.error_reply(request.url.path, 507, detail)
            reply.headers.update(headers)
            return reply
        return JSONResponse({"detail": detail}, status_code=507, headers=headers)

    @app.exception_handler(open311.Open311Error)
    async def open311_error(request: Request, exc: open311.Open311Error) -> Response:
        return open311.error_reply(request.url.path, exc.code, exc.description)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        errors = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
        if _is_open311(request):
            text = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in errors)
            return open311.error_reply(request.url.path, 400, text)
        return JSONResponse({"detail": errors}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if _is_open311(request):
            return open311.error_reply(request.url.path, exc.status_code, str(exc.detail))
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)


def app_from_env() -> FastAPI:
    """uvicorn factory (`--factory`): settings from the environment, as each worker process starts."""
    die_with_parent()
    return create_app(load_settings())
