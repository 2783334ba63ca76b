"""Conformance suite for span storage: every backend must pass all of it (the Jaeger v2 habit).

Backends: the local directory (the default) and S3-compatible object storage (a moto server on
loopback). Each test writes through ingestion's SpanStore (WAL, flush, cold store) and, for the
read side, indexes and queries through the backend's indexer, planner and retention over the same
backend's `ColdFiles`. The guarantees checked are the ones the services rely on: durable writes,
snapshots that show every unflushed span once, flushes that move spans to cold files exactly once
(also when a flush is interrupted after its file was published, or while the store is
unreachable), a close (or a crash, then reopen) that loses nothing, and cold files that the
backend lists, queries in place and deletes.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from backend.index.cold import ColdFiles, LocalColdFiles, ObjectColdFiles
from backend.index.indexer import Indexer
from backend.index.retention import RetentionPolicy
from backend.index.store import MetadataIndex
from backend.spans import engine, planner
from backend.spans.ingestion_client import HotTiers
from backend.spans.planner import ListQuery, decode_cursor
from ingestion.cold_store import ColdStore, LocalColdStore
from ingestion.cold_store_s3 import ObjectColdStore
from ingestion.convert import convert_request
from ingestion.storage import LocalSpanStore, LocalStoreConfig
from junjo_common.spanformat import CURRENT as span_format
from junjo_common.spanformat import v1
from tests.ingestion.workload import make_request
from tests.support.s3 import MotoServer
from tests.support.tcp_proxy import TcpProxy

MB = 1024 * 1024
SERVICE = "bench-service"


@dataclass
class Backend:
    """One storage backend: ingestion's side (`store()`) and the backend's side (`files`)."""

    name: str
    root: Path
    cold_store: Callable[[], ColdStore]
    files: ColdFiles

    def store(self, cold: ColdStore | None = None) -> LocalSpanStore:
        return LocalSpanStore(
            LocalStoreConfig(
                wal_dir=self.root / "wal",
                parquet_dir=self.root / "parquet",
                snapshot_path=self.root / "hot.parquet",
                segment_max_bytes=MB,
                flush_max_bytes=8 * MB,
                flush_max_age_secs=3600,
                recent_cold_max_files=20,
                recent_cold_max_age_secs=120,
                snapshot_cache_ttl_secs=0,
            ),
            cold if cold is not None else self.cold_store(),
        )

    def ids(self, locations: list[str]) -> Counter[str]:
        counts: Counter[str] = Counter()
        for location in locations:
            source = self.files.open(location) if location.startswith("s3://") else location
            counts.update(pq.read_table(source, columns=["span_id"])["span_id"].to_pylist())
        return counts

    def indexer(self, index: MetadataIndex, retention: RetentionPolicy | None = None) -> Indexer:
        return Indexer(index, self.files, poll_interval=60, retention=retention)


def local_backend(root: Path, request: pytest.FixtureRequest) -> Backend:
    return Backend("local", root, lambda: LocalColdStore(root / "parquet"), LocalColdFiles(root / "parquet"))


def s3_backend(root: Path, request: pytest.FixtureRequest) -> Backend:
    server: MotoServer = request.getfixturevalue("moto_server")
    config = server.config(server.create_bucket())
    files = ObjectColdFiles(config)
    engine.use_object_store(files)
    request.addfinalizer(lambda: engine.use_object_store(None))
    return Backend("s3", root, lambda: ObjectColdStore(root / "parquet", config), files)


BACKENDS: dict[str, Callable[[Path, pytest.FixtureRequest], Backend]] = {
    "local": local_backend,
    "s3": s3_backend,
}


@pytest.fixture(params=sorted(BACKENDS))
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    return BACKENDS[request.param](tmp_path, request)


def batches(first: int, count: int = 100) -> list[pa.RecordBatch]:
    return convert_request(make_request(first, count).SerializeToString()).batches


def expected(firsts: range, count: int = 100) -> set[str]:
    return {(f + i + 1).to_bytes(8, "big").hex() for f in firsts for i in range(count)}


def once(firsts: range, count: int = 100) -> Counter[str]:
    return Counter(dict.fromkeys(expected(firsts, count), 1))


def trace_id(seq: int) -> str:
    """The trace of span number `seq` in the workload (10 spans per trace)."""
    return (seq // 10 + 1).to_bytes(16, "big").hex()


def test_written_spans_are_in_the_snapshot_once(backend: Backend) -> None:
    async def main() -> None:
        store = backend.store()
        await store.open()
        assert (await asyncio.to_thread(store.snapshot)).row_count == 0
        for f in range(0, 3000, 100):
            await store.write(batches(f))
        snap = await asyncio.to_thread(store.snapshot)
        assert snap.row_count == 3000 and store.unflushed_bytes() > 0
        assert backend.ids([snap.path]) == once(range(0, 3000, 100))
        assert pq.read_schema(snap.path).names == list(v1.COLUMNS)
        await store.close()

    asyncio.run(main())


def test_flush_moves_everything_to_cold_files_exactly_once(backend: Backend) -> None:
    async def main() -> None:
        store = backend.store()
        await store.open()
        for f in range(0, 5000, 100):
            await store.write(batches(f))
        files = await store.flush()
        assert files and set(files) <= set(store.list_files())
        snap = await asyncio.to_thread(store.snapshot)
        assert snap.row_count == 0 and set(files) <= set(snap.recent_cold_paths)
        assert backend.ids(store.list_files()) == once(range(0, 5000, 100))
        assert await store.flush() == []
        await store.close()

    asyncio.run(main())


def test_writes_during_a_flush_are_kept(backend: Backend) -> None:
    async def main() -> None:
        store = backend.store()
        await store.open()
        for f in range(0, 4000, 100):
            await store.write(batches(f))
        flush = asyncio.ensure_future(store.flush())
        for f in range(4000, 6000, 100):
            await store.write(batches(f))
        await flush
        await store.close()
        assert backend.ids(store.list_files()) == once(range(0, 6000, 100))

    asyncio.run(main())


def test_close_flushes_everything_and_reopen_starts_empty(backend: Backend) -> None:
    async def main() -> None:
        store = backend.store()
        await store.open()
        await store.write(batches(0))
        await store.close()
        assert backend.ids(store.list_files()) == once(range(0, 100, 100))
        again = backend.store()
        await again.open()
        assert again.unflushed_bytes() == 0
        await again.close()

    asyncio.run(main())


def test_spans_of_an_abandoned_store_survive_into_the_next_one(backend: Backend) -> None:
    """No close(): the way a crashed process leaves the store."""
    first = backend.store()

    async def crash() -> None:
        await first.open()
        for f in range(0, 1000, 100):
            await first.write(batches(f))

    asyncio.run(crash())
    release = getattr(first, "wal", None)  # a crashed process releases its locks by exiting
    if release is not None:
        release.release_dir()

    async def restart() -> None:
        store = backend.store()
        await store.open()
        snap = await asyncio.to_thread(store.snapshot)
        assert backend.ids([snap.path]) == once(range(0, 1000, 100))
        await store.close()
        assert backend.ids(store.list_files()) == once(range(0, 1000, 100))

    asyncio.run(restart())


def _streamed(store: LocalSpanStore, chunk_bytes: int) -> tuple[pa.Table, list[int], list[str]]:
    """Every chunk of one hot-spans stream: (the table they form, chunk sizes, recent cold paths)."""
    stream = store.hot_spans()
    stream.chunk_bytes = chunk_bytes
    try:
        chunks: list[bytes] = []
        while (chunk := stream.next_chunk()) is not None:
            chunks.append(chunk)
        recent = stream.recent_cold_paths
    finally:
        stream.close()
    with pa.ipc.open_stream(pa.py_buffer(b"".join(chunks))) as reader:
        return reader.read_all(), [len(c) for c in chunks], recent


def test_streamed_hot_spans_are_the_unflushed_spans_once(backend: Backend) -> None:
    """The hot tier as an Arrow IPC stream in bounded chunks: every unflushed span once, in the
    span format's columns; after a flush, none, and the flushed file among the recent ones."""

    async def main() -> None:
        store = backend.store()
        await store.open()
        table, sizes, _ = await asyncio.to_thread(_streamed, store, 64 * 1024)
        assert table.num_rows == 0 and table.schema.equals(span_format.SCHEMA, check_metadata=False)
        for f in range(0, 3000, 100):
            await store.write(batches(f))
        table, sizes, _ = await asyncio.to_thread(_streamed, store, 64 * 1024)
        assert len(sizes) > 1 and max(sizes) <= 64 * 1024
        assert Counter(table["span_id"].to_pylist()) == Counter(
            dict.fromkeys(expected(range(0, 3000, 100)), 1)
        )
        assert table.schema.equals(span_format.SCHEMA, check_metadata=False)
        flushed = await store.flush()
        table, _, recent = await asyncio.to_thread(_streamed, store, 64 * 1024)
        assert table.num_rows == 0 and set(flushed) <= set(recent)
        await store.close()

    asyncio.run(main())


