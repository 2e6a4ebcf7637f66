"""Open311 GeoReport v2 view of the cases (https://wiki.open311.org/GeoReport_v2), JSON format.

Service codes come from the catalogue (config/service_codes.yaml). The lifecycle maps onto
Open311's two states: rejected, resolved and closed are `closed`; the rest is `open`, and
`status_notes` carries the precise state. Reads are public and carry no evidence or reporter data.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Path, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from streetwatch.cases.api.deps import DbSession, StateDep
from streetwatch.cases.lifecycle import OPEN311_CLOSED, CaseStatus, open311_status
from streetwatch.cases.schemas import CasePublic
from streetwatch.cases.service import CaseFilter, file_open311_request, find_case, newest_cases
from streetwatch.cases.state import AppState
from streetwatch.cases.tokens import TokenKind, resolve_token
from streetwatch.contract import Text, bounded_utc

router = APIRouter(prefix="/open311/v2", tags=["open311"])
MAX_REQUESTS = 1000  # GeoReport v2: servers may cap a query's results
MAX_ID = 2**31 - 1  # case ids are 32-bit integers


class Open311Error(Exception):
    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


class Open311ErrorBody(BaseModel):
    code: int
    description: str


class ServiceOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    service_code: str
    service_name: str
    description: str
    metadata: bool = False
    type: str = "realtime"
    keywords: str
    group: str | None


class RequestOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    service_request_id: str
    status: str = Field(description="open or closed")
    status_notes: str | None
    service_name: str
    service_code: str
    description: str | None
    agency_responsible: str | None = None
    service_notice: str | None = None
    requested_datetime: datetime
    updated_datetime: datetime
    expected_datetime: datetime | None = None
    address: str | None
    address_id: str | None
    zipcode: str | None = None
    lat: float
    long: float
    media_url: str | None = None


class CreatedOut(BaseModel):
    service_request_id: str
    service_notice: str | None = None
    account_id: str | None = None


ERRORS = {code: {"model": list[Open311ErrorBody]} for code in (400, 403, 404)}


@router.get("/services.json", response_model=list[ServiceOut])
async def services(
    state: StateDep, jurisdiction_id: Annotated[str | None, Query(max_length=100)] = None
) -> list[ServiceOut]:
    return [
        ServiceOut(
            service_code=s.code,
            service_name=s.name,
            description=s.description or f"{s.violation_type.value.replace('_', ' ')} ({s.name})",
            keywords=s.violation_type.value,
            group=category.name if (category := state.catalogue.category_of(s)) else None,
        )
        for s in state.catalogue.services
    ]


def _request_out(state: AppState, case: CasePublic) -> RequestOut:
    vt = (case.reviewed_violation_type or case.violation_type).value
    service = state.catalogue.for_case(vt, case.standard_code)
    notes = case.status.value + (f": {case.reject_reason}" if case.reject_reason else "")
    description = case.description
    if case.source == "edge":
        description = f"{vt.replace('_', ' ')} seen by camera {case.camera_id} in zone {case.zone_id}"
    return RequestOut(
        service_request_id=str(case.id),
        status=open311_status(case.status),
        status_notes=notes,
        service_name=service.name,
        service_code=service.code,
        description=description,
        requested_datetime=case.confirmed_at,
        updated_datetime=case.updated_at,
        address=case.location.address,
        address_id=case.location.grid_code,
        lat=case.location.lat,
        long=case.location.lon,
    )


@router.get("/requests.json", response_model=list[RequestOut], responses=ERRORS)
async def requests(
    state: StateDep,
    session: DbSession,
    jurisdiction_id: Annotated[str | None, Query(max_length=100)] = None,
    service_request_id: Annotated[str | None, Query(max_length=2000, description="comma-separated ids")] = None,
    service_code: Annotated[str | None, Query(max_length=200, description="comma-separated codes")] = None,
    start_date: datetime | None = None,
    end_date: datetime | None = None,
    status: Annotated[str | None, Query(pattern="^(open|closed)(,(open|closed))?$")] = None,
) -> list[RequestOut]:
    ids: tuple[int, ...] = ()
    if service_request_id:
        try:
            ids = tuple(int(v) for v in service_request_id.split(",") if v.strip())
            if not all(1 <= i <= MAX_ID for i in ids):  # an unbounded int overflows the database's integer
                raise ValueError(service_request_id)
        except ValueError:
            wanted = f"comma-separated case numbers (1 to {MAX_ID})"
            raise Open311Error(400, f"service_request_id must be {wanted}; got {service_request_id!r}") from None
    for moment, name in ((start_date, "start_date"), (end_date, "end_date")):
        if moment is not None and moment.tzinfo is None:
            raise Open311Error(400, f"{name} needs a time zone (W3C format, e.g. 2026-01-01T00:00:00Z)")
        if moment is not None:
            try:
                bounded_utc(moment)
            except ValueError as exc:
                raise Open311Error(400, f"{name}: {exc}") from None
    statuses: tuple[str, ...] = ()
    if status and "," not in status:
        closed = status == "closed"
        statuses = tuple(s.value for s in CaseStatus if (s in OPEN311_CLOSED) == closed)
    codes = {c.strip() for c in (service_code or "").split(",") if c.strip()}
    for code in codes:
        if state.catalogue.by_code(code) is None:
            raise Open311Error(400, f"unknown service_code {code!r}; see services.json")
    flt = CaseFilter(statuses=statuses, since=start_date, until=end_date, ids=ids)

    def query() -> list[RequestOut]:
        out = [_request_out(state, case) for case in newest_cases(session, flt, MAX_REQUESTS)]
        return [r for r in out if not codes or r.service_code in codes]

    return await run_in_threadpool(query)


@router.get("/requests/{request_id}.json", response_model=list[RequestOut], responses=ERRORS)
async def one_request(
    request_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    state: StateDep,
    session: DbSession,
    jurisdiction_id: Annotated[str | None, Query(max_length=100)] = None,
) -> list[RequestOut]:
    case = await run_in_threadpool(find_case, session, request_id)
    if case is None:
        raise Open311Error(404, f"no service request {request_id}")
    return [_request_out(state, case)]


@router.post("/requests.json", status_code=201, response_model=list[CreatedOut], responses=ERRORS)
async def create_request(
    state: StateDep,
    session: DbSession,
    api_key: Annotated[Text, Form(min_length=1, max_length=200, description="a client (or reviewer) token")],
    service_code: Annotated[Text, Form(min_length=1, max_length=32)],
    lat: Annotated[float | None, Form(ge=-90, le=90)] = None,
    long: Annotated[float | None, Form(ge=-180, le=180)] = None,
    address_string: Annotated[Text | None, Form(max_length=300)] = None,
    description: Annotated[Text | None, Form(max_length=4000)] = None,
    email: Annotated[Text | None, Form(max_length=200)] = None,
    first_name: Annotated[Text | None, Form(max_length=100)] = None,
    last_name: Annotated[Text | None, Form(max_length=100)] = None,
    phone: Annotated[Text | None, Form(max_length=50)] = None,
    jurisdiction_id: Annotated[Text | None, Form(max_length=100)] = None,
) -> list[CreatedOut]:
    service = state.catalogue.by_code(service_code)
    if service is None:
        raise Open311Error(400, f"unknown service_code {service_code!r}; see services.json")
    if lat is None or long is None:
        # Geocoding an address is the city's GIS's job; this service needs coordinates.
        raise Open311Error(400, "lat and long are required")
    reporter = {
        k: v for k, v in {"email": email, "first_name": first_name, "last_name": last_name, "phone": phone}.items() if v
    }

    def create() -> CasePublic:
        principal = resolve_token(session, api_key)
        if principal is None or principal.kind not in (TokenKind.CLIENT, TokenKind.REVIEWER):
            raise Open311Error(403, "api_key is unknown, revoked, or not a client token")
        return file_open311_request(
            session,
            principal,
            violation_type=service.violation_type.value,
            service_code=service.code,
            lat=lat,
            lon=long,
            address=address_string,
            description=description,
            reporter=reporter,
        )

    case = await run_in_threadpool(create)
    return [CreatedOut(service_request_id=str(case.id), service_notice="received; an inspector will review it")]
