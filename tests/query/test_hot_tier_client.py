"""The backend's side of the hot tier over gRPC, against fake ingesters on loopback.

A fake ingester is a real grpc.aio server answering StreamHotSpans with whatever a test wants:
real span batches, an endless stream, one oversized message, bytes that are not Arrow, another
schema, a stream cut short. The client must take the good ones, refuse the rest by the bytes it
actually received, and leave the tier out (a degraded reason) instead of raising.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
import pyarrow as pa
import pytest

from backend.spans.ingestion_client import (
    HOT_TIER_INVALID,
    HOT_TIER_TOO_LARGE,
    INGESTION_UNAVAILABLE,
    PARTIAL_RESULTS,
    Ingesters,
    IngestionClient,
)
from junjo_common.proto_gen import ingestion_pb2, ingestion_pb2_grpc
from junjo_common.spanformat import CURRENT, FORMAT_METADATA_KEY, v1
from tests.query.spanfiles import new_trace_id, span
from tests.support.procs import free_port

MiB = 1024 * 1024
Chunks = Callable[["FakeIngester"], AsyncIterator[bytes]]


def ipc(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def span_table(n: int, schema: pa.Schema = CURRENT.SCHEMA) -> pa.Table:
    rows = [span(new_trace_id(), name=f"op {i}") for i in range(n)]
    return pa.Table.from_pydict({name: [r[name] for r in rows] for name in schema.names}, schema=schema)


class FakeIngester(ingestion_pb2_grpc.InternalIngestionServiceServicer):
    def __init__(self, chunks: Chunks) -> None:
        self.chunks = chunks
        self.sent_bytes = 0
        self.flushes = 0

    async def StreamHotSpans(self, request: Any, context: Any) -> AsyncIterator[ingestion_pb2.HotSpansChunk]:
        async for chunk in self.chunks(self):
            self.sent_bytes += len(chunk)
            yield ingestion_pb2.HotSpansChunk(arrow_ipc=chunk, recent_cold_paths=["/elsewhere/a.parquet"])

    async def FlushWAL(self, request: Any, context: Any) -> ingestion_pb2.FlushWALResponse:
        self.flushes += 1
        return ingestion_pb2.FlushWALResponse(success=True)


async def serve(fake: FakeIngester) -> tuple[grpc.aio.Server, str]:
    server = grpc.aio.server(options=[("grpc.max_send_message_length", 64 * MiB)])
    ingestion_pb2_grpc.add_InternalIngestionServiceServicer_to_server(fake, server)
    port = free_port()
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    return server, f"127.0.0.1:{port}"


def with_fake(chunks: Chunks, test: Callable[[FakeIngester, str], Awaitable[None]]) -> None:
    async def main() -> None:
        fake = FakeIngester(chunks)
        server, target = await serve(fake)
        try:
            await test(fake, target)
        finally:
            await server.stop(None)

    asyncio.run(main())


def pieces(data: bytes, size: int) -> Chunks:
    async def chunks(_: FakeIngester) -> AsyncIterator[bytes]:
        for i in range(0, len(data), size):
            yield data[i : i + size]

    return chunks


@pytest.mark.parametrize("schema", [CURRENT.SCHEMA, v1.SCHEMA], ids=["current", "v1"])
def test_received_spans_become_one_in_memory_table(schema: pa.Schema) -> None:
    table = span_table(500, schema)

    async def test(_: FakeIngester, target: str) -> None:
        client = IngestionClient(target, "token")
        tiers = await client.stream_hot_spans(max_bytes=64 * MiB)
        await client.close()
        assert tiers.degraded is None and tiers.recent_cold_paths == ["/elsewhere/a.parquet"]
        assert list(tiers.tables) == [f"hot:{target}"]
        received = tiers.tables[f"hot:{target}"]
        assert received.equals(table) and received.schema.metadata == schema.metadata

    with_fake(pieces(ipc(table), 4096), test)


def test_an_endless_stream_is_cut_at_the_byte_bound() -> None:
    async def endless(fake: FakeIngester) -> AsyncIterator[bytes]:
        while fake.sent_bytes < 4096 * MiB:
            yield b"\0" * (2 * MiB)

    async def test(fake: FakeIngester, target: str) -> None:
        client = IngestionClient(target, "token")
        tiers = await client.stream_hot_spans(max_bytes=8 * MiB)
        await client.close()
        assert tiers.degraded == HOT_TIER_TOO_LARGE and not tiers.tables
        await asyncio.sleep(0.5)
        assert fake.sent_bytes < 128 * MiB  # the call was cancelled, not drained

    with_fake(endless, test)


def test_one_message_over_the_limit_is_refused() -> None:
    async def test(_: FakeIngester, target: str) -> None:
        client = IngestionClient(target, "token")
        tiers = await client.stream_hot_spans(max_bytes=64 * MiB)
        await client.close()
        assert tiers.degraded == HOT_TIER_TOO_LARGE and not tiers.tables

    with_fake(pieces(b"\1" * (6 * MiB), 6 * MiB), test)


def test_bytes_that_are_not_the_span_format_are_refused() -> None:
    good = ipc(span_table(50))
    other_schema = ipc(pa.table({"span_id": ["a"], "x": [1]}))
    unknown_version = ipc(span_table(5).replace_schema_metadata({FORMAT_METADATA_KEY: b"99"}))
    v1_claiming_current = ipc(span_table(5, v1.SCHEMA).replace_schema_metadata(CURRENT.SCHEMA.metadata))
    bad_inputs = [
        b"not arrow at all",
        other_schema,
        unknown_version,
        v1_claiming_current,
        good[: len(good) // 2],
        good[:-8] + b"\xff" * 8,
    ]
    for data in bad_inputs:

        async def test(_: FakeIngester, target: str) -> None:
            client = IngestionClient(target, "token")
            tiers = await client.stream_hot_spans(max_bytes=64 * MiB)
            await client.close()
            assert tiers.degraded == HOT_TIER_INVALID and not tiers.tables

        with_fake(pieces(data, 1000), test)


def test_several_ingesters_merge_and_a_dead_one_makes_results_partial() -> None:
    table = span_table(20)

    async def main() -> None:
        fake = FakeIngester(pieces(ipc(table), 1 << 20))
        server, target = await serve(fake)
        dead = f"127.0.0.1:{free_port()}"
        try:
            both = Ingesters([target, dead], "token", "stream", 64 * MiB)
            tiers = await both.hot_tiers()
            assert list(tiers.tables) == [f"hot:{target}"]
            assert tiers.degraded == f"{PARTIAL_RESULTS}; {dead}={INGESTION_UNAVAILABLE}"
            ok, message = await both.flush_wal()
            assert not ok and dead in message and fake.flushes == 1
            await both.close()
            one = Ingesters([target], "token", "stream", 64 * MiB)
            assert (await one.hot_tiers()).degraded is None
            assert await one.flush_wal() == (True, "WAL flushed")
            await one.close()
        finally:
            await server.stop(None)

    asyncio.run(main())
