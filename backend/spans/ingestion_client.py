"""The backend's client for the ingesters' internal gRPC service (hot tiers, FlushWAL).

One grpc.aio channel per ingester for the process, reused by every request; each call carries the
internal token and a deadline. Calls fail fast while an ingester is down (no wait-for-ready), and
the query layer then answers from what it has and says so instead of failing; for a second after
a failure, calls to that ingester are skipped outright so a blackholed host cannot add its
deadline to every query.

An ingester's unflushed spans arrive either as the path of its hot snapshot file on a disk both
share (PrepareHotSnapshot) or as the spans themselves (StreamHotSpans: an Arrow IPC stream in
chunks), which the backend reads into an in-memory table. A streamed hot tier is bounded by the
bytes actually received: past `max_bytes` the call is cancelled and that tier is left out.
With several ingesters (`Ingesters`) every one is asked at once and their tiers are merged; a
missing one marks the answer as partial.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Literal

import grpc
import pyarrow as pa
import structlog

from junjo_common import spanformat
from junjo_common.internal_token import call_metadata
from junjo_common.proto_gen import ingestion_pb2, ingestion_pb2_grpc

log = structlog.get_logger(__name__)
DEGRADED_HEADER = "X-Junjo-Degraded"
RETRY_AFTER_FAILURE_SECS = 1.0  # while an ingester is down, queries skip the call instead of waiting
INGESTION_UNAVAILABLE = "ingestion-unavailable"
HOT_TIER_TOO_LARGE = "hot-tier-too-large"
HOT_TIER_INVALID = "hot-tier-invalid"
PARTIAL_RESULTS = "partial-results"
MAX_MESSAGE_BYTES = 4 * 1024 * 1024  # one streamed chunk; ingestion sends at most half of it

IPC_END_OF_STREAM = b"\xff\xff\xff\xff\x00\x00\x00\x00"
Transfer = Literal["path", "stream"]


@dataclass
class SnapshotFile:
    path: str
    size: int  # as PrepareHotSnapshot reported it; < 0 accepts whatever file is there


@dataclass
class HotTiers:
    """What the ingesters say is not (necessarily) in the index yet."""

    snapshots: list[SnapshotFile] = field(default_factory=list)
    tables: dict[str, pa.Table] = field(default_factory=dict)  # streamed unflushed spans, by ingester
    recent_cold_paths: list[str] = field(default_factory=list)
    degraded: str | None = None  # reason some hot/recent tiers are missing, if they are


class IngestionClient:
    """One ingester."""

    def __init__(self, target: str, token: str, deadline_secs: float = 3.0) -> None:
        self.target = target
        self._metadata = call_metadata(token)
        self._deadline = deadline_secs
        self._channel: grpc.aio.Channel | None = None
        self._stub: ingestion_pb2_grpc.InternalIngestionServiceStub | None = None
        self._down_until = 0.0

    def _get_stub(self) -> ingestion_pb2_grpc.InternalIngestionServiceStub:
        if self._stub is None:
            self._channel = grpc.aio.insecure_channel(
                self.target,
                options=[
                    ("grpc.initial_reconnect_backoff_ms", 200),
                    ("grpc.max_reconnect_backoff_ms", 2000),
                    ("grpc.keepalive_time_ms", 300_000),
                    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                ],
            )
            self._stub = ingestion_pb2_grpc.InternalIngestionServiceStub(self._channel)
        return self._stub

    def _failed(self, call: str, exc: grpc.aio.AioRpcError) -> HotTiers:
        log.warning("ingestion_unavailable", call=call, target=self.target, code=exc.code().name)
        self._down_until = time.monotonic() + RETRY_AFTER_FAILURE_SECS
        return HotTiers(degraded=INGESTION_UNAVAILABLE)

    async def prepare_hot_snapshot(self) -> HotTiers:
        if time.monotonic() < self._down_until:
            return HotTiers(degraded=INGESTION_UNAVAILABLE)
        try:
            reply = await self._get_stub().PrepareHotSnapshot(
                ingestion_pb2.PrepareHotSnapshotRequest(), metadata=self._metadata, timeout=self._deadline
            )
        except grpc.aio.AioRpcError as exc:
            return self._failed("PrepareHotSnapshot", exc)
        recent = list(reply.recent_cold_paths)
        if not reply.success:
            log.warning("hot_snapshot_failed", target=self.target, error=reply.error_message)
            return HotTiers(recent_cold_paths=recent, degraded="hot-snapshot-failed")
        has_hot = bool(reply.snapshot_path) and reply.row_count > 0
        snapshots = [SnapshotFile(reply.snapshot_path, reply.file_size_bytes)] if has_hot else []
        return HotTiers(snapshots=snapshots, recent_cold_paths=recent)

    async def stream_hot_spans(self, max_bytes: int) -> HotTiers:
        """The ingester's unflushed spans as an in-memory table (none past `max_bytes` received)."""
        if time.monotonic() < self._down_until:
            return HotTiers(degraded=INGESTION_UNAVAILABLE)
        received = bytearray()
        recent: list[str] = []
        call = self._get_stub().StreamHotSpans(
            ingestion_pb2.StreamHotSpansRequest(), metadata=self._metadata, timeout=self._deadline
        )
        try:
            async for chunk in call:
                recent = recent or list(chunk.recent_cold_paths)
                received += chunk.arrow_ipc
                if len(received) > max_bytes:
                    call.cancel()
                    log.warning("hot_tier_too_large", target=self.target, max_bytes=max_bytes)
                    return HotTiers(recent_cold_paths=recent, degraded=HOT_TIER_TOO_LARGE)
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.RESOURCE_EXHAUSTED:  # one message over the limit
                log.warning("hot_tier_too_large", target=self.target, max_bytes=max_bytes)
                return HotTiers(recent_cold_paths=recent, degraded=HOT_TIER_TOO_LARGE)
            return self._failed("StreamHotSpans", exc)
        try:
            table = await asyncio.to_thread(read_hot_spans, received)
        except (pa.ArrowException, ValueError) as exc:
            log.warning("hot_tier_invalid", target=self.target, error=str(exc)[:300])
            return HotTiers(recent_cold_paths=recent, degraded=HOT_TIER_INVALID)
        tables = {f"hot:{self.target}": table} if table.num_rows else {}
        return HotTiers(tables=tables, recent_cold_paths=recent)

    async def flush_wal(self, deadline_secs: float = 120.0) -> tuple[bool, str]:
        """(success, message); a transport failure is reported as unsuccessful, never raised."""
        try:
            reply = await self._get_stub().FlushWAL(
                ingestion_pb2.FlushWALRequest(), metadata=self._metadata, timeout=deadline_secs
            )
        except grpc.aio.AioRpcError as exc:
            return False, f"ingestion unavailable ({exc.code().name})"
        return reply.success, reply.error_message or ("WAL flushed" if reply.success else "flush failed")

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()
            self._channel = self._stub = None


