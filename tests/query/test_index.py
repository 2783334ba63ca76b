"""The file index (metadata.db, or PostgreSQL), the indexer and retention over real Parquet files
on disk. Tests taking `index_url` run on both engines; those reading the SQLite file itself
(pragmas, query plans, migrations from older versions) on SQLite."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from backend.index import indexer as indexer_module
from backend.index import store as store_module
from backend.index import summary as summary_module
from backend.index.cold import LocalColdFiles
from backend.index.indexer import LEASE_NAME, Indexer
from backend.index.retention import RetentionPolicy, apply_retention, select_expired
from backend.index.schema import SCHEMA_VERSION
from backend.index.store import AgentQuery, MetadataIndex
from backend.index.summary import FileSummary, KeySpan, summarize
from backend.spans import planner
from backend.spans.ingestion_client import HotTiers
from tests.query.spanfiles import BASE_NS, cold_path, new_trace_id, span, write_span_file
from tests.support.old_index import index_at_schema, index_with_one_file
from tests.support.postgres import PostgresServer


def _index(tmp_path: Path, url: str | None = None) -> MetadataIndex:
    return MetadataIndex(tmp_path / "sqlite" / "metadata.db", url)


def test_schema_is_versioned_and_reopens(tmp_path: Path) -> None:
    index = _index(tmp_path)
    index.close()
    again = _index(tmp_path)
    conn = sqlite3.connect(again.path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()


def test_indexer_records_services_traces_and_flags(tmp_path: Path, index_url: str | None) -> None:
    root = tmp_path / "parquet"
    wf, llm, plain = new_trace_id(), new_trace_id(), new_trace_id()
    rows = [
        span(wf, service="a", start_ns=BASE_NS, attributes={"junjo.span_type": "workflow"}, status=2),
        span(wf, service="a", start_ns=BASE_NS + 5, parent="1" * 16),
        span(llm, service="b", start_ns=BASE_NS + 10),
        span(
            llm,
            service="b",
            start_ns=BASE_NS + 20,
            parent="2" * 16,
            attributes={"gen_ai.provider.name": "xai"},
        ),
        span(plain, service="b", start_ns=BASE_NS + 30, attributes={"gen_ai.provider.name": ""}),
    ]
    path = write_span_file(cold_path(root, "f1"), rows)
    index = _index(tmp_path, index_url)
    result = Indexer(index, LocalColdFiles(root), poll_interval=60).run_pass()
    assert result.indexed == [str(path)] and result.failed == []
    assert sorted(index.services()) == ["a", "b"]
    assert index.trace_file_paths(wf) == [str(path)]
    [a_roots] = index.service_files("a", "roots", False, None, None)
    assert (a_roots.count, a_roots.min_start_ns, a_roots.max_start_ns) == (1, BASE_NS, BASE_NS + 5)
    assert index.service_files("a", "workflows", True, None, None)[0].count == 1
    assert index.service_files("b", "workflows", False, None, None) == []
    assert index.llm_trace_ids_for_service("b") == [llm]  # empty provider name does not count
    assert index.service_files("a", "spans", False, BASE_NS + 6, None) == []  # time range prunes
    # listing keys: roots and workflow spans, newest first, with the trace's LLM flag
    [wf_key] = index.newest_keys("a", "workflows", True, None, None, None)
    assert (wf_key.trace_id, wf_key.start_ns, wf_key.path, wf_key.llm) == (wf, BASE_NS, str(path), False)
    b_roots = list(index.newest_keys("b", "roots", False, None, None, None))
    assert [(k.start_ns, k.llm) for k in b_roots] == [(BASE_NS + 30, False), (BASE_NS + 10, True)]
    after = (b_roots[0].start_ns, b_roots[0].span_id)
    assert [k.trace_id for k in index.newest_keys("b", "roots", False, None, None, after)] == [llm]
    assert list(index.newest_keys("b", "roots", True, None, None, None)) == []  # no errors
    assert index.llm_trace_subset("b", [llm, plain, wf]) == {llm}
    # key counts in a time range; the files holding given traces
    assert index.count_keys("b", "roots", False, BASE_NS + 10, BASE_NS + 30) == 2
    assert index.count_keys("b", "roots", False, BASE_NS + 11, None) == 1
    assert index.count_keys("b", "roots", True, None, None) == 0
    assert index.count_keys("a", "workflows", True, None, BASE_NS) == 1
    assert index.files_with_traces([plain, new_trace_id()]) == {str(path)}
    assert index.files_with_traces([]) == set()
    # a second pass finds nothing new
    assert Indexer(index, LocalColdFiles(root), poll_interval=60).run_pass().indexed == []


def test_migration_2_summarises_v1_files_again_for_listing_keys(tmp_path: Path) -> None:
    """Files indexed by schema v1 have no listing keys: listings walk files until the indexer has
    summarised them again, then use the keys; the answers are the same."""
    root = tmp_path / "parquet"
    rows = [
        span(new_trace_id(), start_ns=BASE_NS + i, attributes={"junjo.span_type": "workflow"})
        for i in range(3)
    ]
    path = write_span_file(cold_path(root, "v1"), rows)
    summary = summarize(path)
    db = tmp_path / "sqlite" / "metadata.db"
    conn = index_at_schema(db, 1)
    conn.execute(
        "INSERT INTO parquet_files (file_path, min_start_ns, max_start_ns, max_end_ns, row_count, size_bytes)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (str(path), summary.min_start_ns, summary.max_start_ns, summary.max_end_ns, 3, summary.size_bytes),
    )
    stats = summary.services["svc"]
    conn.execute(
        "INSERT INTO file_services VALUES (1, 'svc', 3, 3, 3, 0, 0, 0, ?, ?)",
        (stats.min_start_ns, stats.max_start_ns),
    )
    conn.executemany("INSERT INTO trace_files VALUES (?, 1)", [(r["trace_id"],) for r in rows])
    conn.close()

    index = MetadataIndex(db)  # migrates to the current version
    assert not index.keys_complete() and index.paths_without_keys() == [str(path)]
    query = planner.ListQuery(service="svc", kind="workflows", limit=2)
    before = planner.list_spans(index, HotTiers(), query)  # walks the file
    newest = sorted(rows, key=lambda r: r["start_time"], reverse=True)
    assert [r["span_id"] for r in before.data] == [r["span_id"] for r in newest[:2]]
    assert newest[0]["start_time"] == BASE_NS + 2

    assert Indexer(index, LocalColdFiles(root), poll_interval=60).run_pass().indexed == [str(path)]
    assert index.keys_complete() and index.paths_without_keys() == []
    assert len(list(index.newest_keys("svc", "workflows", False, None, None, None))) == 3
    after = planner.list_spans(index, HotTiers(), query)  # reads the keys' rows only
    assert after.data == before.data and after.next_cursor == before.next_cursor
    assert index.trace_file_paths(rows[0]["trace_id"]) == [str(path)]


def test_corrupt_and_empty_files_fail_retry_with_backoff_and_recover(
    tmp_path: Path, index_url: str | None
) -> None:
    root = tmp_path / "parquet"
    bad = cold_path(root, "bad")
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"PAR1 this is not parquet")
    empty = cold_path(root, "empty")
    empty.touch()
    (root / "year=2026" / "month=11" / "day=26" / "skip.parquet.tmp").write_bytes(b"partial")
    index = _index(tmp_path, index_url)
    indexer = Indexer(index, LocalColdFiles(root), poll_interval=60, retry_backoff=3600)
    result = indexer.run_pass()
    assert sorted(result.failed) == sorted([str(bad), str(empty)])
    failed = index.failed_files()
    assert failed[str(bad)].failures == 1 and failed[str(bad)].next_retry_at > time.time() + 3000
    assert "empty" in failed[str(empty)].error
    assert indexer.run_pass().failed == []  # backoff: not retried yet

    # replaced by a valid file (new size/mtime): retried at once and indexed
    good = write_span_file(tmp_path / "good.parquet", [span(new_trace_id())])
    os.replace(good, bad)
    assert indexer.run_pass().indexed == [str(bad)]
    assert str(bad) not in index.failed_files()

    # an elapsed backoff retries too (and counts failures)
    index._conn().execute("UPDATE failed_files SET next_retry_at = 0")
    assert indexer.run_pass().failed == [str(empty)]
    assert index.failed_files()[str(empty)].failures == 2


def test_reconcile_drops_rows_of_deleted_files(tmp_path: Path, index_url: str | None) -> None:
    root = tmp_path / "parquet"
    trace = new_trace_id()
    path = write_span_file(cold_path(root, "gone"), [span(trace)])
    index = _index(tmp_path, index_url)
    indexer = Indexer(index, LocalColdFiles(root), poll_interval=60)
    indexer.run_pass()
    path.unlink()
    assert indexer.reconcile() == 1
    assert index.trace_file_paths(trace) == [] and index.services() == []


def test_retention_selection_by_age_then_size() -> None:
    day = 86_400 * 10**9
    now = 100 * day
    files = [("old", 80 * day, 10), ("mid", 95 * day, 10), ("new", 99 * day, 10)]
    assert select_expired(files, RetentionPolicy(days=10), now) == ["old"]
    assert select_expired(files, RetentionPolicy(max_bytes=15), now) == ["old", "mid"]
    assert select_expired(files, RetentionPolicy(days=10, max_bytes=10), now) == ["old", "mid"]
    assert select_expired(files, RetentionPolicy(), now) == []
    assert RetentionPolicy.from_settings(None, 1.5).max_bytes == int(1.5 * 1024**3)


def test_retention_deletes_oldest_files_and_index_rows(tmp_path: Path, index_url: str | None) -> None:
    root = tmp_path / "parquet"
    old_trace, new_trace = new_trace_id(), new_trace_id()
    now = time.time_ns()
    old = write_span_file(cold_path(root, "old"), [span(old_trace, start_ns=now - 40 * 86_400 * 10**9)])
    new = write_span_file(cold_path(root, "new"), [span(new_trace, start_ns=now)])
    index = _index(tmp_path, index_url)
    Indexer(index, LocalColdFiles(root), poll_interval=60).run_pass()
    deleted = apply_retention(index, RetentionPolicy(days=30), now, LocalColdFiles(root))
    assert deleted == [str(old)] and not old.exists() and new.exists()
    assert index.trace_file_paths(old_trace) == [] and index.trace_file_paths(new_trace) == [str(new)]
    assert [k.trace_id for k in index.newest_keys("svc", "roots", False, None, None, None)] == [new_trace]
    # the indexer applies the same policy on its passes
    retained = Indexer(index, LocalColdFiles(root), poll_interval=60, retention=RetentionPolicy(max_bytes=1))
    assert retained.run_pass().deleted == [str(new)]
    assert index.stats()["files"] == 0


USAGE = {"sum": 30, "observations": 2}


def test_migration_3_indexes_agent_runs_of_files_indexed_before(tmp_path: Path) -> None:
    """A file indexed by schema v2 has no Agent rows: migration 3 has the indexer summarise it
    again, after which its Agent run is listed and its executables resolve; hostile attribute
    types become absent values, never errors."""
    root = tmp_path / "parquet"
    trace = new_trace_id()
    agent_attrs = {
        "junjo.span_type": "agent",
        "junjo.telemetry.contract_version": 3,
        "junjo.executable_runtime_id": "run-1",
        "junjo.agent.key": "k",
        "junjo.agent.name": "Agent K",
        "junjo.agent.outcome": "completed",
        "junjo.agent.model_request.count": "3",  # text, not an int: absent
        "junjo.agent.tool_call.requested_count": True,  # a bool is not a count
        "junjo.agent.usage": json.dumps({"v": 1, "modelResponses": 2, "fields": {"totalTokens": USAGE}}),
    }
    rows = [
        span(trace, start_ns=BASE_NS, attributes=agent_attrs),
        span(
            trace,
            start_ns=BASE_NS + 1,
            parent="1" * 16,
            attributes={"junjo.agent.operation_type": "model_request"},
        ),
    ]
    path = write_span_file(cold_path(root, "v2"), rows)
    db = tmp_path / "sqlite" / "metadata.db"
    index_with_one_file(db, 2, path, BASE_NS, BASE_NS + 1, BASE_NS + 2, rows=2)

    index = MetadataIndex(db)  # migrates to 3 (every file is due again) and on
    assert index.paths_without_keys() == [str(path)]
    assert list(index.agent_executions(AgentQuery(), None)) == []
    assert Indexer(index, LocalColdFiles(root), poll_interval=60).run_pass().indexed == [str(path)]
    [run] = index.agent_executions(AgentQuery(service_name="svc"), None)
    assert (run["agent_key"], run["agent_name"], run["outcome"]) == ("k", "Agent K", "completed")
    assert run["counts"]["model_requests"] is None and run["counts"]["tool_calls"]["requested"] is None
    assert run["usage"]["fields"]["totalTokens"] == {"sum": 30, "observations": 2}
    assert index.executable_matches("", "svc", "agent", "run-1") == [(trace, rows[0]["span_id"])]
    assert index.executable_matches("other", "svc", "agent", "run-1") == []
    assert index.count_agent_executions(AgentQuery(outcome="failed")) == 0
    assert index.llm_trace_ids_for_service("svc") == [trace]  # a model request is an LLM call


def test_agent_counts_use_the_covering_index(tmp_path: Path) -> None:
    index = _index(tmp_path)
    conn = sqlite3.connect(index.path)
    for where in ("service_name = 'a' AND agent_key = 'k'", "is_error AND instr(lower(agent_name), 'x')"):
        plan = conn.execute(
            f"EXPLAIN QUERY PLAN SELECT count(*) FROM agent_executions WHERE {where}"
        ).fetchall()
        assert "COVERING INDEX idx_agent_executions_filters" in plan[-1][-1], plan
    conn.close()


def test_agent_runs_are_listed_filtered_and_counted(tmp_path: Path, index_url: str | None) -> None:
    root = tmp_path / "parquet"
    attrs = {
        "junjo.span_type": "agent",
        "junjo.telemetry.contract_version": 3,
        "junjo.agent.key": "planner",
        "junjo.agent.outcome": "failed",
    }
    traces = [new_trace_id() for _ in range(3)]
    rows = [
        span(
            t,
            start_ns=BASE_NS + i,
            attributes={
                **attrs,
                "junjo.executable_runtime_id": f"run-{i}",
                "junjo.agent.name": f"Trip Planner {i}",
            },
        )
        for i, t in enumerate(traces)
    ]
    write_span_file(cold_path(root, "agents"), rows)
    index = _index(tmp_path, index_url)
    Indexer(index, LocalColdFiles(root), poll_interval=60).run_pass()
    newest = list(index.agent_executions(AgentQuery(name="PLANNER 2"), None))
    assert [r["agent_name"] for r in newest] == ["Trip Planner 2"]
    assert index.count_agent_executions(AgentQuery(errors_only=True)) == 3
    page = list(index.agent_executions(AgentQuery(cursor=(BASE_NS + 2, rows[2]["span_id"])), 1))
    assert [r["trace_id"] for r in page] == [traces[1]]
    assert index.stats() == {"files": 1, "spans": 3, "bytes": index.stats()["bytes"], "failed_files": 0}


def test_postgres_index_schema_is_versioned_and_shared(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    url = postgres_server.create_database()
    first, second = _index(tmp_path / "a", url), _index(tmp_path / "b", url)  # two backends
    [(version,)] = first._conn().execute("SELECT version FROM index_schema_version").fetchall()
    assert version == SCHEMA_VERSION
    assert not (tmp_path / "a" / "sqlite" / "metadata.db").exists()
    root = tmp_path / "parquet"
    trace = new_trace_id()
    path = write_span_file(cold_path(root, "shared"), [span(trace)])
    Indexer(first, LocalColdFiles(root), poll_interval=60).run_pass()
    assert second.trace_file_paths(trace) == [str(path)]  # one index, seen by both
    first._conn().execute("UPDATE index_schema_version SET version = version + 1")
    with pytest.raises(RuntimeError, match="newer than this backend"):
        _index(tmp_path / "c", url)


def test_lease_has_one_holder_until_it_expires_or_is_released(tmp_path: Path, index_url: str | None) -> None:
    index = _index(tmp_path, index_url)
    assert index.take_lease("indexer", "a", 60)
    assert not index.take_lease("indexer", "b", 60)
    assert index.take_lease("indexer", "a", 60)  # renewal
    index.release_lease("indexer", "b")  # not b's to release
    assert not index.take_lease("indexer", "b", 60)
    index.release_lease("indexer", "a")
    assert index.take_lease("indexer", "b", 0.05)
    time.sleep(0.2)
    assert index.take_lease("indexer", "a", 60)  # b's lease expired


def test_backends_sharing_postgres_index_each_file_once(
    postgres_server: PostgresServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two indexers (two backends) pass over the same files at the same time, repeatedly: every
    file is indexed by exactly one of them, and its rows exist once."""
    read = indexer_module.summarize

    def summarize(path: Path | str, *source: Any) -> FileSummary:
        time.sleep(0.02)  # a real object takes a while to read: both passes overlap
        return read(path, *source)

    monkeypatch.setattr(indexer_module, "summarize", summarize)
    url = postgres_server.create_database()
    root = tmp_path / "parquet"
    traces = [new_trace_id() for _ in range(12)]
    for i, trace in enumerate(traces):
        write_span_file(cold_path(root, f"f{i:02}"), [span(trace, start_ns=BASE_NS + i)])
    indexers = [
        Indexer(_index(tmp_path / name, url), LocalColdFiles(root), poll_interval=60) for name in ("a", "b")
    ]
    indexed: dict[str, list[str]] = {"a": [], "b": []}
    start = threading.Barrier(2)

    errors: list[BaseException] = []

    def passes(name: str, indexer: Indexer) -> None:
        start.wait(timeout=30)
        try:
            for _ in range(20):
                indexed[name].extend(indexer.run_pass().indexed)
        except BaseException as exc:  # a failed pass fails the test, not just its thread
            errors.append(exc)

    threads = [threading.Thread(target=passes, args=item) for item in zip(indexed, indexers, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    every = indexed["a"] + indexed["b"]
    assert sorted(every) == sorted(set(every)) and len(every) == len(traces)
    index = indexers[0].index
    assert all(len(index.trace_file_paths(t)) == 1 for t in traces)
    assert index.stats()["files"] == len(traces)
    [(holders,)] = (
        index._conn().execute("SELECT count(*) FROM index_lease WHERE name = ?", (LEASE_NAME,)).fetchall()
    )
    assert holders == 0  # released after each pass


def test_newest_keys_read_in_batches_return_every_key_in_order(
    tmp_path: Path, index_url: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL's keys come in batches (each continuing after the last): the same keys, in the
    same order, as one pass would give, across batch boundaries and ties on the start time."""
    monkeypatch.setattr(store_module, "_KEYS_BATCH", 7)
    summary = FileSummary(path=str(tmp_path / "f.parquet"), size_bytes=1, row_count=40)
    for i in range(40):
        trace = new_trace_id()
        summary.trace_ids.add(trace)
        summary.key_spans.append(KeySpan("svc", BASE_NS + i // 3, f"{i:016x}", trace, True, False, False))
    index = _index(tmp_path, index_url)
    index.add_file(summary)
    expected = sorted(((k.start_ns, k.span_id) for k in summary.key_spans), reverse=True)
    assert [
        (k.start_ns, k.span_id) for k in index.newest_keys("svc", "roots", False, None, None, None)
    ] == expected
    after = expected[9]
    assert [
        (k.start_ns, k.span_id) for k in index.newest_keys("svc", "roots", False, None, None, after)
    ] == expected[10:]


def test_fat_resource_attributes_are_read_in_a_pass_of_their_own_with_the_same_owners(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Resource text over a row group's threshold is read apart from the attributes, for the owner
    spans only, in batches (of 2 rows here): each owner still gets its own span's service
    namespace, an Agent run its service."""
    monkeypatch.setattr(summary_module, "_BATCH_ROWS", 2)
    passes = []
    fat_pass = summary_module._add_fat_resources
    monkeypatch.setattr(summary_module, "_add_fat_resources", lambda *a: passes.append(a[2]) or fat_pass(*a))
    trace = new_trace_id()
    kinds = ["workflow", None, "agent", "subflow", None, "agent", "workflow"]
    rows = []
    for i, kind in enumerate(kinds):
        attrs = {"junjo.span_type": kind, "junjo.executable_runtime_id": f"run-{i}"} if kind else {"i": i}
        row = span(trace, start_ns=BASE_NS + i, name=f"s{i}", attributes=attrs)
        resource = {"service.name": "svc", "service.namespace": f"ns{i}", "service.version": f"v{i}"}
        row["resource_attributes"] = json.dumps(resource | {"blob": str(i) * 400_000})
        rows.append(row)
    fat = summarize(write_span_file(cold_path(tmp_path, "fat"), rows))

    assert [(e.service_namespace, e.executable_type, e.runtime_id) for e in fat.executables] == [
        (f"ns{i}", kind, f"run-{i}") for i, kind in enumerate(kinds) if kind
    ]
    assert [(r["runtime_id"], r["service"]) for r in fat.agent_runs] == [
        (f"run-{i}", {"namespace": f"ns{i}", "name": "svc", "version": f"v{i}"}) for i in (2, 5)
    ]
    assert passes == [0]
