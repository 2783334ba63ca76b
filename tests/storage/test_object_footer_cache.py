"""Queries over object storage keep the objects' Parquet footers between queries: counted as the
requests a proxy in front of the S3 server saw, never by timing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pytest

from backend.index.cold import ObjectColdFiles
from backend.index.indexer import Indexer
from backend.index.store import MetadataIndex
from backend.spans import engine, planner
from backend.spans.ingestion_client import HotTiers
from backend.spans.planner import ListQuery
from ingestion.cold_store_s3 import ObjectColdStore
from tests.storage.test_span_store_conformance import SERVICE, Backend, _write_and_flush, trace_id
from tests.support.s3 import MotoServer
from tests.support.s3_requests import RecordingS3Proxy, S3Request


@dataclass
class Bucket:
    proxy: RecordingS3Proxy
    files: ObjectColdFiles
    index: MetadataIndex
    sizes: dict[str, int]  # object key -> size

    def footer_reads(self, requests: list[S3Request]) -> int:
        return sum(r.reads_footer_of(key, size) for r in requests for key, size in self.sizes.items())


def _bucket(root: Path, server: MotoServer) -> Bucket:
    proxy = RecordingS3Proxy(server.port)
    config = server.config(server.create_bucket(), "spans", proxy.endpoint)
    files = ObjectColdFiles(config)
    backend = Backend("s3", root, lambda: ObjectColdStore(root / "parquet", config), files)
    for first in (0, 2000):  # two objects
        asyncio.run(_write_and_flush(backend.store(), range(first, first + 2000, 100)))
    index = MetadataIndex(root / "metadata.db")
    Indexer(index, files, poll_interval=60).run_pass()
    sizes = {config.key(config.relative(f.location) or ""): f.size_bytes for f in files.scan()}
    assert len(sizes) == 2 and len(index.indexed_paths()) == 2
    return Bucket(proxy, files, index, sizes)


@pytest.fixture
def bucket(tmp_path: Path, moto_server: MotoServer) -> Iterator[Bucket]:
    made = _bucket(tmp_path, moto_server)
    try:
        yield made
    finally:
        engine.use_object_store(None)
        made.index.close()
        made.proxy.close()


def _queries(bucket: Bucket) -> list[object]:
    """A trace (its keys, then its spans whole), a page of a service's spans and one span."""
    trace = planner.trace_page(bucket.index, HotTiers(), trace_id(2345))
    page = planner.list_spans(bucket.index, HotTiers(), ListQuery(SERVICE))
    one = planner.one_span(bucket.index, HotTiers(), trace_id(15), (15).to_bytes(8, "big").hex())
    assert len(trace.data) == 10 and len(page.data) > 0 and one.data is not None
    assert not trace.skipped and not page.skipped
    return [sorted(s["span_id"] for s in trace.data), [s["span_id"] for s in page.data], one.data]


def test_a_second_identical_query_reads_no_footer(bucket: Bucket) -> None:
    engine.use_object_store(bucket.files)
    bucket.proxy.take()
    first = _queries(bucket)
    first_requests = bucket.proxy.take()
    assert bucket.footer_reads(first_requests) > 0  # the counter sees footer reads

    again = _queries(bucket)
    requests = bucket.proxy.take()
    assert again == first
    assert bucket.footer_reads(requests) == 0, [r for r in requests if r.method == "GET"]
    # still no listing kept: each query asks for the objects it reads
    assert any(r.method == "HEAD" for r in requests)
    assert len(requests) < len(first_requests)


def test_a_warm_statement_asks_once_per_object_then_reads_pages(bucket: Bucket) -> None:
    """Its registration asks nothing (schema known), its scan one HEAD (no listing is kept), then
    the bloom filter and pages: GETs of anything but the footer."""
    engine.use_object_store(bucket.files)
    (source, _) = _cold_sources(bucket)
    for _ in range(2):
        found = engine.query_spans([source], "trace_id = $t", {"t": trace_id(15)}, limit=100)
        requests = bucket.proxy.take()
    assert len(found.rows) == 10
    assert [r.method for r in requests].count("HEAD") == 1
    assert bucket.footer_reads(requests) == 0 and all(r.method in ("HEAD", "GET") for r in requests)


def test_the_footer_cache_is_bounded_by_bytes(bucket: Bucket, monkeypatch: pytest.MonkeyPatch) -> None:
    """With room for no footer, every query reads them again (the bound is the runtime's)."""
    monkeypatch.setattr(engine, "OBJECT_FOOTER_CACHE_BYTES", 1024)
    engine.use_object_store(bucket.files)
    _queries(bucket)
    bucket.proxy.take()
    _queries(bucket)
    assert bucket.footer_reads(bucket.proxy.take()) > 0


