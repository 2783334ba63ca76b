"""Search over real cold files, the hot snapshot and the index: which files a search opens, the
attribute index's bounds, and the time budget (partial pages whose cursor still reaches every match)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from backend.index.summary import summarize
from backend.search.attributes import MAX_VALUE_CHARS, MAX_VALUES_PER_FILE
from backend.search.compile import compile_search
from backend.search.language import parse
from backend.spans import planner
from backend.spans.planner import decode_cursor
from tests.query.spanfiles import BASE_NS, new_trace_id, span
from tests.query.test_query_planner import World

SEC = 10**9


SENT: dict[str, dict[str, Any]] = {}  # span id -> the attributes it was written with


def _attributes(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Listing rows carry preview attributes only: the attributes each span was written with."""
    return [SENT[r["span_id"]] for r in rows]


def _search(world: World, query: str, **kw: Any) -> list[dict[str, Any]]:
    kw.setdefault("service", "svc")
    return _attributes(world.all_pages(search=compile_search(parse(query)), **kw))


def _spans(first: int, count: int, attributes: Any) -> list[dict[str, Any]]:
    rows = []
    for i in range(count):
        values = attributes(first + i)
        rows.append(span(new_trace_id(), start_ns=BASE_NS + (first + i) * SEC, attributes=values))
        SENT[rows[-1]["span_id"]] = values
    return rows


def test_indexed_attribute_search_opens_only_the_files_holding_the_value(tmp_path: Path) -> None:
    world = World(tmp_path)
    holding = world.cold(_spans(0, 5, lambda i: {"user.id": "alice" if i == 2 else "bob", "n": i}))
    other = world.cold(_spans(10, 5, lambda i: {"user.id": "carol", "n": i}))
    # The file without alice becomes unreadable: a search that opened it would report it skipped.
    other.write_bytes(b"PAR1 not parquet at all PAR1")
    answer = world.page(service="svc", search=compile_search(parse("user.id = alice")))
    assert [a["n"] for a in _attributes(answer.data)] == [2]
    assert answer.skipped == []
    # So does an equality on any attribute (the files' attribute filters rule the other out) ...
    answer = world.page(service="svc", search=compile_search(parse("n = 2")))
    assert [a["n"] for a in _attributes(answer.data)] == [2]
    assert answer.skipped == []
    # ... but a range reads every file (and so meets the broken one).
    answer = world.page(service="svc", search=compile_search(parse("n < 3")))
    assert sorted(a["n"] for a in _attributes(answer.data)) == [0, 1, 2]
    assert [s.path for s in answer.skipped] == [str(other)]
    assert holding.exists()


def test_numbers_and_strings_share_an_index_key(tmp_path: Path) -> None:
    world = World(tmp_path)
    world.cold(_spans(0, 3, lambda i: {"user.id": [42, "42", 42.5][i]}))
    found = [r["user.id"] for r in _search(world, "user.id = 42")]
    assert sorted(found, key=repr) == ["42", 42]
    assert [r["user.id"] for r in _search(world, 'user.id = "42"')] == ["42"]
    assert [r["user.id"] for r in _search(world, "user.id = 42.5")] == [42.5]


def test_a_key_with_too_many_or_too_long_values_keeps_its_file_searchable(tmp_path: Path) -> None:
    many = MAX_VALUES_PER_FILE + 1
    rows = _spans(0, many, lambda i: {"session.id": f"s{i}"})
    rows += _spans(many, 1, lambda i: {"user.id": "u" * (MAX_VALUE_CHARS + 1)})
    world = World(tmp_path)
    path = world.cold(rows)
    summary = summarize(path)
    assert summary.attribute_overflow == {"session.id", "user.id"}
    assert "session.id" not in summary.attribute_values
    assert [r["session.id"] for r in _search(world, f"session.id = s{many - 1}")] == [f"s{many - 1}"]
    assert len(_search(world, f"user.id = {'u' * (MAX_VALUE_CHARS + 1)}")) == 1


def test_hot_and_unindexed_tiers_are_searched_too(tmp_path: Path) -> None:
    world = World(tmp_path)
    world.cold(_spans(0, 2, lambda i: {"user.id": "dan", "tier": "indexed"}))
    world.cold(_spans(10, 2, lambda i: {"user.id": "dan", "tier": "unindexed"}), indexed=False)
    world.hot(_spans(20, 2, lambda i: {"user.id": "dan", "tier": "hot"}))
    tiers = [r["tier"] for r in _search(world, "user.id = dan")]
    assert tiers == ["hot", "hot", "unindexed", "unindexed", "indexed", "indexed"]


