"""Search of the Agent list: the runs whose agent span or any span under it (model requests, Tool
calls, spans nested in them) matches a span search (backend.search, docs/SEARCH.md).

Blocking (run through `SpanService.run_plan`). The unindexed tiers are small and read once per
request: their runs, their spans' thin ancestry (trace, span, parent) and their spans matching the
compiled search. The list's own runs are then walked newest first, a batch at a time; for each
batch only the indexed files of its traces are read, for the same ancestry and matches, one file
at a time. A match counts for every agent span among its ancestors. After the time budget, a
search answers the matches found so far with `partial` and a cursor after the last run it
examined, so a request never runs unbounded and the next page goes on where it stopped.
"""

from __future__ import annotations

import time
from collections import ChainMap
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import pyarrow as pa

from backend.agents.service import runs_page, unindexed_runs
from backend.index.store import AgentQuery, MetadataIndex
from backend.search.compile import CompiledSearch
from backend.spans import engine
from backend.spans.engine import SkippedFile, Source
from backend.spans.ingestion_client import HotTiers
from backend.spans.planner import Answer, encode_cursor, extra_sources

SEARCH_BATCH_RUNS = 50
"""Runs examined together: the time budget is checked between batches."""

_IN_BATCH = "trace_id IN (SELECT trace_id FROM batch)"

SpanKey = tuple[str, str]  # (trace id, span id)


def _spans(
    sources: list[Source],
    where: str,
    tables: dict[str, pa.Table],
    search: CompiledSearch,
    skipped: list[SkippedFile],
) -> tuple[dict[SpanKey, str | None], set[SpanKey]]:
    """Each span's parent, and the spans matching `search`, of the rows of `sources` matching
    `where` (a predicate without parameters over `tables`)."""
    ancestry = engine.query_spans(
        sources, where, {}, tables=tables, select="trace_id, span_id, parent_span_id"
    )
    skipped.extend(ancestry.skipped)
    parent = {(r["trace_id"], r["span_id"]): r["parent_span_id"] for r in ancestry.rows}
    matches: set[SpanKey] = set()
    for source in sources:  # one file at a time: the predicate decodes the attributes
        found = engine.query_spans(
            [source],
            f"{where} AND {search.where}",
            search.params,
            tables=tables,
            select="trace_id, span_id",
        )
        skipped.extend(found.skipped)
        matches.update((r["trace_id"], r["span_id"]) for r in found.rows)
    return parent, matches


def _matching_runs(
    runs: list[dict[str, Any]], parent: Mapping[SpanKey, str | None], matches: set[SpanKey]
) -> set[SpanKey]:
    """(trace id, agent span id) of the `runs` whose agent span or a descendant is in `matches`."""
    agents = {(r["trace_id"], r["agent_span_id"]) for r in runs}
    hits: set[SpanKey] = set()
    walked: set[SpanKey] = set()  # each span is climbed once, so a deep trace stays linear
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
    cursor, partial = query.cursor, False
    next_cursor: str | None = None
    with extra_sources(index, tiers) as extra:
        unindexed, skipped = unindexed_runs(index, extra, query)
        extra_parent, extra_matches = _spans(extra, "TRUE", {}, search, skipped)
        while True:
            runs, batch_next = runs_page(index, replace(query, cursor=cursor), unindexed, SEARCH_BATCH_RUNS)
            if runs:
                trace_ids = {r["trace_id"] for r in runs}
                paths = sorted({p for tid in trace_ids for p in index.trace_file_paths(tid)})
                batch = {"batch": pa.table({"trace_id": pa.array(sorted(trace_ids), pa.string())})}
                parent, matches = _spans(
                    [Source(p, "cold") for p in paths], _IN_BATCH, batch, search, skipped
                )
                matches.update(m for m in extra_matches if m[0] in trace_ids)
                hits = _matching_runs(runs, ChainMap(parent, extra_parent), matches)
                page.extend(r for r in runs if (r["trace_id"], r["agent_span_id"]) in hits)
                cursor = (runs[-1]["start_time_ns"], runs[-1]["agent_span_id"])
            if len(page) >= limit:
                page = page[:limit]
                next_cursor = encode_cursor(page[-1]["start_time_ns"], page[-1]["agent_span_id"])
                break
            if batch_next is None:
                break
            if time.monotonic() > deadline:
                assert cursor is not None  # a batch with a next cursor has runs
                partial, next_cursor = True, encode_cursor(*cursor)
                break
    return Answer(page, skipped, next_cursor, None, False, partial=partial)
