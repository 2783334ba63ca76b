"""The background indexer: finds new cold Parquet files and records them in metadata.db.

The files are listed, read and deleted through a `ColdFiles` store (backend/index/cold.py): the
local Parquet directory, or a bucket on object storage (read in place with range requests).

It polls every INDEXER_POLL_INTERVAL seconds and also runs at once after FlushWAL (the
flush-wal endpoint), so a flushed file is indexed promptly; until then the query layer still sees it
through ingestion's recent-cold paths. Files that fail (corrupt, empty, wrong schema) are
recorded and retried with exponential backoff, or at once when their size/mtime change. Files
indexed by schema v1 (before `key_spans`) are summarised again, within the same per-pass bound.
At start it reconciles: index rows whose file is gone are dropped. Retention runs after each pass.
Passes are serialised by a lock and run in a worker thread (blocking I/O off the event loop).

Several backends sharing one index (PostgreSQL) take turns: a pass runs only while its backend
holds the index's lease (a row with owner and expiry, renewed before every file), and reads what
is indexed already after taking it, so no file is indexed twice. A backend that crashed holding
the lease delays indexing by at most LEASE_SECONDS.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field

import pyarrow as pa
import structlog

from backend.index.cold import ColdFile, ColdFiles
from backend.index.retention import RetentionPolicy, apply_retention
from backend.index.store import MetadataIndex
from backend.index.summary import FileSummary, UnreadableFile, summarize

log = structlog.get_logger(__name__)
RETRY_BACKOFF_SECS = 5.0
MAX_FILES_PER_PASS = 500
LEASE_NAME = "indexer"
LEASE_SECONDS = 60.0


@dataclass
class PassResult:
    indexed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)


class Indexer:
    def __init__(
        self,
        index: MetadataIndex,
        cold: ColdFiles,
        poll_interval: float,
        retention: RetentionPolicy | None = None,
        retry_backoff: float = RETRY_BACKOFF_SECS,
    ) -> None:
        self.index = index
        self.cold = cold
        self.poll_interval = poll_interval
        self.retention = retention or RetentionPolicy()
        self.retry_backoff = retry_backoff
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self._lock = threading.Lock()

    # --- blocking work (worker threads) ---------------------------------------------------
    def reconcile(self) -> int:
        """Drops index rows (and failure records) of files that no longer exist."""
        listed = {f.location for f in self.cold.scan()}
        known = self.index.indexed_paths() | set(self.index.failed_files())
        gone = [p for p in known - listed if self.cold.stat(p) is None]
        removed = self.index.forget(gone)
        if gone:
            log.info("index_reconciled", removed_files=len(gone))
        return removed

    def _due(self, file: ColdFile, known: set[str], failed: dict, now: float) -> bool:
        if file.location in known:
            return False
        record = failed.get(file.location)
        if record is None:
            return True
        return now >= record.next_retry_at or (file.size_bytes, file.mtime_ns) != (
            record.size_bytes,
            record.mtime_ns,
        )

    def run_pass(self) -> PassResult:
        """Indexes every due file (bounded per pass), then applies retention."""
        result = PassResult()
        with self._lock:
            if not self.index.take_lease(LEASE_NAME, self.owner, LEASE_SECONDS):
                return result  # another backend is indexing
            try:
                self._indexing_pass(result)
            finally:
                self.index.release_lease(LEASE_NAME, self.owner)
        pa.default_memory_pool().release_unused()  # hand the batches' memory back (RSS budget)
        return result

    def _indexing_pass(self, result: PassResult) -> None:
        known, failed, now = self.index.indexed_paths(), self.index.failed_files(), time.time()
        due = [f.location for f in self.cold.scan() if self._due(f, known, failed, now)]
        due.extend(self.index.paths_without_keys())  # indexed by schema v1
        for location in due[:MAX_FILES_PER_PASS]:
            if not self.index.take_lease(LEASE_NAME, self.owner, LEASE_SECONDS):
                log.warning("index_lease_lost", owner=self.owner)
                break
            try:
                summary = self._summarize(location)
            except UnreadableFile as exc:
                if location in known:  # indexed by schema v1, now unreadable or gone
                    self.index.forget([location])
                now_there = self.cold.stat(location)
                if now_there is None:
                    continue  # deleted meanwhile (retention, operator): nothing to record
                failures = self.index.record_failure(
                    location, str(exc), now_there.size_bytes, now_there.mtime_ns, self.retry_backoff
                )
                log.warning("index_file_failed", path=location, error=str(exc), failures=failures)
                result.failed.append(location)
                continue
            self.index.add_file(summary)
            result.indexed.append(location)
        if result.indexed:
            log.info("index_files_added", count=len(result.indexed))
        result.deleted = apply_retention(self.index, self.retention, time.time_ns(), self.cold)

    def _summarize(self, location: str) -> FileSummary:
        try:
            file = self.cold.stat(location)
            if file is None:
                raise UnreadableFile("gone")
            return summarize(location, self.cold.open(location), file.size_bytes)
        except OSError as exc:  # the store cannot be reached or the object vanished
            raise UnreadableFile(f"{type(exc).__name__}: {exc}") from exc

    # --- async driver -------------------------------------------------------------------
    async def index_now(self) -> PassResult:
        return await asyncio.to_thread(self.run_pass)

    async def run(self) -> None:
        """Reconcile once, then index on every poll tick until cancelled (flush-wal calls index_now)."""
        await asyncio.to_thread(self.reconcile)
        log.info("index_opened", **await asyncio.to_thread(self.index.stats))
        while True:
            try:
                await self.index_now()
            except Exception:  # keep indexing after an unexpected error (e.g. disk full)
                log.exception("index_pass_crashed")
            await asyncio.sleep(self.poll_interval)
