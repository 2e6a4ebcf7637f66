"""Open311 GeoReport v2 view of the cases (https://wiki.open311.org/GeoReport_v2).

Every resource in both formats the specification names: `.xml` (the required one) and `.json`:
`services`, `services/{service_code}` (the service definition), `requests` (GET with filters,
POST), `requests/{id}`. Service codes come from the catalogue (config/service_codes.yaml), grouped
by their 大类. The lifecycle maps onto Open311's two states: rejected, resolved, verified and
closed are `closed`; the rest is `open`, and `status_notes` carries the precise state.
`expected_datetime` is the deadline (处置时限) once a case is dispatched; `agency_responsible` its
department. Reads are public and carry no evidence or reporter data; `media_url` is set only when
a public copy of the evidence exists (see `media`).

Filters run in the database before the 1000-request cap, so a filtered query never loses older
matches to it; `page` (1-based) and `page_size` (at most 1000) page through what the cap would cut.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from xml.etree import ElementTree

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from streetwatch.cases.api.cases import evidence_response
from streetwatch.cases.api.deps import DbSession, StateDep
from streetwatch.cases.lifecycle import OPEN311_CLOSED, CaseStatus, open311_status
from streetwatch.cases.schemas import CasePublic
from streetwatch.cases.service import CaseFilter, file_open311_request, find_case, newest_cases, public_copy
from streetwatch.cases.state import AppState
from streetwatch.cases.tokens import TokenKind, resolve_token
from streetwatch.contract import Text, bounded_utc

router = APIRouter(prefix="/open311/v2", tags=["open311"])
MAX_REQUESTS = 1000  # GeoReport v2: servers may cap a query's results
MAX_ID = 2**31 - 1  # case ids are 32-bit integers
Format = Literal["json", "xml"]
XML_MEDIA_TYPE = "application/xml; charset=utf-8"


def path_format(request: Request) -> Format:
    """GeoReport v2 names the format by the path's extension (`requests.xml`, `requests.json`)."""
    return "xml" if request.url.path.endswith(".xml") else "json"


FormatDep = Annotated[Format, Depends(path_format)]


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
    lat: float | None
    long: float | None
    media_url: str | None = None


class CreatedOut(BaseModel):
    service_request_id: str
    service_notice: str | None = None
    account_id: str | None = None


ERRORS = {code: {"model": list[Open311ErrorBody]} for code in (400, 403, 404)}


# -- XML (the format GeoReport v2 requires) ---------------------------------------------------------
def _xml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _xml(root: str, item: str, rows: list[BaseModel]) -> str:
    """`<root><item><field>value</field>…</item>…</root>`; a list field becomes nested items."""
    top = ElementTree.Element(root)
    for row in rows:
        element = ElementTree.SubElement(top, item)
        for name, value in row.model_dump().items():
            child = ElementTree.SubElement(element, name)
            if isinstance(value, list):
                for entry in value:
                    sub = ElementTree.SubElement(child, name.rstrip("s") or name)
                    for key, val in entry.items():
                        if val is not None:
                            ElementTree.SubElement(sub, key).text = _xml_value(val)
            elif value is not None:
                child.text = _xml_value(value)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ElementTree.tostring(top, encoding="unicode")


def reply(fmt: Format, root: str, item: str, rows: list[BaseModel], status_code: int = 200) -> Response:
    if fmt == "xml":
        return Response(_xml(root, item, rows), status_code=status_code, media_type=XML_MEDIA_TYPE)
    body = "[" + ",".join(r.model_dump_json() for r in rows) + "]"
    return Response(body, status_code=status_code, media_type="application/json")


def error_reply(path: str, code: int, description: str) -> Response:
    """Open311 errors: a list of {code, description}, in the format the client asked for."""
    fmt: Format = "xml" if path.endswith(".xml") else "json"
    return reply(fmt, "errors", "error", [Open311ErrorBody(code=code, description=description)], status_code=code)


# -- services ---------------------------------------------------------------------------------------
class ServiceDefinitionOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    service_code: str
    attributes: list[dict[str, object]] = Field(default_factory=list)


