"""The Agent list's search over real cold files, the index and the hot snapshot: a run matches
through any span under its agent span (not above it), and a spent time budget answers partial
pages whose cursor still reaches every matching run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from backend.agents.search import search_runs
from backend.index.store import AgentQuery
from backend.search.compile import compile_search
from backend.search.language import parse
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