# --- the read side: the backend lists, indexes, queries and deletes the same cold files ---------


async def _write_and_flush(store: LocalSpanStore, firsts: range) -> list[str]:
    await store.open()
    for f in firsts:
        await store.write(batches(f))
    files = await store.flush()
    await store.close()
    return files


def _all_rows(index: MetadataIndex, tiers: HotTiers, kind: str) -> list[dict]:
    rows: list[dict] = []
    cursor = None
    for _ in range(100):
        answer = planner.list_spans(index, tiers, ListQuery(SERVICE, kind=kind, limit=500, cursor=cursor))  # type: ignore[arg-type]
        assert not answer.skipped
        rows.extend(answer.data)
        if answer.next_cursor is None:
            return rows
        cursor = decode_cursor(answer.next_cursor)
    raise AssertionError("pagination did not end")


def test_flushed_files_are_indexed_and_answer_every_query(backend: Backend, tmp_path: Path) -> None:
    files = asyncio.run(_write_and_flush(backend.store(), range(0, 3000, 100)))
    listed = [f.location for f in backend.files.scan()]
    assert files and sorted(files) == listed
    assert all(f.startswith("s3://") for f in listed) == (backend.name == "s3")

    # Before the indexer has seen them: through ingestion's recent-cold list.
    index = MetadataIndex(tmp_path / "metadata.db")
    recent = HotTiers(recent_cold_paths=files)
    assert planner.services(index, recent).data == [SERVICE]
    assert len(_all_rows(index, recent, "spans")) == 3000

    result = backend.indexer(index).run_pass()
    assert sorted(result.indexed) == listed and not result.failed
    tiers = HotTiers()
    assert planner.services(index, tiers).data == [SERVICE]
    spans = _all_rows(index, tiers, "spans")
    assert Counter(s["span_id"] for s in spans) == once(range(0, 3000, 100))
    roots = _all_rows(index, tiers, "roots")
    assert len(roots) == 300 and all(not r["parent_span_id"] for r in roots)
    page = planner.list_spans(index, tiers, ListQuery(SERVICE, kind="roots", limit=10))
    assert page.total == 300 and len(page.data) == 10

    trace = planner.trace_page(index, tiers, trace_id(1234))
    assert sorted(s["span_id"] for s in trace.data) == sorted(
        (seq + 1).to_bytes(8, "big").hex() for seq in range(1230, 1240)
    )
    assert trace.more == 0 and not trace.skipped
    one = planner.one_span(index, tiers, trace_id(1234), (1235).to_bytes(8, "big").hex())
    assert one.data is not None and one.data["span_id"] == (1235).to_bytes(8, "big").hex()


