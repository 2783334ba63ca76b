"""`GET /api/v1/observability/overview`: the home page's per-service charts (session required).

Answered from the index's rollups alone (backend.overview.query); the range is required and
bounded, and so is the number of points per series.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel

from backend.accounts.deps import require_user
from backend.index.store import MetadataIndex
from backend.overview.query import MAX_RANGE_NS, OverviewQuery, overview
from backend.validation import require_utf8

router = APIRouter(
    prefix="/api/v1/observability", tags=["observability"], dependencies=[Depends(require_user)]
)
MAX_POINTS = 240


class OverviewTotals(BaseModel):
    spans: int
    errors: int
    traces: int
    trace_errors: int
    workflows: int
    workflow_failures: int
    agents: int
    agent_failures: int
    llm_calls: int
    input_tokens: int
    output_tokens: int
    unpriced_calls: int
    flagged_calls: int
    cost_usd: float
    error_rate: float | None
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None


class OverviewSeries(BaseModel):
    """One value per chart bucket (bucket start `time_ms`); None where a bucket has no roots/spans."""

    time_ms: list[int]
    spans: list[int]
    errors: list[int]
    traces: list[int]
    trace_errors: list[int]
    workflows: list[int]
    workflow_failures: list[int]
    agents: list[int]
    agent_failures: list[int]
    llm_calls: list[int]
    input_tokens: list[int]
    output_tokens: list[int]
    unpriced_calls: list[int]
    flagged_calls: list[int]
    cost_usd: list[float]
    error_rate: list[float | None]
    p50_ms: list[float | None]
    p95_ms: list[float | None]
    p99_ms: list[float | None]


class ServiceOverview(BaseModel):
    service: str
    totals: OverviewTotals
    series: OverviewSeries


class Overview(BaseModel):
    start_ms: int
    end_ms: int
    step_ms: int
    services: list[ServiceOverview]


def _unprocessable(field: str, message: str) -> HTTPException:
    return HTTPException(
        422, [{"type": "value_error", "loc": ["query", field], "msg": message, "input": None}]
    )


def _ns(value: datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    seconds = int(value.timestamp())
    return min(max(0, seconds * 10**9 + value.microsecond * 1000), 2**63 - 1)


@router.get("/overview", response_model=Overview)
async def service_overview(
    request: Request,
    start_time: Annotated[datetime, Query(description="range start (ISO 8601)")],
    end_time: Annotated[datetime, Query(description="range end (ISO 8601)")],
    service: Annotated[str | None, Query(min_length=1, max_length=512, description="one service")] = None,
    points: Annotated[int, Query(ge=1, le=MAX_POINTS, description="buckets per series at most")] = 120,
) -> dict[str, Any]:
    start_ns, end_ns = _ns(start_time), _ns(end_time)
    if end_ns <= start_ns:
        raise _unprocessable("end_time", "end_time must be after start_time")
    if end_ns - start_ns > MAX_RANGE_NS:
        raise _unprocessable(
            "start_time", f"the range may span {MAX_RANGE_NS // (86_400 * 10**9)} days at most"
        )
    if service is not None:
        try:
            service = require_utf8(service)
        except ValueError as exc:
            raise _unprocessable("service", str(exc)) from None
    index: MetadataIndex = request.app.state.span_service.index
    query = OverviewQuery(start_ns=start_ns, end_ns=end_ns, max_points=points, service=service)
    return await asyncio.to_thread(overview, index, query)