def test_a_deleted_object_is_not_read_from_a_stale_listing(bucket: Bucket) -> None:
    """The shared session keeps footers and schemas, not listings: an object deleted between two
    queries is gone for the second, which answers from the rest (as for a deleted local file: its
    rows are gone, not an error)."""
    engine.use_object_store(bucket.files)
    _queries(bucket)
    doomed = planner.trace_page(bucket.index, HotTiers(), trace_id(2345))
    assert {s["span_id"] for s in doomed.data}
    location = next(iter({row["_path"] for row in engine.query_spans(_cold_sources(bucket), "1=1", {}).rows}))
    bucket.files.delete(location)
    left = engine.query_spans(_cold_sources(bucket), "1=1", {})
    assert {row["_path"] for row in left.rows} == set(bucket.index.indexed_paths()) - {location}
    assert left.skipped == []


def _cold_sources(bucket: Bucket) -> list[engine.Source]:
    return [engine.Source(path, "cold") for path in sorted(bucket.index.indexed_paths())]


def test_queries_in_the_shared_session_see_their_own_tables_and_leave_none(bucket: Bucket) -> None:
    engine.use_object_store(bucket.files)
    sources = _cold_sources(bucket)
    where = "trace_id IN (SELECT trace_id FROM batch)"
    for seq in (15, 2345):
        batch = pa.table({"trace_id": pa.array([trace_id(seq)], pa.string())})
        found = engine.query_spans(sources, where, {}, tables={"batch": batch}, limit=100)
        assert {row["trace_id"] for row in found.rows} == {trace_id(seq)} and len(found.rows) == 10
        distinct = engine.query_spans(sources, where, {}, tables={"batch": batch}, select="DISTINCT trace_id")
        assert distinct.rows == [{"trace_id": trace_id(seq)}]
    # a predicate on a JSON column, and whole rows streamed file by file, in batches sized per file
    decoded = engine.query_spans(sources, "attributes LIKE '%' AND trace_id = $t", {"t": trace_id(15)})
    assert len(decoded.rows) == 10
    streamed = list(engine.stream_spans(sources, "trace_id = $t", {"t": trace_id(2345)}, []))
    assert len(streamed) == 10 and all(row["attributes"] for row in streamed)
    session = engine._object_session
    assert session is not None
    assert session.ctx.catalog().schema().names() == set()


def test_an_unreachable_bucket_is_reported_not_dropped(bucket: Bucket) -> None:
    """Unlike a deleted object, one the store cannot be asked about is skipped by name."""
    engine.use_object_store(bucket.files)
    sources = _cold_sources(bucket)
    assert len(engine.query_spans(sources, "1=1", {}).rows) == 4000
    bucket.proxy.refuse()
    started = time.monotonic()
    found = engine.query_spans(sources, "1=1", {})
    assert found.rows == [] and sorted(s.path for s in found.skipped) == [s.path for s in sources]
    skipped: list[engine.SkippedFile] = []
    assert list(engine.stream_spans(sources, "1=1", {}, skipped)) == []
    assert sorted(s.path for s in skipped) == [s.path for s in sources]
    print(f"answered without the bucket in {time.monotonic() - started:.1f} s")


def test_concurrent_queries_share_the_session_without_seeing_each_other(bucket: Bucket) -> None:
    """Threads query the shared session at once (their tables under names of their own, batch
    sizes set while planning): every answer is its own."""
    engine.use_object_store(bucket.files)
    sources = _cold_sources(bucket)
    where = "trace_id IN (SELECT trace_id FROM batch)"

    def one(seq: int) -> set[str]:
        batch = pa.table({"trace_id": pa.array([trace_id(seq)], pa.string())})
        rows = engine.query_spans(sources, where, {}, tables={"batch": batch}).rows
        streamed = engine.stream_spans(sources, "trace_id = $t", {"t": trace_id(seq)}, [])
        assert {r["span_id"] for r in streamed} == {r["span_id"] for r in rows}
        return {r["trace_id"] for r in rows} | {str(len(rows))}

    seqs = list(range(5, 4000, 97))
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(one, seqs))
    assert answers == [{trace_id(seq), "10"} for seq in seqs]
    session = engine._object_session
    assert session is not None and session.ctx.catalog().schema().names() == set()
