"""The Agent list's search over real cold files, the index and the hot snapshot: a run matches
through any span under its agent span (not above it), and a spent time budget answers partial
pages whose cursor still reaches every matching run."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from backend.agents import search as agent_search
from backend.agents.search import search_runs
from backend.index.store import AgentQuery
from backend.search.compile import compile_search
from backend.search.language import parse
from backend.spans import engine
from backend.spans.engine import Source
from backend.spans.planner import decode_cursor
from tests.query.spanfiles import BASE_NS, new_trace_id, span
from tests.query.test_query_planner import World

SEC = 10**9


def _run(start: int, hit: bool, runtime_id: str) -> list[dict[str, Any]]:
    """A workflow span above an agent span, its Tool span and a span nested in the Tool call;
    the nested span carries `city` (Oslo when `hit`), the workflow span always says Oslo."""
    trace = new_trace_id()
    workflow = span(trace, name="workflow", start_ns=start, attributes={"note": "Oslo"})
    agent = span(
        trace,
        name="agent",
        start_ns=start + 1,
        parent=workflow["span_id"],
        attributes={
            "junjo.span_type": "agent",
            "junjo.telemetry.contract_version": 3,
            "junjo.executable_runtime_id": runtime_id,
            "junjo.agent.runtime_id": runtime_id,
        },
    )
    tool = span(trace, name="tool", start_ns=start + 2, parent=agent["span_id"], attributes={"t": 1})
    nested = span(
        trace,
        name="http",
        start_ns=start + 3,
        parent=tool["span_id"],
        attributes={"city": "Oslo" if hit else "Rome"},
    )
    return [workflow, agent, tool, nested]


def _pages(world: World, query: str, budget_secs: float, limit: int) -> tuple[list[str], int]:
    search = compile_search(parse(query))
    found: list[str] = []
    cursor, partial_pages = None, 0
    for _ in range(200):
        answer = search_runs(world.index, world.tiers, AgentQuery(cursor=cursor), search, limit, budget_secs)
        partial_pages += answer.partial
        found += [r["runtime_id"] for r in answer.data]
        if answer.next_cursor is None:
            return found, partial_pages
        cursor = decode_cursor(answer.next_cursor)
    raise AssertionError("the cursor never ended")


def test_runs_match_through_spans_under_the_agent_and_partial_pages_reach_all(tmp_path: Path) -> None:
    world = World(tmp_path)
    expected: list[str] = []
    for f in range(12):
        rows: list[dict[str, Any]] = []
        for i in range(10):
            n = f * 10 + i
            hit = n % 7 == 0
            rows += _run(BASE_NS + n * SEC, hit, f"run-{n}")
            if hit:
                expected.append(f"run-{n}")
        world.cold(rows, indexed=f < 10)
    hot = _run(BASE_NS + 500 * SEC, True, "run-hot")
    world.hot(hot)
    expected.append("run-hot")

    found, partial = _pages(world, "city = Oslo", budget_secs=60.0, limit=4)
    assert found == sorted(
        expected, key=lambda r: int(r.split("-")[1]) if r != "run-hot" else 10**6, reverse=True
    )
    assert partial == 0
    assert _pages(world, "Oslo", 60.0, 500)[0] == found  # the workflow span above says Oslo too: not counted
    assert _pages(world, "name = workflow", 60.0, 500)[0] == []
    assert len(_pages(world, "name = agent", 60.0, 500)[0]) == 121  # the agent span itself

    spent, partial = _pages(world, "city = Oslo", budget_secs=0.0, limit=100)
    assert partial > 0 and spent == found  # every page partial yet nothing lost nor repeated


def test_a_search_reads_the_unindexed_tiers_once_however_many_batches_it_walks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hot snapshot and a flushed file not indexed yet are read by a fixed number of queries
    per request (their runs, their spans' ancestry, their matching spans), not again for every
    batch of runs; and a search never counts the list's runs (it answers no total)."""
    world = World(tmp_path)
    for f in range(3):
        world.cold(
            [row for i in range(4) for row in _run(BASE_NS + (f * 4 + i) * SEC, f + i == 0, f"run-{f}-{i}")]
        )
    unindexed = world.cold(_run(BASE_NS + 400 * SEC, True, "run-unindexed"), indexed=False)
    world.hot(_run(BASE_NS + 500 * SEC, False, "run-hot"))
    tiers = {str(unindexed), str(world.hot_path)}
    reads: Counter[str] = Counter()

    def counting(read: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(sources: list[Source], *args: Any, **kwargs: Any) -> Any:
            reads.update({s.path for s in sources} & tiers)
            return read(sources, *args, **kwargs)

        return wrapper

    monkeypatch.setattr(engine, "query_spans", counting(engine.query_spans))
    monkeypatch.setattr(engine, "stream_spans", counting(engine.stream_spans))
    counts: list[AgentQuery] = []
    count_runs = world.index.count_agent_executions
    monkeypatch.setattr(world.index, "count_agent_executions", lambda q: counts.append(q) or count_runs(q))
    search = compile_search(parse("city = Oslo"))

    def found(batch_runs: int) -> list[str]:
        monkeypatch.setattr(agent_search, "SEARCH_BATCH_RUNS", batch_runs)
        reads.clear()
        answer = search_runs(world.index, world.tiers, AgentQuery(), search, 10, 60.0)
        return [r["runtime_id"] for r in answer.data]

    assert found(1000) == ["run-unindexed", "run-0-0"]  # all 14 runs in one batch
    in_one_batch = dict(reads)
    assert found(2) == ["run-unindexed", "run-0-0"]  # the oldest run matches: seven batches walked
    assert dict(reads) == in_one_batch and set(in_one_batch) == tiers
    assert all(n <= 3 for n in in_one_batch.values()), in_one_batch
    assert counts == []