def test_a_spent_time_budget_answers_a_partial_page_whose_cursor_reaches_every_match(
    tmp_path: Path,
) -> None:
    world = World(tmp_path)
    expected = []
    for f in range(20):  # more files than one search chunk reads; matches in the oldest only
        rows = _spans(f * 10, 10, lambda i: {"n": i, "hit": i < 40 and i % 3 == 0})
        world.cold(rows)
        expected += [r["span_id"] for r in rows if r["attributes"].find('"hit":true') >= 0]
    search = compile_search(parse("hit != false"))  # an equality would let the filters skip files
    found, cursor, partial_pages = [], None, 0
    for _ in range(100):
        answer = world.page(service="svc", search=search, budget_secs=0.0, limit=5, cursor=cursor)
        partial_pages += answer.partial
        found += [r["span_id"] for r in answer.data]
        if answer.next_cursor is None:
            break
        cursor = decode_cursor(answer.next_cursor)
    assert partial_pages > 0
    assert len(found) == len(set(found)) and set(found) == set(expected)
    starts = [r["start_time"] for r in world.all_pages(service="svc", search=search)]
    assert starts == sorted(starts, reverse=True) and len(starts) == len(expected)


@pytest.mark.parametrize(
    "query",
    [
        "name = \"x' OR '1'='1\"",
        '"\'; DROP TABLE t; --"',
        'user.id = "1\\" OR 1=1 --"',
        '"%"',
        '"_"',
    ],
)
def test_injection_attempts_are_plain_values(tmp_path: Path, query: str) -> None:
    world = World(tmp_path)
    world.cold(_spans(0, 3, lambda i: {"user.id": "u", "note": "plain"}))
    assert _search(world, query) == []


def test_a_key_found_twice_in_a_span_has_both_values_recorded(tmp_path: Path) -> None:
    # Keys are sorted: the map value's user.id comes before the span's own.
    world = World(tmp_path)
    path = world.cold(_spans(0, 1, lambda i: {"m": {"user.id": "nested"}, "user.id": "top"}))
    assert summarize(path).attribute_values["user.id"] == {"nested", "top"}
    assert [r["user.id"] for r in _search(world, "user.id = top")] == ["top"]
    assert [r["user.id"] for r in _search(world, "user.id = nested")] == ["top"]  # at any level


def test_the_llm_filter_still_applies_to_a_search(tmp_path: Path) -> None:
    world = World(tmp_path)
    rows, llm_roots = [], []
    for i in range(6):
        trace_id = new_trace_id()
        root = span(trace_id, start_ns=BASE_NS + i * SEC, attributes={"vip": i % 2 == 0})
        SENT[root["span_id"]] = {"vip": i % 2 == 0}
        rows.append(root)
        if i < 3:  # the first three traces hold an LLM call
            rows.append(
                span(
                    trace_id,
                    parent=root["span_id"],
                    start_ns=BASE_NS + i * SEC + 1,
                    attributes={"gen_ai.operation.name": "chat"},
                )
            )
            llm_roots.append(root)
    world.cold(rows[:5])
    world.hot(rows[5:])
    found = world.all_pages(
        service="svc", kind="roots", has_llm=True, search=compile_search(parse("vip = true"))
    )
    expected = [r["span_id"] for r in reversed(llm_roots) if SENT[r["span_id"]]["vip"]]
    assert [r["span_id"] for r in found] == expected and expected


