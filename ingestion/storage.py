"""The span store seen by the servers: a small interface, and the local-disk implementation.

Why an interface (the Jaeger v2 habit): the gRPC layer only needs "write durably, flush,
snapshot, list files". Keeping that seam small lets another store (object storage) join later
without touching server.py, and lets one conformance suite (tests/storage/) hold every
implementation to the same guarantees.

`LocalSpanStore` wires the pipeline stages together: wal.py (durable segments, group commit),
flush.py (segments → Parquet, scheduling) and snapshot.py (hot snapshot + recent cold files).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pyarrow as pa
import structlog

from ingestion.cold_store import ColdStore, LocalColdStore
from ingestion.disk import WriteFailure, fsync_dir
from ingestion.flush import Flusher, FlushScheduler, RecentCold, resolve_intents
from ingestion.hot_stream import HotSpanStream
from ingestion.snapshot import HotSnapshot, SnapshotResult
from ingestion.wal import RecoveryReport, Wal

log = structlog.get_logger("ingestion.storage")


class SpanStore(Protocol):
    async def open(self) -> RecoveryReport:
        """Recovers whatever a previous process left (before anything is acknowledged)."""

    @property
    def failure(self) -> WriteFailure | None:
        """Why writes fail right now (None: they succeed); cleared once a test write succeeds."""

    async def write(self, batches: list[pa.RecordBatch]) -> None:
        """Returns only once the batches are durable (raises OSError otherwise)."""

    async def flush(self) -> list[str]:
        """Moves everything written before the call to cold files; returns the new files."""

    def snapshot(self) -> SnapshotResult:
        """Blocking: all unflushed spans as one hot file, plus the recently flushed cold files."""

    def hot_spans(self) -> HotSpanStream:
        """Blocking: all unflushed spans as an Arrow IPC stream, plus the recently flushed cold files."""

    def list_files(self) -> list[str]:
        """Every cold file this store has published, oldest first."""

    def unflushed_bytes(self) -> int: ...

    def flush_failure(self) -> str | None:
        """Why the last flush failed, until one succeeds."""

    async def close(self) -> list[str]:
        """Flushes everything and releases the store; returns the files of the final flush."""


def ingester_id(wal_dir: Path) -> str:
    """This ingester's id, kept in its WAL directory (one WAL per ingester). Cold file names carry
    it, so ingesters publishing into one PARQUET_OUTPUT_DIR never pick the same name."""
    path = wal_dir / "ingester_id"
    try:
        kept = path.read_text().strip()
        if re.fullmatch(r"[0-9a-f]{8}", kept):
            return kept
    except FileNotFoundError:
        pass
    value = secrets.token_hex(4)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as f:
        f.write(value)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(wal_dir)
    return value


@dataclass(frozen=True)
class LocalStoreConfig:
    wal_dir: Path
    parquet_dir: Path
    snapshot_path: Path
    segment_max_bytes: int
    flush_max_bytes: int
    flush_max_age_secs: float
    recent_cold_max_files: int
    recent_cold_max_age_secs: float
    snapshot_cache_ttl_secs: float


class LocalSpanStore:
    """WAL_DIR + PARQUET_OUTPUT_DIR + SNAPSHOT_PATH on the local file system; cold files are
    published by `cold` (default: PARQUET_OUTPUT_DIR itself; or a bucket, see cold_store.py).

    When a WAL write fails, `failure` says why and `on_health(False)` is awaited; a probe then
    makes a test write every PROBE_INTERVAL_SECS and clears both once one succeeds. A full disk
    also asks for a flush at once (Parquet is several times smaller than the WAL it replaces),
    and a segment that vanished with its directory is flushed from its descriptor at once.
    """

    PROBE_INTERVAL_SECS = 0.5

    def __init__(self, config: LocalStoreConfig, cold: ColdStore | None = None) -> None:
        self.config = config
        self.cold = cold if cold is not None else LocalColdStore(config.parquet_dir)
        self.wal = Wal(config.wal_dir, config.segment_max_bytes)
        self.recent = RecentCold(config.recent_cold_max_files, config.recent_cold_max_age_secs)
        self.flusher = Flusher(self.wal, config.parquet_dir, config.flush_max_bytes, self.recent, self.cold)
        self.scheduler = FlushScheduler(
            self.wal, self.flusher, config.flush_max_bytes, config.flush_max_age_secs
        )
        self.hot = HotSnapshot(self.wal, config.snapshot_path, self.recent, config.snapshot_cache_ttl_secs)
        self._scheduler_task: asyncio.Task[None] | None = None
        self._probe_task: asyncio.Task[None] | None = None
        self._failure: WriteFailure | None = None
        self.on_health: Callable[[bool], Awaitable[None]] | None = None

    @property
    def failure(self) -> WriteFailure | None:
        return self._failure

    async def open(self) -> RecoveryReport:
        loop = asyncio.get_running_loop()
        try:
            self.wal.lock_dir()
            self.flusher.ingester_id = await asyncio.to_thread(ingester_id, self.config.wal_dir)
            finished = await asyncio.to_thread(resolve_intents, self.config.wal_dir, self.cold)
            report = await asyncio.to_thread(self.wal.recover)
        except OSError as exc:
            self.wal.release_dir()
            raise OSError(f"WAL_DIR {self.config.wal_dir}: {exc.strerror or exc}") from None
        log.info(
            "wal_recovered",
            sealed_segments=report.sealed,
            recovered_segments=report.recovered_open,
            recovered_rows=report.recovered_rows,
            torn_tail_bytes=report.dropped_tail_bytes,
            damaged_segments=report.damaged_segments,
            finished_flushes=finished,
        )
        self.wal.on_segment_sealed = lambda: self.scheduler.wake_threadsafe(loop)

        def flush_soon() -> None:  # from the writer thread
            loop.call_soon_threadsafe(self.scheduler.request)

        self.wal.on_segment_vanished = flush_soon
        self.wal.start(loop)
        self._scheduler_task = loop.create_task(self.scheduler.run())
        return report

    async def write(self, batches: list[pa.RecordBatch]) -> None:
        try:
            await self.wal.append(batches)
        except OSError as exc:
            await self._writes_failing(WriteFailure.of(exc))
            raise

    async def _writes_failing(self, failure: WriteFailure) -> None:
        if failure.disk_full:
            self.scheduler.request()
        first = self._failure is None
        self._failure = failure
        if first:
            log.error("span_storage_failing", cause=failure.cause, wal_dir=str(self.config.wal_dir))
            self._probe_task = asyncio.get_running_loop().create_task(self._probe_until_writable())
            if self.on_health is not None:
                await self.on_health(False)

    async def _probe_until_writable(self) -> None:
        since = time.monotonic()
        while True:
            await asyncio.sleep(self.PROBE_INTERVAL_SECS)
            try:
                await asyncio.to_thread(self.wal.probe_write)
            except OSError as exc:
                failure = WriteFailure.of(exc)
                self._failure = failure
                if failure.disk_full:
                    self.scheduler.request()
                continue
            self._failure = None
            log.info("span_storage_recovered", seconds=round(time.monotonic() - since, 3))
            if self.on_health is not None:
                await self.on_health(True)
            return

    async def flush(self) -> list[str]:
        return await self.scheduler.flush_all()

    def snapshot(self) -> SnapshotResult:
        return self.hot.prepare()

    def hot_spans(self) -> HotSpanStream:
        return HotSpanStream(self.wal, self.recent)

    def list_files(self) -> list[str]:
        return self.cold.list_files()

    def unflushed_bytes(self) -> int:
        return self.wal.unflushed_bytes()

    def flush_failure(self) -> str | None:
        return self.scheduler.failure

    async def close(self) -> list[str]:
        for task in (self._scheduler_task, self._probe_task):
            if task is not None:
                task.cancel()  # a flush the scheduler started keeps running in its thread
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await asyncio.to_thread(self.wal.stop)  # finishes queued writes, seals the active segment
        files = await self.flush()
        self.wal.release_dir()
        return files