def test_retention_deletes_cold_files(backend: Backend, tmp_path: Path) -> None:
    asyncio.run(_write_and_flush(backend.store(), range(0, 1000, 100)))
    index = MetadataIndex(tmp_path / "metadata.db")
    backend.indexer(index).run_pass()
    assert backend.files.scan()
    expired = backend.indexer(index, RetentionPolicy(max_bytes=1)).run_pass().deleted
    assert expired and backend.files.scan() == []
    assert planner.list_spans(index, HotTiers(), ListQuery(SERVICE)).data == []
    assert planner.trace_page(index, HotTiers(), trace_id(5)).data == []


def test_reindexing_after_a_restart_finds_nothing_new_and_drops_vanished_files(
    backend: Backend, tmp_path: Path
) -> None:
    files = asyncio.run(_write_and_flush(backend.store(), range(0, 2000, 100)))
    index = MetadataIndex(tmp_path / "metadata.db")
    assert sorted(backend.indexer(index).run_pass().indexed) == sorted(files)
    again = backend.indexer(MetadataIndex(tmp_path / "metadata.db"))
    assert again.run_pass().indexed == []
    backend.files.delete(files[0])  # an operator removed one
    assert again.reconcile() >= 1 and files[0] not in index.indexed_paths()


class _DiesAfterStaging:
    """A cold store whose process dies after the file is staged (for object storage: uploaded)
    and before the commit: the flush's file exists, its segments do too."""

    def __init__(self, inner: ColdStore) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def stage(self, tmp: Path, final: Path) -> None:
        self.inner.stage(tmp, final)
        raise _Died


