"""Agent execution queries: the index answers for indexed files, the unindexed tiers are read whole.

Blocking functions (run through `SpanService.run_plan`, which supplies fresh hot tiers). The
unindexed tiers are the hot snapshot and recently flushed files the indexer has not seen; they are
small, so their owner spans are found by a text match on the attributes and summarised with the
same `owner_summary` the indexer uses. A run present in both keeps the index's row.
"""

from __future__ import annotations

from typing import Any

import orjson

from backend.agents.telemetry import json_object, owner_summary
from backend.index.store import AgentQuery, MetadataIndex
from backend.spans import engine
from backend.spans.engine import SkippedFile, Source
from backend.spans.ingestion_client import HotTiers
from backend.spans.planner import Answer, encode_cursor, escape_like, extra_sources
from junjo_common.spanformat.v1 import STATUS_ERROR

AGENT_MARK = '"junjo.span_type":"agent"'


def _owner_rows(
    sources: list[Source], where: str, params: dict[str, Any]
) -> tuple[list[dict[str, Any]], list]:
    skipped: list[SkippedFile] = []  # full rows, read in batches sized by each file's footer
    return list(engine.stream_spans(sources, where, params, skipped)), skipped


def _summaries(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    runs = []
    for row in rows:
        attrs = json_object(row["attributes"])
        if attrs.get("junjo.span_type") != "agent":
            continue
        runs.append(
            owner_summary(
                attrs,
                json_object(row["resource_attributes"]),
                trace_id=row["trace_id"],
                span_id=row["span_id"],
                service_name=row["service_name"],
                name=row["name"] or "",
                start_ns=row["start_time"],
                end_ns=row["end_time"],
                status_error=row["status_code"] == STATUS_ERROR,
            )
        )
    return runs


def unindexed_runs(
    index: MetadataIndex, extra: list[Source], query: AgentQuery
) -> tuple[list[dict[str, Any]], list[SkippedFile]]:
    """The runs `query`'s filters (not its cursor) match that only the unindexed tiers (opened
    already, `extra_sources`) hold: a run the index has too is the index's."""
    if not extra:
        return [], []
    where, params = "attributes LIKE $mark", {"mark": f"%{AGENT_MARK}%"}
    if query.service_name is not None:
        where += " AND service_name = $svc"
        params["svc"] = query.service_name
    rows, skipped = _owner_rows(extra, where, params)
    runs = [r for r in _summaries(rows) if query.matches(r)]
    return [r for r in runs if index.agent_execution(r["trace_id"], r["agent_span_id"]) is None], skipped


def runs_page(
    index: MetadataIndex, query: AgentQuery, unindexed: list[dict[str, Any]], limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    """The newest `limit` runs after `query.cursor`, from the index and `unindexed`
    (`unindexed_runs`), and the cursor of the next page (None after the last)."""
    after_cursor = [
        r
        for r in unindexed
        if query.cursor is None or (r["start_time_ns"], r["agent_span_id"]) < query.cursor
    ]
    candidates = list(index.agent_executions(query, limit)) + after_cursor
    page = sorted(candidates, key=lambda r: (r["start_time_ns"], r["agent_span_id"]), reverse=True)[:limit]
    next_cursor = (
        encode_cursor(page[-1]["start_time_ns"], page[-1]["agent_span_id"]) if len(page) == limit else None
    )
    return page, next_cursor


def list_runs(index: MetadataIndex, tiers: HotTiers, query: AgentQuery, limit: int) -> Answer:
    """One page of Agent runs, newest first; `total` counts every match (exact unless degraded)."""
    with extra_sources(index, tiers) as extra:
        unindexed, skipped = unindexed_runs(index, extra, query)
        page, next_cursor = runs_page(index, query, unindexed, limit)
        total = index.count_agent_executions(query) + len(unindexed)
    return Answer(page, skipped, next_cursor, total, not tiers.degraded)


def one_run(index: MetadataIndex, tiers: HotTiers, trace_id: str, span_id: str) -> Answer:
    run = index.agent_execution(trace_id, span_id)
    if run is not None:
        return Answer(run)
    with extra_sources(index, tiers) as extra:
        rows, skipped = _owner_rows(
            extra, "trace_id = $tid AND span_id = $sid", {"tid": trace_id, "sid": span_id}
        )
    runs = _summaries(rows)
    return Answer(runs[0] if runs else None, skipped)


def resolve(
    index: MetadataIndex, tiers: HotTiers, namespace: str, service: str, executable_type: str, runtime_id: str
) -> Answer:
    """Distinct (trace id, span id) of the owner spans with this semantic identity."""
    matches = set(index.executable_matches(namespace, service, executable_type, runtime_id))
    rid_text = orjson.dumps(runtime_id).decode()
    with extra_sources(index, tiers) as extra:
        rows, skipped = (
            _owner_rows(
                extra,
                "service_name = $svc AND attributes LIKE $rid ESCAPE '\\'",
                {"svc": service, "rid": f"%{escape_like(f'"junjo.executable_runtime_id":{rid_text}')}%"},
            )
            if extra
            else ([], [])
        )
    for row in rows:
        attrs = json_object(row["attributes"])
        resource = json_object(row["resource_attributes"])
        ns = resource.get("service.namespace")
        if (
            attrs.get("junjo.span_type") == executable_type
            and attrs.get("junjo.executable_runtime_id") == runtime_id
            and (ns if isinstance(ns, str) else "") == namespace
        ):
            matches.add((row["trace_id"], row["span_id"]))
    return Answer(sorted(matches), skipped)
