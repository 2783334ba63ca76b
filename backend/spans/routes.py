"""HTTP routes of the span API (session required on every one).

`/api/v1/observability/...` mirrors the reference's paths and Span shape; listings add a cursor
and filters. `/api/v1/trace-document/{trace_id}` is the trace document for the workflow
debugger (backend.agents serves `/api/v1/trace-evidence/{trace_id}`, the evidence junjo's client
reads); `/api/admin/flush-wal` flushes ingestion's WAL and indexes the result at once.

Listing metadata travels in headers so bodies keep the reference's `[Span]` shape:
`X-Next-Cursor` (absent on the last page), `X-Total-Count` with `X-Total-Count-Approximate`
(counts from the index: exact for plain listings of indexed data; approximate when filters by
time/name/LLM apply or unindexed data is present, which it does not count), `X-Junjo-Degraded`
(hot data unavailable: `ingestion-unavailable`), `X-Junjo-Skipped-Files` (unreadable files).

Listing rows are previews: the attributes a list page shows (`limits.PREVIEW_ATTRIBUTES`, strings
shortened), event names without attributes, no links, resource `service.name` only. Full values
come with the trace and span requests. A trace answer holds at most `limits.TRACE_SPAN_LIMIT`
spans and `limits.TRACE_ANSWER_BYTES` of their JSON; the rest is paged with `cursor`
(`X-Next-Cursor` and `X-Junjo-More-Spans` on the span list, `truncated` in the trace document).

The three service listings take `search`, a query in the span search language (backend.search,
docs/SEARCH.md): on the span list it filters the spans, on the trace and workflow lists it picks
the roots / workflow spans whose trace holds a matching span. A search gets no total; when it
runs out of its time budget it answers the matches found so far with
`X-Junjo-Search-Partial: time-budget` and a cursor that continues the search.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response

from backend.accounts.deps import require_admin, require_user
from backend.evaluations.tokens import Scope, require_scope
from backend.search.compile import compile_search
from backend.search.language import MAX_QUERY_CHARS, SearchSyntaxError, parse
from backend.spans.ingestion_client import DEGRADED_HEADER, HotTiers
from backend.spans.planner import Answer, InvalidCursor, ListQuery, decode_cursor
from backend.spans.schemas import FlushWalResult, Span, TraceDocument
from backend.spans.service import SpanService
from backend.validation import require_utf8

MORE_SPANS_HEADER = "X-Junjo-More-Spans"
SEARCH_PARTIAL_HEADER = "X-Junjo-Search-Partial"
SEARCH_BUDGET_SECS = 5.0
EXPOSED_HEADERS = (
    "X-Next-Cursor",
    MORE_SPANS_HEADER,
    SEARCH_PARTIAL_HEADER,
    "X-Total-Count",
    "X-Total-Count-Approximate",
    DEGRADED_HEADER,
    "X-Junjo-Skipped-Files",
)
TRACE_ID = r"^[0-9a-fA-F]{32}$"
SPAN_ID = r"^[0-9a-fA-F]{16}$"

observability = APIRouter(
    prefix="/api/v1/observability", tags=["observability"], dependencies=[Depends(require_user)]
)
evidence = APIRouter(
    prefix="/api/v1", tags=["observability"], dependencies=[Depends(require_scope(Scope.EVIDENCE_READ))]
)
admin = APIRouter(prefix="/api/admin", tags=["admin"], dependencies=[Depends(require_admin)])

TraceId = Annotated[str, Path(pattern=TRACE_ID, description="32 hex characters")]
SpanId = Annotated[str, Path(pattern=SPAN_ID, description="16 hex characters")]
ServiceName = Annotated[str, Path(min_length=1, max_length=512)]
Limit = Annotated[int, Query(ge=1, le=250)]


def span_service(request: Request) -> SpanService:
    return request.app.state.span_service


ServiceDep = Annotated[SpanService, Depends(span_service)]


def _unprocessable(field: str, message: str) -> HTTPException:
    return HTTPException(
        422, [{"type": "value_error", "loc": ["query", field], "msg": message, "input": None}]
    )


def _utf8(value: str | None, field: str) -> str | None:
    if value is None:
        return None
    try:
        return require_utf8(value)
    except ValueError as exc:
        raise _unprocessable(field, str(exc)) from None


def _ns(value: datetime | None) -> int | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    seconds = int(value.timestamp())
    return min(max(0, seconds * 10**9 + value.microsecond * 1000), 2**63 - 1)  # int64 ns range


def _respond(answer: Answer, tiers: HotTiers, body: Any) -> Response:
    response = Response(orjson.dumps(body), media_type="application/json")
    if tiers.degraded:
        response.headers[DEGRADED_HEADER] = tiers.degraded
    if answer.skipped:
        response.headers["X-Junjo-Skipped-Files"] = str(len({s.path for s in answer.skipped}))
    if answer.next_cursor:
        response.headers["X-Next-Cursor"] = answer.next_cursor
    if answer.more:
        response.headers[MORE_SPANS_HEADER] = str(answer.more)
    if answer.partial:
        response.headers[SEARCH_PARTIAL_HEADER] = "time-budget"
    if answer.total is not None:
        response.headers["X-Total-Count"] = str(answer.total)
        response.headers["X-Total-Count-Approximate"] = "false" if answer.total_exact else "true"
    return response


def _cursor(
    cursor: Annotated[
        str | None,
        Query(max_length=200, description="X-Next-Cursor / truncated.next_cursor of the previous page"),
    ] = None,
) -> tuple[int, str] | None:
    try:
        return decode_cursor(cursor) if cursor else None
    except InvalidCursor as exc:
        raise _unprocessable("cursor", str(exc)) from None


Cursor = Annotated[tuple[int, str] | None, Depends(_cursor)]


class ListFilters:
    """Query parameters shared by the three service listings."""

    def __init__(
        self,
        limit: Limit = 100,
        cursor: Annotated[
            str | None, Query(max_length=200, description="X-Next-Cursor of the previous page")
        ] = None,
        start_time: Annotated[
            datetime | None, Query(description="only spans starting at/after (ISO 8601)")
        ] = None,
        end_time: Annotated[
            datetime | None, Query(description="only spans starting at/before (ISO 8601)")
        ] = None,
        errors_only: Annotated[bool, Query(description="only spans with status ERROR")] = False,
        name: Annotated[
            str | None, Query(max_length=200, description="text contained in the span name")
        ] = None,
        search: Annotated[
            str | None,
            Query(
                max_length=MAX_QUERY_CHARS,
                description="a span search (docs/SEARCH.md), e.g. `user.id = 42 duration > 5s`",
            ),
        ] = None,
    ) -> None:
        self.limit = limit
        try:
            self.cursor = decode_cursor(cursor) if cursor else None
        except InvalidCursor as exc:
            raise _unprocessable("cursor", str(exc)) from None
        self.start_ns, self.end_ns = _ns(start_time), _ns(end_time)
        if self.start_ns is not None and self.end_ns is not None and self.start_ns > self.end_ns:
            raise _unprocessable("start_time", "start_time must not be after end_time")
        self.errors_only = errors_only
        self.name = _utf8(name, "name") or None
        self.search = None
        text = _utf8(search, "search")
        if text and text.strip():
            try:
                self.search = compile_search(parse(text))
            except SearchSyntaxError as exc:
                raise _unprocessable("search", str(exc)) from None

    def query(self, service: str, kind: Any, has_llm: bool = False) -> ListQuery:
        return ListQuery(
            service=_utf8(service, "service_name") or "",
            kind=kind,
            limit=self.limit,
            errors_only=self.errors_only,
            start_ns=self.start_ns,
            end_ns=self.end_ns,
            name_contains=self.name,
            has_llm=has_llm,
            cursor=self.cursor,
            search=self.search,
            budget_secs=SEARCH_BUDGET_SECS,
        )


Filters = Annotated[ListFilters, Depends()]


@observability.get("/services", response_model=list[str])
async def list_services(service: ServiceDep) -> Response:
    answer, tiers = await service.services()
    return _respond(answer, tiers, answer.data)


@observability.get("/services/{service_name:path}/spans/root", response_model=list[Span])
async def list_root_spans(
    service_name: ServiceName,
    filters: Filters,
    service: ServiceDep,
    has_llm: Annotated[bool, Query(description="only traces with an LLM span")] = False,
) -> Response:
    answer, tiers = await service.list_spans(filters.query(service_name, "roots", has_llm))
    return _respond(answer, tiers, answer.data)


@observability.get("/services/{service_name:path}/workflows", response_model=list[Span])
async def list_workflows(service_name: ServiceName, filters: Filters, service: ServiceDep) -> Response:
    answer, tiers = await service.list_spans(filters.query(service_name, "workflows"))
    return _respond(answer, tiers, answer.data)


@observability.get("/services/{service_name:path}/spans", response_model=list[Span])
async def list_service_spans(service_name: ServiceName, filters: Filters, service: ServiceDep) -> Response:
    answer, tiers = await service.list_spans(filters.query(service_name, "spans"))
    return _respond(answer, tiers, answer.data)


@observability.get("/traces/{trace_id}/spans", response_model=list[Span])
async def trace_spans(trace_id: TraceId, cursor: Cursor, service: ServiceDep) -> Response:
    """One page of the trace's spans, oldest first (see the module docstring for the bounds)."""
    answer, tiers = await service.trace_spans(trace_id.lower(), cursor)
    return _respond(answer, tiers, answer.data)


@observability.get("/traces/{trace_id}/spans/{span_id}", response_model=Span, responses={404: {}})
async def one_span(trace_id: TraceId, span_id: SpanId, service: ServiceDep) -> Response:
    answer, tiers = await service.one_span(trace_id.lower(), span_id.lower())
    if answer.data is None:
        raise HTTPException(404, "Span not found")
    return _respond(answer, tiers, answer.data)


@evidence.get("/trace-document/{trace_id}", response_model=TraceDocument, responses={404: {}})
async def trace_document(trace_id: TraceId, cursor: Cursor, service: ServiceDep) -> Response:
    answer, tiers = await service.trace_document(trace_id.lower(), cursor)
    if not answer.data:
        raise HTTPException(404, "Trace not found")
    return _respond(answer, tiers, answer.data)


@admin.post("/flush-wal", response_model=FlushWalResult)
async def flush_wal(service: ServiceDep) -> dict[str, Any]:
    result = await service.flush_wal()
    if not result["success"]:
        raise HTTPException(503, result["message"])
    return result


ROUTERS = (observability, evidence, admin)
