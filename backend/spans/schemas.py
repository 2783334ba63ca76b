"""Response models of the span API (for the OpenAPI document the frontend client is built from).

Handlers return pre-serialised JSON for speed; these models describe exactly that JSON.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class LlmUsage(BaseModel):
    """Tokens, model and cost of one LLM call; `cost_usd` is None when the price is unknown."""

    source: str
    input_tokens: int | None
    output_tokens: int | None
    total_tokens: int | None
    cache_read_tokens: int | None
    provider: str | None
    model: str | None
    cost_usd: float | None
    price_known: bool
    flags: list[str]


class Span(BaseModel):
    """The reference's `Span` dict (reference-backend §1.5)."""

    trace_id: str
    span_id: str
    parent_span_id: str | None
    service_name: str
    name: str
    kind: str
    start_time: str
    end_time: str
    status_code: str
    status_message: str
    attributes_json: dict[str, Any]
    events_json: list[Any]
    links_json: list[Any]
    trace_flags: int
    trace_state: str | None
    dropped_attributes_count: int
    dropped_events_count: int
    dropped_links_count: int
    resource_attributes_json: dict[str, Any]
    resource_dropped_attributes_count: int
    llm_usage: LlmUsage | None = None
    """Only on a full span that records an LLM call."""


class StoreTransition(BaseModel):
    sequence: int
    span_id: str
    event_id: str | None
    store_name: str | None
    action: str | None
    revision_before: int | None
    revision_after: int | None
    time_unix_nano: str | None
    patch: list[Any] | None
    before: Any
    after: Any


class StoreHistory(BaseModel):
    store_id: str | None
    status: str  # verified | failed | unavailable | unverifiable (reasons say why)
    reasons: list[str]
    start: Any
    end: Any
    transitions: list[StoreTransition]


class WorkflowExecution(BaseModel):
    span_id: str
    name: str
    executable_type: str  # workflow | subflow
    contract_version: int
    runtime_id: str | None
    status_code: str
    graph: dict[str, Any] | None
    graph_error: str | None
    node_spans: dict[str, list[str]]
    store: StoreHistory


class Diagnostic(BaseModel):
    code: str
    span_id: str | None = None
    message: str


class TraceTruncation(BaseModel):
    """Present when the answer leaves spans out: fetch the rest with `?cursor=next_cursor`."""

    returned_spans: int
    more_spans: int
    next_cursor: str | None
    span_limit: int
    byte_limit: int
    message: str  # "trace truncated, N more spans"


class AgentRun(BaseModel):
    """A Junjo Agent owner span in the trace (its execution page is /agents/{trace}/{span})."""

    span_id: str
    name: str
    runtime_id: str | None
    agent_key: str | None
    outcome: str | None
    parent_span_id: str | None


class TraceDocument(BaseModel):
    trace_id: str
    spans: list[Span]
    workflows: dict[str, WorkflowExecution]
    agents: dict[str, AgentRun]
    diagnostics: list[Diagnostic]
    truncated: TraceTruncation | None = None


class FlushWalResult(BaseModel):
    success: bool
    message: str
    files_indexed: int
