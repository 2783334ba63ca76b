"""Hot tier transfer: what it costs to hand 10k (and 30k) unflushed spans to the backend.

One in-process ingestion store and its real internal gRPC server on loopback, filled with the
ingestion benchmark's workload (spans with realistic attributes), nothing flushed. Measured per
call, as the backend makes it: PrepareHotSnapshot (the shared-disk default: the snapshot file is
rewritten and its path returned; the cache is off so every call rebuilds) and StreamHotSpans
through the backend's client (the spans as Arrow IPC over gRPC, read and validated into an
in-memory table). Prints the median and p95 milliseconds and the bytes each moves.
"""

from __future__ import annotations

import asyncio
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

import grpc
from grpc_health.v1.health import aio as health_aio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backend.spans.ingestion_client import IngestionClient
from ingestion.convert import convert_request
from ingestion.server import InternalService, start_internal_server
from ingestion.storage import LocalSpanStore, LocalStoreConfig
from junjo_common.internal_token import call_metadata
from junjo_common.proto_gen import ingestion_pb2, ingestion_pb2_grpc
from tests.ingestion.workload import make_request
from tests.support.procs import free_port

MiB = 1024 * 1024
TOKEN = secrets.token_urlsafe(32)
ROUNDS = 9
SIZES = (10_000, 30_000)


def _summary(name: str, spans: int, times: list[float], size: int) -> str:
    times = sorted(times)
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    per_10k = 10_000 / spans
    return (
        f"{name:18} {spans:>6} spans: median {statistics.median(times):7.1f} ms, p95 {p95:7.1f} ms, "
        f"{size / MiB:6.2f} MiB  (per 10k: {statistics.median(times) * per_10k:6.1f} ms, "
        f"{size * per_10k / MiB:5.2f} MiB)"
    )


async def _measure(root: Path, spans: int) -> list[str]:
    store = LocalSpanStore(
        LocalStoreConfig(
            wal_dir=root / "wal",
            parquet_dir=root / "parquet",
            snapshot_path=root / "hot.parquet",
            segment_max_bytes=64 * MiB,
            flush_max_bytes=1024 * MiB,
            flush_max_age_secs=3600,
            recent_cold_max_files=20,
            recent_cold_max_age_secs=120,
            snapshot_cache_ttl_secs=0,
        )
    )
    await store.open()
    for first in range(0, spans, 100):
        await store.write(convert_request(make_request(first, 100).SerializeToString()).batches)
    port = free_port()
    server = await start_internal_server(port, TOKEN, InternalService(store), health_aio.HealthServicer())
    client = IngestionClient(f"127.0.0.1:{port}", TOKEN, deadline_secs=60)
    lines: list[str] = []
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = ingestion_pb2_grpc.InternalIngestionServiceStub(channel)
            times, size = [], 0
            for _ in range(ROUNDS):
                started = time.perf_counter()
                reply = await stub.PrepareHotSnapshot(
                    ingestion_pb2.PrepareHotSnapshotRequest(), metadata=call_metadata(TOKEN)
                )
                times.append((time.perf_counter() - started) * 1000)
                assert reply.row_count == spans, reply
                size = reply.file_size_bytes
            lines.append(_summary("snapshot file", spans, times, size))

            times = []
            for _ in range(ROUNDS):
                started = time.perf_counter()
                tiers = await client.stream_hot_spans(max_bytes=1024 * MiB)
                times.append((time.perf_counter() - started) * 1000)
                (table,) = tiers.tables.values()
                assert table.num_rows == spans, tiers.degraded
            chunks = stub.StreamHotSpans(ingestion_pb2.StreamHotSpansRequest(), metadata=call_metadata(TOKEN))
            size = sum([len(c.arrow_ipc) async for c in chunks])
            lines.append(_summary("stream over gRPC", spans, times, size))
    finally:
        await client.close()
        await server.stop(None)
        await store.close()
    return lines


def main(argv: list[str] | None = None) -> int:
    for spans in SIZES:
        with tempfile.TemporaryDirectory(prefix="bench-hot-") as tmp:
            for line in asyncio.run(_measure(Path(tmp), spans)):
                print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