def _service_out(state: AppState, code: str) -> ServiceOut:
    s = state.catalogue.by_code(code)
    assert s is not None  # callers pass catalogue codes
    category = state.catalogue.category_of(s)
    english = f" ({s.name_en})" if s.name_en else ""
    return ServiceOut(
        service_code=s.code,
        service_name=s.name,
        description=s.description or f"{category.name + ' › ' if category else ''}{s.name}{english}",
        keywords=s.violation_type.value,
        group=category.name if category else None,
    )


@router.get("/services.xml", response_model=list[ServiceOut])
@router.get("/services.json", response_model=list[ServiceOut])
async def services(
    state: StateDep, fmt: FormatDep, jurisdiction_id: Annotated[str | None, Query(max_length=100)] = None
) -> Response:
    rows = [_service_out(state, s.code) for s in state.catalogue.services]
    return reply(fmt, "services", "service", rows)  # type: ignore[arg-type]


@router.get("/services/{service_code}.xml", response_model=list[ServiceDefinitionOut], responses=ERRORS)
@router.get("/services/{service_code}.json", response_model=list[ServiceDefinitionOut], responses=ERRORS)
async def service_definition(
    state: StateDep,
    service_code: Annotated[str, Path(max_length=32)],
    fmt: FormatDep,
    jurisdiction_id: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    """Our services take no extra attributes (`metadata` is false), so each definition is empty."""
    if state.catalogue.by_code(service_code) is None:
        raise Open311Error(404, f"no service {service_code!r}; see services.{fmt}")
    definition = ServiceDefinitionOut(service_code=service_code)
    if fmt == "xml":
        top = ElementTree.Element("service_definition")
        ElementTree.SubElement(top, "service_code").text = service_code
        ElementTree.SubElement(top, "attributes")
        text = '<?xml version="1.0" encoding="utf-8"?>\n' + ElementTree.tostring(top, encoding="unicode")
        return Response(text, media_type=XML_MEDIA_TYPE)
    return Response(definition.model_dump_json(), media_type="application/json")


# -- requests ---------------------------------------------------------------------------------------
def _request_out(state: AppState, case: CasePublic, base_url: str) -> RequestOut:
    vt = (case.reviewed_violation_type or case.violation_type).value
    service = state.catalogue.for_case(vt, case.standard_code)
    notes = case.status.value + (f": {case.reject_reason}" if case.reject_reason else "")
    description = case.description
    if case.source == "edge":
        description = f"{vt.replace('_', ' ')} seen by camera {case.camera_id} in zone {case.zone_id}"
    department = state.workflow.department(case.department)
    return RequestOut(
        service_request_id=str(case.id),
        status=open311_status(case.status),
        status_notes=notes,
        service_name=service.name,
        service_code=service.code,
        description=description,
        agency_responsible=department.name if department else None,
        requested_datetime=case.confirmed_at,
        updated_datetime=case.updated_at,
        expected_datetime=case.due_at,
        address=case.location.address,
        address_id=case.location.grid_code,
        lat=case.location.lat,
        long=case.location.lon,
        media_url=media_url(case, base_url),
    )


def media_url(case: CasePublic, base_url: str) -> str | None:
    """The public copy (people and other plates hidden) of the case's main frame, as an absolute URL,
    when the edge box filed one; never an original frame. `base_url`: the service as the caller
    reached it (behind a balancer, uvicorn's FORWARDED_ALLOW_IPS makes that the public address)."""
    for role in ("confirmation", "confirmation_clean", "first_seen", "first_seen_clean"):
        evidence = next((e for e in case.evidence if e.role == role), None)
        if evidence is not None and evidence.public_url:
            return base_url.rstrip("/") + evidence.public_url
    return None


@router.get("/media/{case_id}/{sha256}.jpg", summary="A public copy of a case's frame (anyone)", responses=ERRORS)
async def media(
    case_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    sha256: Annotated[str, Path(pattern="^[0-9a-f]{64}$")],
    state: StateDep,
    session: DbSession,
) -> Response:
    """Only public copies (people and other plates hidden by the edge box); an original is a 404 here."""
    row = await run_in_threadpool(public_copy, session, case_id, sha256)
    return evidence_response(state, row)


@router.get("/requests.xml", response_model=list[RequestOut], responses=ERRORS)
@router.get("/requests.json", response_model=list[RequestOut], responses=ERRORS)
async def requests(
    request: Request,
    state: StateDep,
    session: DbSession,
    fmt: FormatDep,
    jurisdiction_id: Annotated[str | None, Query(max_length=100)] = None,
    service_request_id: Annotated[str | None, Query(max_length=2000, description="comma-separated ids")] = None,
    service_code: Annotated[str | None, Query(max_length=200, description="comma-separated codes")] = None,
    start_date: datetime | None = None,
    end_date: datetime | None = None,
    status: Annotated[str | None, Query(pattern="^(open|closed)(,(open|closed))?$")] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000, description="1-based page of page_size requests")] = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_REQUESTS)] = MAX_REQUESTS,
) -> Response:
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
    codes = tuple(sorted({c.strip() for c in (service_code or "").split(",") if c.strip()}))
    for code in codes:
        if state.catalogue.by_code(code) is None:
            raise Open311Error(400, f"unknown service_code {code!r}; see services.{fmt}")
    # The code filter is part of the query, so the cap counts only matching requests.
    flt = CaseFilter(statuses=statuses, since=start_date, until=end_date, ids=ids, codes=codes)

    def query() -> list[RequestOut]:
        found = newest_cases(session, flt, page_size, offset=(page - 1) * page_size)
        return [_request_out(state, case, str(request.base_url)) for case in found]

    rows = await run_in_threadpool(query)
    return reply(fmt, "service_requests", "request", rows)  # type: ignore[arg-type]


