"""Query planning and DataFusion execution over real cold files, a hot snapshot and bad files."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from backend.index.cold import LocalColdFiles
from backend.index.indexer import Indexer
from backend.index.store import MetadataIndex
from backend.spans import engine, planner
from backend.spans.engine import OpenFiles, Source
from backend.spans.ingestion_client import HotTiers, SnapshotFile
from backend.spans.planner import InvalidCursor, ListQuery, SnapshotChanged, decode_cursor, encode_cursor
from tests.query.spanfiles import BASE_NS, cold_path, new_trace_id, span, write_span_file

SEC = 10**9


class World:
    """A data directory: cold files (indexed or not), a hot snapshot, and the index."""

    def __init__(self, tmp_path: Path) -> None:
        self.root = tmp_path / "parquet"
        self.index = MetadataIndex(tmp_path / "metadata.db")
        self.hot_path = tmp_path / "hot_snapshot.parquet"
        self.tiers = HotTiers()
        self.n = 0

    def cold(self, rows: list[dict[str, Any]], indexed: bool = True) -> Path:
        self.n += 1
        path = write_span_file(cold_path(self.root, f"f{self.n:03d}"), rows)
        if indexed:
            Indexer(self.index, LocalColdFiles(self.root), poll_interval=60).run_pass()
        else:
            self.tiers.recent_cold_paths.append(str(path))
        return path

    def hot(self, rows: list[dict[str, Any]]) -> None:
        write_span_file(self.hot_path, rows)
        self.tiers.snapshots = [SnapshotFile(str(self.hot_path), self.hot_path.stat().st_size)]

    def page(self, **kw: Any) -> planner.Answer:
        return planner.list_spans(self.index, self.tiers, ListQuery(**kw))

    def all_pages(self, **kw: Any) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        cursor = None
        for _ in range(1000):
            answer = self.page(cursor=cursor, **kw)
            rows.extend(answer.data)
            if answer.next_cursor is None:
                return rows
            cursor = decode_cursor(answer.next_cursor)
        raise AssertionError("pagination did not end")


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path)


def _roots(n: int, start: int, service: str = "svc", **kw: Any) -> list[dict[str, Any]]:
    return [span(new_trace_id(), service=service, start_ns=start + i * SEC, **kw) for i in range(n)]


def test_listing_is_complete_newest_first_across_files_and_tiers(world: World) -> None:
    spans_by_tier = []
    for f in range(25):  # more than the reference's 20-file window
        rows = _roots(4, BASE_NS + f * 10 * SEC)
        spans_by_tier.extend(rows)
        world.cold(rows)
    unindexed = _roots(3, BASE_NS + 400 * SEC)
    world.cold(unindexed, indexed=False)
    hot = _roots(3, BASE_NS + 500 * SEC)
    world.hot(hot)
    expected = spans_by_tier + unindexed + hot

    first = world.page(service="svc", kind="roots", limit=5)
    newest = sorted(expected, key=lambda s: (s["start_time"], s["span_id"]), reverse=True)
    assert [s["span_id"] for s in first.data] == [s["span_id"] for s in newest[:5]]
    assert first.total == 106 and first.total_exact is True  # unindexed tiers counted too

    rows = world.all_pages(service="svc", kind="roots", limit=7)
    ids = [r["span_id"] for r in rows]
    assert len(ids) == len(set(ids)) == len(expected)
    assert set(ids) == {s["span_id"] for s in expected}
    assert ids == [s["span_id"] for s in newest]


def test_totals_count_each_span_once_while_a_flush_is_indexed(world: World) -> None:
    """A flushed span stays in the hot tier (and in a recent unindexed file) until the snapshot
    is refreshed: the total counts it once, for every kind and filter the index counts exactly."""
    workflow = {"junjo.span_type": "workflow"}
    flushed = [
        *_roots(3, BASE_NS),
        *_roots(2, BASE_NS + 10 * SEC, status=2),
        *_roots(2, BASE_NS + 20 * SEC, attributes=workflow),
    ]
    children = [span(r["trace_id"], start_ns=r["start_time"] + 1, parent=r["span_id"]) for r in flushed[:2]]
    world.cold([*flushed, *children])  # indexed
    unindexed = [*_roots(2, BASE_NS + 30 * SEC), *_roots(1, BASE_NS + 40 * SEC, attributes=workflow)]
    world.cold(unindexed, indexed=False)
    unflushed = [*_roots(4, BASE_NS + 50 * SEC), *_roots(1, BASE_NS + 60 * SEC, status=2)]
    unflushed_child = span(
        unflushed[0]["trace_id"], start_ns=BASE_NS + 51 * SEC, parent=unflushed[0]["span_id"]
    )
    # the hot tier still holds what was flushed since its last refresh, in both files
    world.hot([*flushed, *children, *unindexed, *unflushed, unflushed_child])
    every = [*flushed, *children, *unindexed, *unflushed, unflushed_child]

    def expected(kind: str, errors_only: bool) -> int:
        rows = [s for s in every if kind != "roots" or s["parent_span_id"] is None]
        if kind == "workflows":
            rows = [s for s in rows if "workflow" in s["attributes"]]
        return len([s for s in rows if not errors_only or s["status_code"] == 2])

    for kind in ("spans", "roots", "workflows"):
        for errors_only in (False, True):
            answer = world.page(service="svc", kind=kind, errors_only=errors_only, limit=3)
            assert (answer.total, answer.total_exact) == (expected(kind, errors_only), True), (
                kind,
                errors_only,
            )
            listed = world.all_pages(service="svc", kind=kind, errors_only=errors_only, limit=3)
            assert len(listed) == answer.total  # the total is what paging through finds
    # another service's spans are not counted
    world.hot([*every, *_roots(3, BASE_NS + 70 * SEC, service="other")])
    assert world.page(service="svc", kind="spans").total == len(every)
    assert world.page(service="other", kind="spans").total == 3


def test_totals_in_a_time_range_are_exact_for_roots_and_workflows(world: World) -> None:
    workflow = {"junjo.span_type": "workflow"}
    roots = [*_roots(6, BASE_NS), *_roots(4, BASE_NS + 100 * SEC, attributes=workflow, status=2)]
    world.cold([*roots, span(roots[0]["trace_id"], start_ns=BASE_NS + 3 * SEC, parent=roots[0]["span_id"])])
    world.hot([*roots[-2:], *_roots(2, BASE_NS + 200 * SEC)])  # two flushed ones still hot
    window = {"start_ns": BASE_NS + 3 * SEC, "end_ns": BASE_NS + 250 * SEC}
    expected = 3 + 4 + 2  # roots 3..5 of the first file, the 4 workflows, the 2 unflushed
    for kind, errors_only, count in (("roots", False, expected), ("workflows", False, 4), ("roots", True, 4)):
        answer = world.page(service="svc", kind=kind, errors_only=errors_only, limit=2, **window)
        assert (answer.total, answer.total_exact) == (count, True), kind
        assert (
            len(world.all_pages(service="svc", kind=kind, errors_only=errors_only, limit=2, **window))
            == count
        )
    # spans: a file's counts cover all its rows, so a range over part of a file is approximate
    assert world.page(service="svc", kind="spans", **window).total_exact is False


def test_totals_are_approximate_when_a_tier_cannot_be_read(world: World) -> None:
    world.cold(_roots(3, BASE_NS))
    world.hot(_roots(2, BASE_NS + 10 * SEC))
    assert (world.page(service="svc", kind="roots").total, world.page(service="svc").total_exact) == (5, True)
    world.tiers.degraded = "partial-results; ingest-a:50052=ingestion-unavailable"
    assert world.page(service="svc", kind="roots").total_exact is False
    world.tiers.degraded = None
    world.hot_path.write_bytes(b"not parquet")
    world.tiers.snapshots[0].size = world.hot_path.stat().st_size
    answer = world.page(service="svc", kind="roots")
    assert answer.skipped and answer.total_exact is False


def test_cold_wins_over_hot_for_the_same_span(world: World) -> None:
    trace = new_trace_id()
    flushed = span(trace, name="cold-version", start_ns=BASE_NS, span_id="c" * 16)
    world.cold([flushed], indexed=False)
    world.hot([{**flushed, "name": "hot-version"}, span(trace, start_ns=BASE_NS + 1, parent="c" * 16)])
    listed = world.page(service="svc", kind="spans", limit=10).data
    assert [r["name"] for r in listed if r["span_id"] == "c" * 16] == ["cold-version"]
    assert len(listed) == 2
    traced = planner.trace_page(world.index, world.tiers, trace).data
    assert [r["name"] for r in traced] == ["cold-version", "op"]


def test_filters_errors_name_time_workflows_llm(world: World) -> None:
    t = [new_trace_id() for _ in range(5)]
    world.cold(
        [
            span(t[0], name="ok 100%_done", start_ns=BASE_NS),
            span(t[1], name="bad", start_ns=BASE_NS + SEC, status=2),
            span(t[2], name="wf", start_ns=BASE_NS + 2 * SEC, attributes={"junjo.span_type": "workflow"}),
            span(t[3], name="llm-root", start_ns=BASE_NS + 3 * SEC),
            span(
                t[3],
                name="llm",
                start_ns=BASE_NS + 4 * SEC,
                parent="a" * 16,
                attributes={"openinference.span.kind": "LLM"},
            ),
            span(
                t[4],
                name='text mentions "junjo.span_type":"workflow"',
                start_ns=BASE_NS + 5 * SEC,
                attributes={"note": '"junjo.span_type":"workflow"'},
            ),
        ]
    )
    hot_llm = new_trace_id()
    world.hot(
        [
            span(hot_llm, name="hot-root", start_ns=BASE_NS + 9 * SEC),
            span(
                hot_llm,
                name="g",
                start_ns=BASE_NS + 10 * SEC,
                parent="b" * 16,
                attributes={"gen_ai.operation.name": "chat"},
            ),
        ]
    )

    def names(**kw: Any) -> list[str]:
        return [r["name"] for r in world.page(service="svc", limit=50, **kw).data]

    assert names(kind="spans", errors_only=True) == ["bad"]
    assert names(kind="spans", name_contains="100%_") == ["ok 100%_done"]
    assert names(kind="spans", name_contains="%") == ["ok 100%_done"]
    assert names(kind="spans", name_contains="' OR 1=1 --") == []
    assert names(kind="spans", name_contains="BAD") == ["bad"]  # case-insensitive
    assert names(kind="spans", start_ns=BASE_NS + SEC, end_ns=BASE_NS + 2 * SEC) == ["wf", "bad"]
    assert names(kind="workflows") == ["wf"]  # the escaped text in a value is not a workflow span
    assert names(kind="roots", has_llm=True) == ["hot-root", "llm-root"]
    assert names(kind="roots")[:1] + names(kind="roots")[2:] == [
        "hot-root",
        "llm-root",
        "wf",
        "bad",
        "ok 100%_done",
    ]
    assert world.page(service="other", kind="spans").data == []


def test_services_union_index_and_hot(world: World) -> None:
    world.cold(_roots(1, BASE_NS, service="a"))
    world.cold(_roots(1, BASE_NS, service="b"), indexed=False)
    world.hot(_roots(1, BASE_NS, service="c"))
    assert planner.services(world.index, world.tiers).data == ["a", "b", "c"]


def test_trace_across_files_and_missing_trace(world: World) -> None:
    trace = new_trace_id()
    world.cold([span(trace, start_ns=BASE_NS, span_id="1" * 16)])
    world.cold([span(trace, start_ns=BASE_NS + 1, span_id="2" * 16, parent="1" * 16)])
    world.cold(_roots(3, BASE_NS))
    rows = planner.trace_page(world.index, world.tiers, trace).data
    assert [r["span_id"] for r in rows] == ["1" * 16, "2" * 16]  # oldest first
    assert planner.trace_page(world.index, world.tiers, new_trace_id()).data == []


def test_corrupt_empty_and_deleted_files_are_skipped_and_reported(world: World, tmp_path: Path) -> None:
    trace = new_trace_id()
    good = world.cold([span(trace, start_ns=BASE_NS)])
    indexed_then_corrupted = world.cold([span(trace, start_ns=BASE_NS + 1, parent="f" * 16)])
    indexed_then_corrupted.write_bytes(b"garbage")
    empty = tmp_path / "empty.parquet"
    empty.touch()
    world.tiers.recent_cold_paths += [str(empty), str(tmp_path / "deleted-by-retention.parquet")]
    answer = planner.trace_page(world.index, world.tiers, trace)
    assert len(answer.data) == 1
    assert {s.path for s in answer.skipped} == {str(indexed_then_corrupted), str(empty)}
    listed = world.page(service="svc", kind="spans")
    assert len(listed.data) == 1 and listed.skipped
    assert good.exists()


def test_a_file_unlinked_mid_query_still_answers(world: World) -> None:
    trace = new_trace_id()
    path = world.cold([span(trace)])
    with OpenFiles([Source(str(path), "cold")]) as files:
        os.unlink(path)  # retention deletes while the query holds the descriptor
        result = engine.QueryResult()
        rows = engine._run(files.opened, "trace_id = $t", {"t": trace}, None, None, None, False, result)
    assert [r["trace_id"] for r in rows] == [trace]


def test_replaced_snapshot_asks_again(world: World) -> None:
    world.hot(_roots(1, BASE_NS))
    world.tiers.snapshots[0].size += 1
    with pytest.raises(SnapshotChanged):
        planner.services(world.index, world.tiers)
    world.tiers.snapshots[0].size = -1  # last attempt: accept what is there
    assert planner.services(world.index, world.tiers).data == ["svc"]


def test_cursor_round_trip_and_rejection() -> None:
    assert decode_cursor(encode_cursor(123, "ab" * 8)) == (123, "ab" * 8)
    for bad in ["", "!!!", encode_cursor(-1, "x"), "WzEsMl0", "eyJhIjoxfQ"]:
        with pytest.raises(InvalidCursor):
            decode_cursor(bad)


def test_deleted_snapshot_asks_again_then_reads_without_it(world: World) -> None:
    world.cold(_roots(1, BASE_NS, service="cold-only"))
    world.hot(_roots(1, BASE_NS, service="hot-only"))
    world.hot_path.unlink()  # ingestion emptied its WAL (flushed) after answering
    with pytest.raises(SnapshotChanged):
        planner.trace_page(world.index, world.tiers, new_trace_id())
    world.tiers.snapshots[0].size = -1
    assert planner.services(world.index, world.tiers).data == ["cold-only"]


def test_llm_roots_across_tiers_match_the_file_walk(world: World) -> None:
    """has_llm: a trace counts when its LLM span is in any tier, wherever its root is; the keyed
    listing (index keys, then the winners' rows) and the file walk (used with a name filter) agree."""
    llm = {"gen_ai.provider.name": "openai"}
    cold_root_hot_llm, hot_root_cold_llm, same_file, plain = (new_trace_id() for _ in range(4))
    world.cold(
        [
            span(cold_root_hot_llm, name="root-a", start_ns=BASE_NS, span_id="a" * 16),
            span(same_file, name="root-d", start_ns=BASE_NS + 3 * SEC, span_id="d" * 16),
            span(same_file, name="llm-d", start_ns=BASE_NS + 4 * SEC, parent="d" * 16, attributes=llm),
            span(plain, name="root-c", start_ns=BASE_NS + 5 * SEC),
        ]
    )
    world.cold(
        [span(hot_root_cold_llm, name="llm-b", start_ns=BASE_NS + 2 * SEC, parent="b" * 16, attributes=llm)]
    )
    world.hot(
        [
            span(hot_root_cold_llm, name="root-b", start_ns=BASE_NS + SEC, span_id="b" * 16),
            span(cold_root_hot_llm, name="llm-a", start_ns=BASE_NS + SEC, parent="a" * 16, attributes=llm),
        ]
    )
    keyed = world.page(service="svc", kind="roots", has_llm=True, limit=10)
    walked = world.page(service="svc", kind="roots", has_llm=True, limit=10, name_contains="root")
    assert [r["name"] for r in keyed.data] == ["root-d", "root-b", "root-a"]
    assert keyed.data == walked.data
    assert [r["name"] for r in world.all_pages(service="svc", kind="roots", has_llm=True, limit=2)] == [
        "root-d",
        "root-b",
        "root-a",
    ]


def test_keyed_pages_match_the_file_walk_with_ties_errors_and_time_ranges(world: World) -> None:
    rows = []
    for f in range(6):
        batch = [
            span(
                new_trace_id(),
                name=f"root {f}-{i}",
                start_ns=BASE_NS + (f * 3 + i // 2) * SEC,
                status=2 * (i % 3 == 0),
            )
            for i in range(5)
        ]
        rows += batch
        world.cold(batch)
    world.hot([span(new_trace_id(), name="root hot", start_ns=BASE_NS + 7 * SEC, status=2)])
    for kw in (
        {},
        {"errors_only": True},
        {"start_ns": BASE_NS + 4 * SEC, "end_ns": BASE_NS + 11 * SEC},
    ):
        keyed = world.all_pages(service="svc", kind="roots", limit=4, **kw)
        walked = world.all_pages(service="svc", kind="roots", limit=4, name_contains="root", **kw)
        assert keyed == walked and keyed
        starts = [(r["start_time"], r["span_id"]) for r in keyed]
        assert starts == sorted(starts, reverse=True) and len(set(starts)) == len(starts)


def test_streamed_hot_tier_answers_like_the_snapshot_file(world: World) -> None:
    """The hot tier received over gRPC (an in-memory table) is queried exactly like the snapshot
    file: listings, trace pages, one span, services, and a cold row still wins over it."""
    trace = new_trace_id()
    flushed = span(trace, name="cold-version", start_ns=BASE_NS, span_id="c" * 16)
    world.cold([flushed], indexed=False)
    world.cold(_roots(3, BASE_NS - 100 * SEC))
    hot = [{**flushed, "name": "hot-version"}, span(trace, start_ns=BASE_NS + 1, parent="c" * 16)]
    hot += _roots(4, BASE_NS + 10 * SEC, service="other")
    world.hot(hot)
    streamed = HotTiers(
        tables={"hot:ingester-a": pq.read_table(world.hot_path)},
        recent_cold_paths=world.tiers.recent_cold_paths,
    )

    def answers(tiers: HotTiers) -> list[object]:
        return [
            planner.list_spans(world.index, tiers, ListQuery(service="svc", limit=10)).data,
            planner.list_spans(world.index, tiers, ListQuery(service="other", kind="roots", limit=2)).data,
            planner.trace_page(world.index, tiers, trace).data,
            planner.one_span(world.index, tiers, trace, "c" * 16).data,
            planner.services(world.index, tiers).data,
        ]

    from_file, from_stream = answers(world.tiers), answers(streamed)
    assert from_stream == from_file
    assert [r["name"] for r in from_stream[2] if r["span_id"] == "c" * 16] == ["cold-version"]
    assert len(from_stream[2]) == 2 and len(from_stream[1]) == 2
    assert from_stream[4] == ["other", "svc"]
