"""Span search end to end: real ingestion and backend processes, real OTLP exporters and a Junjo
0.69 workflow, then `search=` on the span, trace and workflow listings.

Spans with known attributes are sent through the OpenTelemetry SDK's OTLP/gRPC exporter, a third
of them indexed, a third flushed but not indexed, a third hot. Every query's expected answer is
computed here from what was sent, by plain Python predicates (never by the search code), and the
search must return exactly those spans, newest first, across pages. Injection attempts and
hostile input get plain answers or a clear 422.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pytest
from opentelemetry import trace

from tests.query.test_e2e import Env
from tests.support.api import OBS
from tests.support.otel import exporting_provider
from tests.support.polling import poll
from tests.support.procs import run_sender
from tests.support.stack import signed_in_stack

SERVICE = "search-e2e"
JUNJO_SERVICE = "search-junjo"
SEC = 10**9
BASE_NS = 1_790_000_000 * SEC  # 2026-09: far from "now", so nothing else is interleaved
MODELS = ("gpt-4o", "claude-3", "gpt-4o-mini")


@dataclass
class Sent:
    span_id: str
    trace_id: str
    name: str
    root: bool
    start_ns: int
    duration_ns: int
    error: bool
    attributes: dict[str, Any]


def _root_attributes(i: int) -> dict[str, Any]:
    return {
        "user.id": f"user-{i % 4}" if i % 2 == 0 else i % 4,  # strings and numbers mixed
        "session.id": f"s{i % 3}",
        "cart.total": i * 10.5,
        "vip": i % 5 == 0,
    }


def _child_attributes(i: int) -> dict[str, Any]:
    text = f"please process order {i}"
    if i % 4 == 0:
        text += " and issue a Refund"
    if i % 6 == 0:
        text += ' for the café ☕ "downtown"'
    return {"gen_ai.request.model": MODELS[i % 3], "input.value": text, "tokens": i * 100}


def _send(env: Env, first: int, count: int) -> list[Sent]:
    provider = exporting_provider(SERVICE, env.stack.otlp_endpoint, env.key)
    tracer = provider.get_tracer("search-e2e")
    sent: list[Sent] = []
    for i in range(first, first + count):
        start = BASE_NS + i * 60 * SEC
        duration = (i % 6) * SEC + SEC // 2
        root = tracer.start_span(f"request {i % 2}", start_time=start, attributes=_root_attributes(i))
        ctx = root.get_span_context()
        child_start = start + SEC // 10
        child = tracer.start_span(
            "llm call",
            context=trace.set_span_in_context(root),
            start_time=child_start,
            attributes=_child_attributes(i),
        )
        if i % 7 == 0:
            child.set_status(trace.Status(trace.StatusCode.ERROR, "model failed"))
        child.end(end_time=child_start + duration)
        root.end(end_time=start + duration + SEC)
        trace_id = f"{ctx.trace_id:032x}"
        sent.append(
            Sent(
                f"{ctx.span_id:016x}",
                trace_id,
                f"request {i % 2}",
                True,
                start,
                duration + SEC,
                False,
                _root_attributes(i),
            )
        )
        child_ctx = child.get_span_context()
        sent.append(
            Sent(
                f"{child_ctx.span_id:016x}",
                trace_id,
                "llm call",
                False,
                child_start,
                duration,
                i % 7 == 0,
                _child_attributes(i),
            )
        )
    provider.shutdown()
    return sent


@dataclass
class World:
    env: Env
    spans: list[Sent]
    junjo: dict[str, Any]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with signed_in_stack(tmp_path_factory.mktemp("search-e2e")) as (stack, api):
        env = Env(stack, api, api.create_api_key("search"))
        spans = _send(env, 0, 8)
        junjo = run_sender(
            "tests.support.junjo_demo",
            stack.otlp_endpoint,
            env.key,
            JUNJO_SERVICE,
            "--app",
            "tests.query.junjo_app:run_workflow",
        )
        assert api.http.post("/api/admin/flush-wal").json()["files_indexed"] >= 1  # indexed
        spans += _send(env, 8, 8)
        env.flush_wal_direct()  # cold, not indexed (the indexer polls hourly)
        spans += _send(env, 16, 8)  # hot
        poll(lambda: _ids(env, "spans", ""), lambda ids: len(ids) == len(spans))
        yield World(env, spans, junjo)


def _page(env: Env, kind: str, search: str, service: str = SERVICE, **params: Any) -> Any:
    path = {"spans": "spans", "roots": "spans/root", "workflows": "workflows"}[kind]
    return env.api.http.get(
        f"{OBS}/services/{quote(service, safe='')}/{path}", params={"search": search, **params}
    )


def _ids(env: Env, kind: str, search: str, limit: int = 250, service: str = SERVICE) -> list[str]:
    """Every page of the search, in order (asserting each page's order and no repeats)."""
    ids: list[str] = []
    cursor = None
    for _ in range(200):
        response = _page(env, kind, search, service, limit=limit, **({"cursor": cursor} if cursor else {}))
        assert response.status_code == 200, response.text
        page = response.json()
        starts = [(s["start_time"], s["span_id"]) for s in page]
        assert starts == sorted(starts, reverse=True)
        ids += [s["span_id"] for s in page]
        cursor = response.headers.get("X-Next-Cursor")
        if cursor is None:
            assert len(ids) == len(set(ids))
            return ids
    raise AssertionError("pagination did not end")


def _expected(world: World, match: Callable[[Sent], bool]) -> list[str]:
    chosen = sorted((s for s in world.spans if match(s)), key=lambda s: s.start_ns, reverse=True)
    return [s.span_id for s in chosen]


def _iso(ns: int) -> str:
    return datetime.fromtimestamp(ns / SEC, UTC).isoformat().replace("+00:00", "Z")


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


MIDDLE = BASE_NS + 12 * 60 * SEC
QUERIES: list[tuple[str, Callable[[Sent], bool]]] = [
    ('user.id = "user-0"', lambda s: s.attributes.get("user.id") == "user-0"),
    ("user.id = 1", lambda s: s.attributes.get("user.id") in (1, "1")),
    ("user.id != 1", lambda s: "user.id" in s.attributes and s.attributes["user.id"] not in (1, "1")),
    ("user.id exists", lambda s: "user.id" in s.attributes),
    ("session.id = s2", lambda s: s.attributes.get("session.id") == "s2"),
    ("cart.total > 100", lambda s: s.attributes.get("cart.total", -1) > 100),
    (
        "cart.total <= 52.5",
        lambda s: _number(s.attributes.get("cart.total")) and s.attributes["cart.total"] <= 52.5,
    ),
    ("cart.total >= 105 cart.total < 200", lambda s: 105 <= s.attributes.get("cart.total", -1) < 200),
    ("tokens = 300", lambda s: s.attributes.get("tokens") == 300),
    ("vip = true", lambda s: s.attributes.get("vip") is True),
    ("vip = false", lambda s: s.attributes.get("vip") is False),
    ("NOT vip exists", lambda s: "vip" not in s.attributes),
    ("gen_ai.request.model = gpt-4o", lambda s: s.attributes.get("gen_ai.request.model") == "gpt-4o"),
    (
        "gen_ai.request.model != gpt-4o",
        lambda s: s.attributes.get("gen_ai.request.model") not in (None, "gpt-4o"),
    ),
    ("llm.model_name exists", lambda s: False),
    ("refund", lambda s: "refund" in s.attributes.get("input.value", "").lower()),
    ('"café ☕ \\"downtown\\""', lambda s: 'café ☕ "downtown"' in s.attributes.get("input.value", "")),
    ('"order 1"', lambda s: "order 1" in s.attributes.get("input.value", "")),
    ('name = "llm call" duration > 3s', lambda s: s.name == "llm call" and s.duration_ns > 3 * SEC),
    ("duration < 1s", lambda s: s.duration_ns < SEC),
    ("duration >= 2500ms duration <= 4.5s", lambda s: 2.5 * SEC <= s.duration_ns <= 4.5 * SEC),
    ("status = error", lambda s: s.error),
    ('status != error name = "llm call"', lambda s: not s.error and s.name == "llm call"),
    (
        '(user.id = "user-0" OR user.id = 1) AND vip = true',
        lambda s: s.attributes.get("user.id") in ("user-0", 1) and s.attributes.get("vip") is True,
    ),
    (
        "gen_ai.request.model = claude-3 OR refund",
        lambda s: (
            s.attributes.get("gen_ai.request.model") == "claude-3"
            or "refund" in s.attributes.get("input.value", "").lower()
        ),
    ),
    (f"service = {SERVICE} kind = internal", lambda s: True),
    ("service = elsewhere", lambda s: False),
    (f"start >= {_iso(MIDDLE)}", lambda s: s.start_ns >= MIDDLE),
    (
        f"start < {_iso(MIDDLE)} refund",
        lambda s: s.start_ns < MIDDLE and "refund" in s.attributes.get("input.value", "").lower(),
    ),
    ("request", lambda s: s.name.startswith("request")),  # free text finds names too
]


@pytest.mark.parametrize(("query", "match"), QUERIES, ids=[q for q, _ in QUERIES])
def test_search_returns_exactly_the_matching_spans(
    world: World, query: str, match: Callable[[Sent], bool]
) -> None:
    assert _ids(world.env, "spans", query) == _expected(world, match)


PAGED: dict[str, Callable[[Sent], bool]] = {
    'name = "llm call"': lambda s: s.name == "llm call",
    "gen_ai.request.model = gpt-4o": lambda s: s.attributes.get("gen_ai.request.model") == "gpt-4o",
    "refund OR vip = true": lambda s: (
        "refund" in s.attributes.get("input.value", "").lower() or s.attributes.get("vip") is True
    ),
}


@pytest.mark.parametrize("query", list(PAGED))
def test_search_pages_are_complete_without_repeats(world: World, query: str) -> None:
    assert _ids(world.env, "spans", query, limit=3) == _expected(world, PAGED[query])


def _traces_with(world: World, match: Callable[[Sent], bool]) -> list[str]:
    """Root span ids of the traces holding a span that `match`es, newest root first."""
    traces = {s.trace_id for s in world.spans if match(s)}
    return _expected(world, lambda s: s.root and s.trace_id in traces)


TRACE_QUERIES: dict[str, Callable[[Sent], bool]] = {
    "refund": lambda s: "refund" in s.attributes.get("input.value", "").lower(),  # child text only
    "tokens = 300": lambda s: s.attributes.get("tokens") == 300,  # child attribute only
    "gen_ai.request.model = gpt-4o": lambda s: s.attributes.get("gen_ai.request.model") == "gpt-4o",
    "vip = true": lambda s: s.attributes.get("vip") is True,  # root attribute only
    "vip = true refund": lambda s: False,  # both terms must hold in one span
    "status = error": lambda s: s.error,
}


@pytest.mark.parametrize("query", list(TRACE_QUERIES))
@pytest.mark.parametrize("limit", [250, 2])
def test_trace_list_search_finds_traces_containing_a_matching_span(
    world: World, query: str, limit: int
) -> None:
    expected = _traces_with(world, TRACE_QUERIES[query])
    assert _ids(world.env, "roots", query, limit=limit) == expected
    assert expected or query == "vip = true refund"
    response = _page(world.env, "roots", query)
    assert "X-Total-Count" not in response.headers  # a search has no cheap total


def _texts(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item)


def _words(span: dict[str, Any]) -> list[str]:
    return [span["name"].lower(), *(t.lower() for t in _texts(span["attributes_json"]))]


def test_workflow_list_search_finds_workflows_whose_trace_holds_a_match(world: World) -> None:
    document = world.env.document(world.junjo["trace_id"])
    assert document is not None
    spans = document["spans"]
    workflows = [s for s in spans if s["attributes_json"].get("junjo.span_type") == "workflow"]
    expected = sorted(workflows, key=lambda s: (s["start_time"], s["span_id"]), reverse=True)
    workflow_text = " ".join(w for s in workflows for w in _words(s))
    # A string value of a span inside the workflow that no workflow span holds (a nested node's
    # runtime id): free text, like an attribute only the node spans have, finds the workflow.
    inner = (s for s in spans if s not in workflows)
    text = next(
        t
        for s in inner
        for t in _texts(s["attributes_json"])
        if len(t) > 8 and t.lower() not in workflow_text
    )
    for query in ["junjo.span_type = node", f'"{text}"']:
        found = _ids(world.env, "workflows", query, service=JUNJO_SERVICE, limit=1)
        assert found == [s["span_id"] for s in expected] and found, query
        assert _ids(world.env, "workflows", query) == []  # the other service has no workflows


def test_junjo_workflow_spans_are_searchable(world: World) -> None:
    trace_id = world.junjo["trace_id"]
    document = world.env.document(trace_id)
    assert document is not None
    by_type: dict[str, list[dict[str, Any]]] = {}
    for span in document["spans"]:
        by_type.setdefault(span["attributes_json"].get("junjo.span_type"), []).append(span)
    nodes = sorted(by_type["node"], key=lambda s: (s["start_time"], s["span_id"]), reverse=True)
    found = _ids(world.env, "spans", "junjo.span_type = node", service=JUNJO_SERVICE)
    assert found == [s["span_id"] for s in nodes] and found
    workflows = _ids(world.env, "workflows", "status = error", service=JUNJO_SERVICE)
    assert any(s["status_code"] == "2" for s in document["spans"])  # the trace holds an error
    assert sorted(workflows) == sorted(s["span_id"] for s in by_type["workflow"]) and workflows


@pytest.mark.parametrize(
    "query",
    [
        "name = \"x' OR '1'='1\"",
        '"\') OR 1=1 --"',
        'user.id = "1\\" OR 1=1 --"',
        '"%"',
        '"_"',
        '"\\\\"',
        '"‮evil‬ 🦄 \\u0000"'.replace("\\u0000", "x"),
    ],
)
def test_injection_attempts_match_nothing_and_break_nothing(world: World, query: str) -> None:
    for kind in ("spans", "roots", "workflows"):
        assert _ids(world.env, kind, query) == [], kind
    assert len(_ids(world.env, "spans", "vip = true")) == len(
        _expected(world, lambda s: s.attributes.get("vip") is True)
    )


@pytest.mark.parametrize(
    ("search", "message"),
    [
        ("x" * 1001, "at most 1000 characters"),
        ("(" * 300 + "a" + ")" * 300, "nested deeper than 8"),
        ("NOT " * 20 + "a", "nested deeper than 8"),
        (" ".join(f"k{i} = {i}" for i in range(21)), "more than 20 terms"),
        ("user.id =", "expected a value"),
        ("duration > 5", "a duration needs a unit"),
        ("status = maybe", "status is ok, error or unset"),
        ('"unterminated', "unterminated quoted string"),
    ],
)
def test_hostile_or_malformed_queries_get_a_clear_422(world: World, search: str, message: str) -> None:
    for kind in ("spans", "roots", "workflows"):
        response = _page(world.env, kind, search)
        assert response.status_code == 422, response.text
        assert message in response.text


def test_a_huge_query_string_is_refused_before_parsing(world: World) -> None:
    response = _page(world.env, "spans", "refund " * 8_000)
    assert response.status_code == 422
    # Invalid UTF-8 is decoded with replacement characters: a text search that matches nothing.
    for path in ("spans", "spans/root", "workflows"):
        response = world.env.api.http.get(f"{OBS}/services/{SERVICE}/{path}?search=%FF%FE")
        assert response.status_code == 200 and response.json() == [], path
