"""The backend's client for ingestion's internal gRPC service (PrepareHotSnapshot, FlushWAL).

One grpc.aio channel for the process, reused by every request; each call carries the internal
token and a deadline. Calls fail fast while ingestion is down (no wait-for-ready), and the query
layer then degrades to indexed cold data and says so instead of failing; for a second after a
failure, calls are skipped outright so a blackholed host cannot add its deadline to every query.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import grpc
import structlog

from junjo_common.internal_token import call_metadata
from junjo_common.proto_gen import ingestion_pb2, ingestion_pb2_grpc

log = structlog.get_logger(__name__)
DEGRADED_HEADER = "X-Junjo-Degraded"
RETRY_AFTER_FAILURE_SECS = 1.0  # while ingestion is down, queries skip the call instead of waiting
INGESTION_UNAVAILABLE = "ingestion-unavailable"


@dataclass
class HotTiers:
    """What ingestion says is not (necessarily) in the index yet."""

    snapshot_path: str | None = None
    snapshot_size: int = 0
    recent_cold_paths: list[str] = field(default_factory=list)
    degraded: str | None = None  # reason the hot/recent tiers are missing, if they are


class IngestionClient:
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
                ],
            )
            self._stub = ingestion_pb2_grpc.InternalIngestionServiceStub(self._channel)
        return self._stub

    async def prepare_hot_snapshot(self) -> HotTiers:
        if time.monotonic() < self._down_until:
            return HotTiers(degraded=INGESTION_UNAVAILABLE)
        try:
            reply = await self._get_stub().PrepareHotSnapshot(
                ingestion_pb2.PrepareHotSnapshotRequest(), metadata=self._metadata, timeout=self._deadline
            )
        except grpc.aio.AioRpcError as exc:
            log.warning("ingestion_unavailable", call="PrepareHotSnapshot", code=exc.code().name)
            self._down_until = time.monotonic() + RETRY_AFTER_FAILURE_SECS
            return HotTiers(degraded=INGESTION_UNAVAILABLE)
        recent = list(reply.recent_cold_paths)
        if not reply.success:
            log.warning("hot_snapshot_failed", error=reply.error_message)
            return HotTiers(recent_cold_paths=recent, degraded="hot-snapshot-failed")
        has_hot = bool(reply.snapshot_path) and reply.row_count > 0
        return HotTiers(
            snapshot_path=reply.snapshot_path if has_hot else None,
            snapshot_size=reply.file_size_bytes if has_hot else 0,
            recent_cold_paths=recent,
        )

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
