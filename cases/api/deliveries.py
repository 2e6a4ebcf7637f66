"""`/api/v1/deliveries`: the forwarding queue to the city's platform, and its dead letters."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from starlette.concurrency import run_in_threadpool

from streetwatch.cases.api.deps import DbSession, Reviewer
from streetwatch.cases.forwarding import list_deliveries, retry_delivery
from streetwatch.cases.schemas import DeliveryPublic

router = APIRouter(prefix="/deliveries", tags=["forwarding"])


@router.get("", summary="Deliveries to the city's platform (status=dead: the dead letters)")
async def read_deliveries(
    session: DbSession,
    _reviewer: Reviewer,
    status: Annotated[Literal["pending", "delivered", "dead"] | None, Query()] = None,
    case_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[DeliveryPublic]:
    return await run_in_threadpool(list_deliveries, session, status, case_id, limit)


@router.post("/{row_id}/retry", summary="Queue a dead delivery again (same delivery id, same body)")
async def post_retry(
    row_id: Annotated[int, Path(ge=1, le=2**31 - 1)], session: DbSession, _reviewer: Reviewer
) -> DeliveryPublic:
    return await run_in_threadpool(retry_delivery, session, row_id)
