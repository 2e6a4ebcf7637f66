"""The review page's list: filtered, searched, ordered for the work at hand, paged by offset.

Offset paging (page N of M) is what an inspector's list needs; the API keeps its keyset cursor.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from streetwatch.cases.lifecycle import CaseStatus
from streetwatch.cases.models import Case
from streetwatch.cases.schemas import CasePublic
from streetwatch.cases.service import CaseFilter, filtered, to_public


@dataclass(frozen=True)
class ReviewPage:
    items: list[CasePublic]
    total: int
    page: int
    pages: int
    cameras: list[str]


def _order(flt: CaseFilter):  # type: ignore[no-untyped-def]
    """Reported cases: urgent first, then oldest (the queue). Dispatched: nearest deadline first.
    Anything else: newest first."""
    if flt.statuses == (CaseStatus.REPORTED.value,):
        return (Case.urgent.desc(), Case.id)
    if flt.statuses == (CaseStatus.DISPATCHED.value,):
        return (Case.due_at, Case.id)
    return (Case.id.desc(),)


def review_page(session: Session, flt: CaseFilter, page: int, per_page: int) -> ReviewPage:
    """One page of the list, in the caller's session (the request's unit of work)."""
    total = session.scalar(filtered(select(func.count(Case.id)), flt)) or 0  # type: ignore[arg-type]
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    query = filtered(select(Case), flt).order_by(*_order(flt)).offset((page - 1) * per_page).limit(per_page)
    items = [to_public(c) for c in session.scalars(query)]
    cameras = sorted(
        c for c in session.scalars(select(Case.camera_id).where(Case.camera_id.is_not(None)).distinct()) if c
    )
    return ReviewPage(items=items, total=total, page=page, pages=pages, cameras=cameras)
