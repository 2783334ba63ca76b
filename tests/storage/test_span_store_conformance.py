"""Conformance suite for ingestion's SpanStore: every implementation must pass all of it.

Only the local-disk store exists today; an object-storage store joins by adding a factory to
STORES. The guarantees checked are the ones the servers rely on: durable writes, snapshots
that show every unflushed span once, flushes that move spans to cold files exactly once, and a
close (or a crash, then reopen) that loses nothing.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingestion.convert import convert_request
from ingestion.storage import LocalSpanStore, LocalStoreConfig, SpanStore
from junjo_common.spanformat import CURRENT as span_format
from junjo_common.spanformat import v1
from tests.ingestion.workload import make_request

MB = 1024 * 1024


def local_store(root: Path) -> SpanStore:
    return LocalSpanStore(
        LocalStoreConfig(
            wal_dir=root / "wal",
            parquet_dir=root / "parquet",
            snapshot_path=root / "hot.parquet",
            segment_max_bytes=MB,
            flush_max_bytes=8 * MB,
            flush_max_age_secs=3600,
            recent_cold_max_files=20,
            recent_cold_max_age_secs=120,
            snapshot_cache_ttl_secs=0,
        )
    )


STORES: dict[str, Callable[[Path], SpanStore]] = {"local": local_store}


@pytest.fixture(params=sorted(STORES))
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], SpanStore]:
    return lambda: STORES[request.param](tmp_path)


def batches(first: int, count: int = 100) -> list[pa.RecordBatch]:
    return convert_request(make_request(first, count).SerializeToString()).batches


def ids(paths: list[str]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for p in paths:
        counts.update(pq.read_table(p, columns=["span_id"])["span_id"].to_pylist())
    return counts


def expected(firsts: range, count: int = 100) -> set[str]:
    return {(f + i + 1).to_bytes(8, "big").hex() for f in firsts for i in range(count)}


def test_written_spans_are_in_the_snapshot_once(make_store: Callable[[], SpanStore]) -> None:
    async def main() -> None:
        store = make_store()
        await store.open()
        assert (await asyncio.to_thread(store.snapshot)).row_count == 0
        for f in range(0, 3000, 100):
            await store.write(batches(f))
        snap = await asyncio.to_thread(store.snapshot)
        assert snap.row_count == 3000 and store.unflushed_bytes() > 0
        assert ids([snap.path]) == Counter(dict.fromkeys(expected(range(0, 3000, 100)), 1))
        assert pq.read_schema(snap.path).names == list(v1.COLUMNS)
        await store.close()

    asyncio.run(main())


def test_flush_moves_everything_to_cold_files_exactly_once(make_store: Callable[[], SpanStore]) -> None:
    async def main() -> None:
        store = make_store()
        await store.open()
        for f in range(0, 5000, 100):
            await store.write(batches(f))
        files = await store.flush()
        assert files and set(files) <= set(store.list_files())
        snap = await asyncio.to_thread(store.snapshot)
        assert snap.row_count == 0 and set(files) <= set(snap.recent_cold_paths)
        assert ids(store.list_files()) == Counter(dict.fromkeys(expected(range(0, 5000, 100)), 1))
        assert await store.flush() == []
        await store.close()

    asyncio.run(main())


def test_writes_during_a_flush_are_kept(make_store: Callable[[], SpanStore]) -> None:
    async def main() -> None:
        store = make_store()
        await store.open()
        for f in range(0, 4000, 100):
            await store.write(batches(f))
        flush = asyncio.ensure_future(store.flush())
        for f in range(4000, 6000, 100):
            await store.write(batches(f))
        await flush
        await store.close()
        assert ids(store.list_files()) == Counter(dict.fromkeys(expected(range(0, 6000, 100)), 1))

    asyncio.run(main())


def test_close_flushes_everything_and_reopen_starts_empty(make_store: Callable[[], SpanStore]) -> None:
    async def main() -> None:
        store = make_store()
        await store.open()
        await store.write(batches(0))
        await store.close()
        assert ids(store.list_files()) == Counter(dict.fromkeys(expected(range(0, 100, 100)), 1))
        again = make_store()
        await again.open()
        assert again.unflushed_bytes() == 0
        await again.close()

    asyncio.run(main())


def test_spans_of_an_abandoned_store_survive_into_the_next_one(make_store: Callable[[], SpanStore]) -> None:
    """No close(): the way a crashed process leaves the store."""
    first = make_store()

    async def crash() -> None:
        await first.open()
        for f in range(0, 1000, 100):
            await first.write(batches(f))

    asyncio.run(crash())
    release = getattr(first, "wal", None)  # a crashed process releases its locks by exiting
    if release is not None:
        release.release_dir()

    async def restart() -> None:
        store = make_store()
        await store.open()
        snap = await asyncio.to_thread(store.snapshot)
        assert ids([snap.path]) == Counter(dict.fromkeys(expected(range(0, 1000, 100)), 1))
        await store.close()
        assert ids(store.list_files()) == Counter(dict.fromkeys(expected(range(0, 1000, 100)), 1))

    asyncio.run(restart())


def _streamed(store: SpanStore, chunk_bytes: int) -> tuple[pa.Table, list[int], list[str]]:
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


def test_streamed_hot_spans_are_the_unflushed_spans_once(make_store: Callable[[], SpanStore]) -> None:
    """The hot tier as an Arrow IPC stream in bounded chunks: every unflushed span once, in the
    span format's columns; after a flush, none, and the flushed file among the recent ones."""

    async def main() -> None:
        store = make_store()
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
