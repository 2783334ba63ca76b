"""HTTP routes of Junjo executions: the Agent list and detail, execution resolution, trace evidence.

`GET /api/v1/agent-executions` takes the reference's parameters plus our cursor and filters; like
the span listings, the body is the list of items and paging travels in headers (`X-Next-Cursor`,
`X-Total-Count`). With `search` (the span search language) a run is listed when its agent span
or any span under it matches; like the span searches it gets no total and may answer a partial
page (`X-Junjo-Search-Partial`) whose cursor goes on. Resolution and trace evidence answer junjo's
StudioClient contract exactly: resolution is 404 until the owner span is ingested and 409
`ambiguous_execution_identity` with `match_count` when the identity is not unique; trace evidence
has exactly seven top-level keys.
Every route accepts the browser session or a Bearer developer token (`evidence:read`).
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import quote

import orjson
from fastapi import APIRouter, Depends, HTTPException, Path, Query, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from backend.agents import service as agents
from backend.agents.evidence import build_trace_evidence
from backend.agents.search import search_runs
from backend.evaluations.tokens import Scope, require_scope
from backend.index.store import AgentQuery
from backend.search.compile import compile_search
from backend.search.language import MAX_QUERY_CHARS, SearchSyntaxError, parse
from backend.spans.ingestion_client import DEGRADED_HEADER
from backend.spans.planner import InvalidCursor, decode_cursor
from backend.spans.routes import (
    SEARCH_BUDGET_SECS,
    SPAN_ID,
    TRACE_ID,
    ServiceDep,
    _ns,
    _respond,
    _unprocessable,
    _utf8,
)
from backend.spans.shape import iso_from_ns

router = APIRouter(
    prefix="/api/v1", tags=["agents"], dependencies=[Depends(require_scope(Scope.EVIDENCE_READ))]
)

ExecutableType = Literal["workflow", "subflow", "agent"]
Outcome = Literal["completed", "failed", "cancelled"]
Text = Annotated[str | None, Query(max_length=256)]
TraceId = Annotated[str, Path(pattern=TRACE_ID)]
SpanId = Annotated[str, Path(pattern=SPAN_ID)]


class ServiceIdentity(BaseModel):
    namespace: str
    name: str
    version: str | None


class ToolCallCounts(BaseModel):
    requested: int | None
    admitted: int | None
    started: int | None
    completed: int | None


class AgentCounts(BaseModel):
    operations: int | None
    model_requests: int | None
    tool_calls: ToolCallCounts


class AgentLimits(BaseModel):
    model_requests: int | None
    tool_calls: int | None


class UsageField(BaseModel):
    sum: int
    observations: int


class AgentUsage(BaseModel):
    model_responses: int
    fields: dict[str, UsageField]


class ParentExecutable(BaseModel):
    type: str
    definition_id: str
    runtime_id: str
    structural_id: str


class AgentExecution(BaseModel):
    trace_id: str
    agent_span_id: str
    service: ServiceIdentity
    agent_key: str
    agent_name: str
    structural_id: str | None
    definition_id: str | None
    runtime_id: str | None
    start_time: str
    end_time: str
    duration_ns: int
    outcome: str | None
    termination_reason: str | None
    is_error: bool
    limits: AgentLimits
    counts: AgentCounts
    usage: AgentUsage
    limit_exceeded: str | None
    parent: ParentExecutable | None
    contract_version: int | None


class VerificationDiagnostic(BaseModel):
    code: str
    path: str
    message: str


class VerificationRule(BaseModel):
    rule: str
    title: str
    status: Literal["passed", "failed", "skipped"]
    reason: str | None
    diagnostics: list[VerificationDiagnostic]


class AgentVerification(BaseModel):
    """`verify_agent`'s answer: the same object as the trace evidence's `verification`."""

    status: Literal["passed", "failed"]
    rules: list[VerificationRule]


class AgentExecutionDetail(BaseModel):
    execution: AgentExecution
    detail_path: str
    trace_path: str
    verification: AgentVerification | None  # None when the owner's contract version is unsupported
    verification_trace_truncated: bool  # the trace exceeds one bounded page: checked on its first page


class ExecutionResolution(BaseModel):
    service_namespace: str
    service_name: str
    executable_type: str
    runtime_id: str
    trace_id: str
    span_id: str
    detail_path: str
    trace_path: str
    failure_path: str


class ResolutionConflict(BaseModel):
    code: Literal["ambiguous_execution_identity"]
    message: str
    match_count: int


class TraceEvidence(BaseModel):
    trace_id: str
    spans: list[dict[str, Any]]
    executables_by_span_id: dict[str, dict[str, Any]]
    operations_by_owner_runtime_id: dict[str, dict[str, dict[str, Any]]]
    stores_by_id: dict[str, dict[str, Any]]
    relationships_by_owner_span_id: dict[str, dict[str, Any]]
    diagnostics: list[dict[str, Any]]


def _item(run: dict[str, Any]) -> dict[str, Any]:
    item = {k: v for k, v in run.items() if k not in ("start_time_ns", "end_time_ns")}
    item["start_time"], item["end_time"] = iso_from_ns(run["start_time_ns"]), iso_from_ns(run["end_time_ns"])
    return item


def _aware(value: datetime | None, field: str) -> int | None:
    if value is not None and value.tzinfo is None:
        raise _unprocessable(field, "must include a timezone (e.g. Z or +00:00)")
    return _ns(value)


def agent_paths(trace_id: str, span_id: str, service_name: str) -> tuple[str, str]:
    return f"/agents/{trace_id}/{span_id}", f"/traces/{quote(service_name, safe='')}/{trace_id}/{span_id}"


def execution_paths(
    executable_type: str, trace_id: str, span_id: str, service_name: str
) -> tuple[str, str, str]:
    """UI paths (detail, trace, failure) of a resolved execution: Agent page or workflow debugger."""
    if executable_type == "agent":
        detail, trace = agent_paths(trace_id, span_id, service_name)
    else:
        quoted = quote(service_name, safe="")
        detail, trace = f"/workflows/{quoted}/{trace_id}/{span_id}", f"/traces/{quoted}/{trace_id}/{span_id}"
    return detail, trace, f"{detail}?focus=failure"


@router.get("/agent-executions", response_model=list[AgentExecution])
async def list_agent_executions(
    spans: ServiceDep,
    service_namespace: Text = None,
    service_name: Text = None,
    service_version: Text = None,
    agent_key: Text = None,
    structural_id: Text = None,
    outcome: Outcome | None = None,
    start_time: Annotated[
        datetime | None, Query(description="runs starting at/after (timezone-aware)")
    ] = None,
    end_time: Annotated[datetime | None, Query(description="runs ending at/before (timezone-aware)")] = None,
    errors_only: bool = False,
    name: Annotated[str | None, Query(max_length=200, description="text in the agent name or key")] = None,
    search: Annotated[
        str | None,
        Query(
            max_length=MAX_QUERY_CHARS,
            description="a span search (docs/SEARCH.md) matched by the agent span or any span under it",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=250)] = 100,
    cursor: Annotated[
        str | None, Query(max_length=200, description="X-Next-Cursor of the previous page")
    ] = None,
) -> Response:
    text = _utf8(search, "search")
    try:
        compiled = compile_search(parse(text)) if text and text.strip() else None
    except SearchSyntaxError as exc:
        raise _unprocessable("search", str(exc)) from None
    start_ns, end_ns = _aware(start_time, "start_time"), _aware(end_time, "end_time")
    if start_ns is not None and end_ns is not None and start_ns > end_ns:
        raise _unprocessable("start_time", "start_time must not be after end_time")
    try:
        decoded = decode_cursor(cursor) if cursor else None
    except InvalidCursor as exc:
        raise _unprocessable("cursor", str(exc)) from None
    query = AgentQuery(
        service_namespace=_utf8(service_namespace, "service_namespace"),
        service_name=_utf8(service_name, "service_name"),
        service_version=_utf8(service_version, "service_version"),
        agent_key=_utf8(agent_key, "agent_key"),
        structural_id=_utf8(structural_id, "structural_id"),
        outcome=outcome,
        errors_only=errors_only,
        start_ns=start_ns,
        end_ns=end_ns,
        name=_utf8(name, "name") or None,
        cursor=decoded,
    )
    if compiled is None:
        answer, tiers = await spans.run_plan(lambda t: agents.list_runs(spans.index, t, query, limit))
    else:
        answer, tiers = await spans.run_plan(
            lambda t: search_runs(spans.index, t, query, compiled, limit, SEARCH_BUDGET_SECS)
        )
    return _respond(answer, tiers, [_item(r) for r in answer.data])


@router.get(
    "/agent-executions/{trace_id}/{span_id}", response_model=AgentExecutionDetail, responses={404: {}}
)
async def agent_execution(trace_id: TraceId, span_id: SpanId, spans: ServiceDep) -> Response:
    trace_id, span_id = trace_id.lower(), span_id.lower()
    answer, tiers = await spans.run_plan(lambda t: agents.one_run(spans.index, t, trace_id, span_id))
    if answer.data is None:
        raise HTTPException(404, "Agent execution not found")
    detail, trace = agent_paths(trace_id, span_id, answer.data["service"]["name"])
    page, _ = await spans.trace_spans(trace_id, None)  # what trace evidence reads, verified the same way
    document = await asyncio.to_thread(build_trace_evidence, trace_id, page.data or [])
    executable = document["executables_by_span_id"].get(span_id) or {}
    body = {
        "execution": _item(answer.data),
        "detail_path": detail,
        "trace_path": trace,
        "verification": executable.get("verification"),
        "verification_trace_truncated": bool(page.more),
    }
    return _respond(answer, tiers, body)


@router.get(
    "/execution-resolution",
    response_model=ExecutionResolution,
    responses={404: {}, 409: {"model": ResolutionConflict}},
)
async def resolve_execution(
    spans: ServiceDep,
    service_namespace: Annotated[str, Query(max_length=256)],
    service_name: Annotated[str, Query(min_length=1, max_length=256)],
    executable_type: ExecutableType,
    runtime_id: Annotated[str, Query(min_length=1, max_length=256)],
) -> Response:
    namespace = _utf8(service_namespace, "service_namespace") or ""
    service = _utf8(service_name, "service_name") or ""
    rid = _utf8(runtime_id, "runtime_id") or ""
    answer, tiers = await spans.run_plan(
        lambda t: agents.resolve(spans.index, t, namespace, service, executable_type, rid)
    )
    matches: list[tuple[str, str]] = answer.data
    if not matches:
        response: Response = JSONResponse({"detail": "Execution not found"}, status_code=404)
    elif len(matches) > 1:
        response = JSONResponse(
            {
                "code": "ambiguous_execution_identity",
                "message": f"{len(matches)} executions share this service, type and runtime id",
                "match_count": len(matches),
            },
            status_code=409,
        )
    else:
        trace_id, span_id = matches[0]
        detail, trace, failure = execution_paths(executable_type, trace_id, span_id, service)
        body = {
            "service_namespace": namespace,
            "service_name": service,
            "executable_type": executable_type,
            "runtime_id": rid,
            "trace_id": trace_id,
            "span_id": span_id,
            "detail_path": detail,
            "trace_path": trace,
            "failure_path": failure,
        }
        return _respond(answer, tiers, body)
    if tiers.degraded:
        response.headers[DEGRADED_HEADER] = tiers.degraded
    return response


@router.get("/trace-evidence/{trace_id}", response_model=TraceEvidence, responses={404: {}})
async def trace_evidence(trace_id: TraceId, spans: ServiceDep) -> Response:
    trace_id = trace_id.lower()
    answer, tiers = await spans.trace_spans(trace_id, None)  # the first (bounded) page of the trace
    if not answer.data:
        raise HTTPException(404, "Trace not found")
    document = await asyncio.to_thread(build_trace_evidence, trace_id, answer.data)
    if answer.more:  # the trace is larger than one answer: say so (the envelope takes no other key)
        issue = {
            "code": "trace_truncated",
            "path": "",
            "message": f"trace truncated, {answer.more} more spans are not in this evidence",
        }
        document["diagnostics"].append({"scope": "trace", "owner_span_id": None, "issue": issue})
    response = Response(orjson.dumps(document), media_type="application/json")
    if tiers.degraded:
        response.headers[DEGRADED_HEADER] = tiers.degraded
    return response