def _traces(count: int, child_attributes: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """`count` traces (newest last): their roots, and one child each written with `child_attributes(i)`."""
    roots, children = [], []
    for i in range(count):
        trace_id = new_trace_id()
        roots.append(span(trace_id, start_ns=BASE_NS + i * SEC, attributes={"root": i}))
        SENT[roots[-1]["span_id"]] = {"root": i}
        children.append(
            span(
                trace_id,
                parent=roots[-1]["span_id"],
                start_ns=BASE_NS + i * SEC + 1,
                attributes=child_attributes(i),
            )
        )
    return roots, children


def test_trace_search_reaches_children_in_other_files_and_tiers_through_partial_pages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(planner, "TRACE_SEARCH_BATCH", 3)  # many batches of the trace-id set
    world = World(tmp_path)
    roots, children = _traces(60, lambda i: {"hit": i % 7 == 0 or i > 56})
    world.cold(roots[:50])
    world.cold(children[:20])  # a trace's root and child in different files
    world.cold(children[20:40], indexed=False)
    world.hot(roots[50:] + children[40:])
    hits = [r for r, c in zip(roots, children, strict=True) if '"hit":true' in c["attributes"]]
    expected = [r["span_id"] for r in reversed(hits)]
    search = compile_search(parse("hit != false"))  # an equality would let the filters skip files
    assert [r["span_id"] for r in world.all_pages(service="svc", kind="roots", search=search)] == expected
    # A name filter is not in the index's keys: the roots are then read from the files.
    named = world.all_pages(service="svc", kind="roots", search=search, name_contains="op", limit=4)
    assert [r["span_id"] for r in named] == expected
    found, cursor, partial_pages = [], None, 0
    for _ in range(100):  # no time at all: every page checks one batch of roots and goes on
        answer = world.page(
            service="svc", kind="roots", search=search, budget_secs=0.0, limit=2, cursor=cursor
        )
        partial_pages += answer.partial
        found += [r["span_id"] for r in answer.data]
        if answer.next_cursor is None:
            break
        cursor = decode_cursor(answer.next_cursor)
    assert partial_pages > 0 and found == expected


@pytest.mark.parametrize("query", ["hit = true", "user.id = alice AND hit = true"])
def test_trace_search_of_values_in_few_files_reads_their_traces_and_pages_through_every_root(
    tmp_path: Path, query: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def walk(*_: Any) -> None:
        raise AssertionError("walked every root although the filters leave one file to read")

    monkeypatch.setattr(planner, "_root_keys", walk)
    world = World(tmp_path)
    roots, children = _traces(60, lambda i: {"hit": i % 7 == 0 or i > 56, "user.id": "alice"})
    for f in range(5):  # roots in five files
        world.cold(roots[f * 10 : f * 10 + 10])
    world.cold(children[:20])  # a trace's root and child in different files
    world.cold(children[20:40], indexed=False)
    world.hot(roots[50:] + children[40:])
    hits = [r for r, c in zip(roots, children, strict=True) if '"hit":true' in c["attributes"]]
    expected = [r["span_id"] for r in reversed(hits)]
    search = compile_search(parse(query))
    assert [
        r["span_id"] for r in world.all_pages(service="svc", kind="roots", search=search, limit=2)
    ] == expected
    errors = world.all_pages(service="svc", kind="roots", search=search, errors_only=True)
    assert errors == []


def test_trace_search_opens_only_the_files_holding_an_indexed_value(tmp_path: Path) -> None:
    world = World(tmp_path)
    roots, children = _traces(10, lambda i: {"user.id": "alice" if i == 4 else "bob"})
    world.cold(roots)
    world.cold(children[4:5])
    other = world.cold(children[:4] + children[5:])
    other.write_bytes(b"PAR1 not parquet at all PAR1")  # opening it would report it skipped
    answer = world.page(service="svc", kind="roots", search=compile_search(parse("user.id = alice")))
    assert [r["span_id"] for r in answer.data] == [roots[4]["span_id"]]
    assert answer.skipped == []


def test_trace_search_lists_each_root_once_across_tier_copies(tmp_path: Path) -> None:
    # Two traces whose roots share a span id and start time (telemetry picks both); one root is in
    # an indexed file and again in the hot tier (a flush being indexed), the other unindexed.
    world = World(tmp_path)
    rows = []
    for trace_id in (new_trace_id(), new_trace_id()):
        root = span(trace_id, start_ns=BASE_NS, span_id="ab" * 8, attributes={"root": 1})
        SENT[root["span_id"]] = {"root": 1}
        child = span(trace_id, parent=root["span_id"], start_ns=BASE_NS + 1, attributes={"hit": True})
        rows.append((root, child))
    (first, first_child), (second, second_child) = rows
    world.cold([first, first_child])
    world.hot([first, second])
    world.cold([second, second_child], indexed=False)
    found = world.all_pages(service="svc", kind="roots", search=compile_search(parse("hit = true")))
    assert sorted(r["trace_id"] for r in found) == sorted([first["trace_id"], second["trace_id"]])