@router.get("/requests/{request_id}.xml", response_model=list[RequestOut], responses=ERRORS)
@router.get("/requests/{request_id}.json", response_model=list[RequestOut], responses=ERRORS)
async def one_request(
    request: Request,
    request_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    fmt: FormatDep,
    state: StateDep,
    session: DbSession,
    jurisdiction_id: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    case = await run_in_threadpool(find_case, session, request_id)
    if case is None:
        raise Open311Error(404, f"no service request {request_id}")
    return reply(fmt, "service_requests", "request", [_request_out(state, case, str(request.base_url))])


@router.post("/requests.xml", status_code=201, response_model=list[CreatedOut], responses=ERRORS)
@router.post("/requests.json", status_code=201, response_model=list[CreatedOut], responses=ERRORS)
async def create_request(
    state: StateDep,
    session: DbSession,
    fmt: FormatDep,
    api_key: Annotated[Text, Form(min_length=1, max_length=200, description="a client (or reviewer) token")],
    service_code: Annotated[Text, Form(min_length=1, max_length=32)],
    lat: Annotated[float | None, Form(ge=-90, le=90)] = None,
    long: Annotated[float | None, Form(ge=-180, le=180)] = None,
    address_string: Annotated[Text | None, Form(max_length=300)] = None,
    address_id: Annotated[Text | None, Form(max_length=64)] = None,
    description: Annotated[Text | None, Form(max_length=4000)] = None,
    email: Annotated[Text | None, Form(max_length=200)] = None,
    first_name: Annotated[Text | None, Form(max_length=100)] = None,
    last_name: Annotated[Text | None, Form(max_length=100)] = None,
    phone: Annotated[Text | None, Form(max_length=50)] = None,
    jurisdiction_id: Annotated[Text | None, Form(max_length=100)] = None,
) -> Response:
    """A location is required, as the specification says: lat and long, or address_string, or
    address_id (here the grid code, 单元网格). Coordinates come as a pair or not at all."""
    service = state.catalogue.by_code(service_code)
    if service is None:
        raise Open311Error(400, f"unknown service_code {service_code!r}; see services.{fmt}")
    if (lat is None) != (long is None):
        raise Open311Error(400, "lat and long come together; got only one of them")
    address = address_string.strip() if address_string and address_string.strip() else None
    grid = address_id.strip() if address_id and address_id.strip() else None
    if lat is None and address is None and grid is None:
        raise Open311Error(400, "a location is required: lat and long, or address_string, or address_id")
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
            address=address,
            grid_code=grid,
            description=description,
            reporter=reporter,
        )

    case = await run_in_threadpool(create)
    created = CreatedOut(service_request_id=str(case.id), service_notice="received; an inspector will review it")
    return reply(fmt, "service_requests", "request", [created], status_code=201)