def read_hot_spans(ipc: bytearray) -> pa.Table:
    """The spans of a received IPC stream; raises unless it is complete, valid and in the columns of
    the span format version it is stamped with (what an ingester sends is checked like any input)."""
    if not ipc.endswith(IPC_END_OF_STREAM):  # a reader would take a cut at a message boundary as the end
        raise ValueError("stream cut short")
    with pa.ipc.open_stream(pa.py_buffer(ipc)) as reader:
        table = reader.read_all()
    stamped = spanformat.format_of("hot tier stream", table.schema.metadata)  # a version this build reads
    if not table.schema.equals(stamped.SCHEMA, check_metadata=False):
        raise ValueError("not the span format's columns")
    table.validate(full=True)
    return table


class Ingesters:
    """Every ingester the backend reads from (INGESTION_TARGETS), asked at once."""

    def __init__(
        self, targets: list[str], token: str, transfer: Transfer = "path", max_bytes: int = 0
    ) -> None:
        self.clients = [IngestionClient(target, token) for target in targets]
        self.transfer, self.max_bytes = transfer, max_bytes

    async def hot_tiers(self) -> HotTiers:
        if self.transfer == "stream":
            parts = await asyncio.gather(*(c.stream_hot_spans(self.max_bytes) for c in self.clients))
        else:
            parts = await asyncio.gather(*(c.prepare_hot_snapshot() for c in self.clients))
        if len(parts) == 1:
            return parts[0]
        merged = HotTiers()
        missing: list[str] = []
        for client, part in zip(self.clients, parts, strict=True):
            merged.snapshots += part.snapshots
            merged.tables |= part.tables
            merged.recent_cold_paths += part.recent_cold_paths
            if part.degraded:
                missing.append(f"{client.target}={part.degraded}")
        if missing:
            merged.degraded = f"{PARTIAL_RESULTS}; {', '.join(missing)}"
        return merged

    async def flush_wal(self) -> tuple[bool, str]:
        """Flushes every ingester; successful only if every one succeeded."""
        results = await asyncio.gather(*(c.flush_wal() for c in self.clients))
        failed = [
            f"{c.target}: {message}" for c, (ok, message) in zip(self.clients, results, strict=True) if not ok
        ]
        if len(self.clients) == 1:
            return results[0]
        return (not failed, "; ".join(failed) if failed else f"WAL flushed on {len(self.clients)} ingesters")

    async def close(self) -> None:
        for client in self.clients:
            await client.close()
