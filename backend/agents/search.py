"""Search of the Agent list: the runs whose agent span or any span under it (model requests, Tool
calls, spans nested in them) matches a span search (backend.search, docs/SEARCH.md).

Blocking (run through `SpanService.run_plan`). The list's own runs are walked newest first, a
batch at a time; for each batch only the files of its traces are read: their thin ancestry
(trace, span, parent) and the spans matching the compiled search, one file at a time. A match
counts for every agent span among its ancestors. After the time budget, a search answers the
matches found so far with `partial` and a cursor after the last run it examined, so a request
never runs unbounded and the next page goes on where it stopped.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import pyarrow as pa

from backend.agents.service import page_of_runs
from backend.index.store import AgentQuery, MetadataIndex
from backend.search.compile import CompiledSearch
from backend.spans import engine
from backend.spans.engine import SkippedFile, Source
from backend.spans.ingestion_client import HotTiers
from backend.spans.planner import Answer, encode_cursor, extra_sources

SEARCH_BATCH_RUNS = 50
"""Runs examined together: the time budget is checked between batches."""

_IN_BATCH = "trace_id IN (SELECT trace_id FROM batch)"


def _trace_sources(index: MetadataIndex, extra: list[Source], trace_ids: set[str]) -> list[Source]:
    paths = sorted({p for tid in trace_ids for p in index.trace_file_paths(tid)})
    return [Source(p, "cold") for p in paths] + extra


def _matching_runs(
    runs: list[dict[str, Any]],
    sources: list[Source],
    search: CompiledSearch,
    skipped: list[SkippedFile],
) -> set[tuple[str, str]]:
    """(trace id, agent span id) of the `runs` whose agent span or a descendant matches."""
    trace_ids = sorted({r["trace_id"] for r in runs})
    batch = {"batch": pa.table({"trace_id": pa.array(trace_ids, pa.string())})}
    ancestry = engine.query_spans(
        sources, _IN_BATCH, {}, tables=batch, select="trace_id, span_id, parent_span_id"
    )
    skipped.extend(ancestry.skipped)
    parent = {(r["trace_id"], r["span_id"]): r["parent_span_id"] for r in ancestry.rows}
    matches: set[tuple[str, str]] = set()
    for source in sources:  # one file at a time: the predicate decodes the attributes
        found = engine.query_spans(
            [source],
            f"{_IN_BATCH} AND {search.where}",
            search.params,
            tables=batch,
            select="trace_id, span_id",
        )
        skipped.extend(found.skipped)
        matches.update((r["trace_id"], r["span_id"]) for r in found.rows)
    agents = {(r["trace_id"], r["agent_span_id"]) for r in runs}
    hits: set[tuple[str, str]] = set()
    walked: set[tuple[str, str]] = set()  # each span is climbed once, so a deep trace stays linear
    for trace_id, span_id in matches:
        node: str | None = span_id
        while node and (trace_id, node) not in walked:
            walked.add((trace_id, node))
            if (trace_id, node) in agents:
                hits.add((trace_id, node))
            node = parent.get((trace_id, node))
    return hits


def search_runs(
    index: MetadataIndex,
    tiers: HotTiers,
    query: AgentQuery,
    search: CompiledSearch,
    limit: int,
    budget_secs: float,
) -> Answer:
    """One page of the runs `query` lists that match `search`, newest first (no total)."""
    deadline = time.monotonic() + budget_secs
    page: list[dict[str, Any]] = []
    skipped: list[SkippedFile] = []
    cursor, partial = query.cursor, False
    next_cursor: str | None = None
    with extra_sources(index, tiers) as extra:
        while True:
            batch = page_of_runs(index, tiers, extra, replace(query, cursor=cursor), SEARCH_BATCH_RUNS)
            skipped.extend(batch.skipped)
            runs: list[dict[str, Any]] = batch.data
            if runs:
                sources = _trace_sources(index, extra, {r["trace_id"] for r in runs})
                hits = _matching_runs(runs, sources, search, skipped)
                page.extend(r for r in runs if (r["trace_id"], r["agent_span_id"]) in hits)
                cursor = (runs[-1]["start_time_ns"], runs[-1]["agent_span_id"])
            if len(page) >= limit:
                page = page[:limit]
                next_cursor = encode_cursor(page[-1]["start_time_ns"], page[-1]["agent_span_id"])
                break
            if batch.next_cursor is None:
                break
            if time.monotonic() > deadline:
                assert cursor is not None  # a batch with a next cursor has runs
                partial, next_cursor = True, encode_cursor(*cursor)
                break
    answer = Answer(page, skipped, next_cursor, None, False)
    answer.partial = partial
    return answer