class _Died(Exception):
    pass


def test_a_flush_interrupted_after_staging_is_finished_once_by_the_next_start(backend: Backend) -> None:
    first = backend.store(_DiesAfterStaging(backend.cold_store()))  # type: ignore[arg-type]

    async def crash() -> None:
        await first.open()
        for f in range(0, 2000, 100):
            await first.write(batches(f))
        with pytest.raises(_Died):
            await first.flush()
        await asyncio.to_thread(first.wal.stop)

    asyncio.run(crash())
    first.wal.release_dir()

    async def restart() -> None:
        store = backend.store()
        await store.open()
        snap = await asyncio.to_thread(store.snapshot)
        # object storage: the upload is repeated and the segments go; local: the rename never
        # happened, so the segments are flushed again
        assert snap.row_count == (2000 if backend.name == "local" else 0)
        await store.close()

    asyncio.run(restart())
    assert backend.ids([f.location for f in backend.files.scan()]) == once(range(0, 2000, 100))
    assert not list((backend.root / "wal").glob("flush-*.intent"))


def test_an_unreachable_bucket_keeps_every_span_and_says_why(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Object storage only (a local disk's faults: tests/ingestion/test_faults.py). The bucket cut
    off: flushes fail naming the store, spans stay in the WAL and the hot tier, and once it is
    back the file written meanwhile is published under its name, once."""
    backend = s3_backend(tmp_path, request)
    server: MotoServer = request.getfixturevalue("moto_server")
    files: ObjectColdFiles = backend.files  # type: ignore[assignment]
    proxy = TcpProxy(server.port)
    proxied = server.config(files.config.bucket, files.config.prefix, f"http://127.0.0.1:{proxy.port}")
    store = backend.store(ObjectColdStore(backend.root / "parquet", proxied))

    async def main() -> None:
        await store.open()
        for f in range(0, 1000, 100):
            await store.write(batches(f))
        proxy.pause()
        started = time.monotonic()
        with pytest.raises(OSError, match=f"object store s3://{proxied.bucket}: upload failed"):
            await store.flush()
        assert time.monotonic() - started < 120
        assert "upload failed" in (store.flush_failure() or "")
        snap = await asyncio.to_thread(store.snapshot)
        assert backend.ids([snap.path]) == once(range(0, 1000, 100))
        await store.write(batches(1000))
        proxy.resume()
        await store.flush()
        assert store.flush_failure() is None and store.unflushed_bytes() == 0
        await store.close()

    try:
        asyncio.run(main())
    finally:
        proxy.cut()
    assert backend.ids([f.location for f in backend.files.scan()]) == once(range(0, 1100, 100))
    assert not list((backend.root / "parquet").rglob("*.parquet"))  # local copies released
