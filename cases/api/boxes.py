"""`PUT /api/v1/cases/{id}/boxes`: the reviewer's boxes on the evidence frame (training labels)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from starlette.concurrency import run_in_threadpool

from streetwatch.cases.api.deps import DbSession, Reviewer
from streetwatch.cases.review_boxes import save_boxes
from streetwatch.cases.schemas import BoxesRequest, CasePublic

router = APIRouter(prefix="/cases", tags=["cases"])
ERROR = {
    "content": {
        "application/json": {"schema": {"type": "object", "properties": {"detail": {}, "code": {"type": "string"}}}}
    }
}  # `code`: streetwatch.cases.service.ErrorCode, where the refusal has one


@router.put(
    "/{case_id}/boxes",
    summary="Replace the reviewer's boxes on a case's evidence frame (add, move, resize, delete, re-class)",
    description="Each box names the filed detection it started from (`detection`), or none for a drawn box. "
    "A box left exactly as filed stays a machine box; any other is a human box. Saved with who and when "
    "in the case history.",
    response_model=CasePublic,
    responses={401: {**ERROR}, 403: ERROR, 404: ERROR, 409: ERROR, 422: ERROR},
)
async def put_boxes(
    case_id: Annotated[int, Path(ge=1, le=2**31 - 1)], body: BoxesRequest, session: DbSession, reviewer: Reviewer
) -> CasePublic:
    return await run_in_threadpool(save_boxes, session, case_id, body.boxes, reviewer)
