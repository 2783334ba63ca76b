"""The background indexer: finds new cold Parquet files and records them in metadata.db.

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
from pathlib import Path

import pyarrow as pa
import structlog

from backend.index.retention import RetentionPolicy, apply_retention
from backend.index.store import MetadataIndex
from backend.index.summary import UnreadableFile, summarize

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


def _scan(root: Path) -> list[Path]:
    """Published cold files under `root` (tmp files and hidden/tmp directories are skipped)."""
    if not root.is_dir():
        return []
    found = []
    for path in root.rglob("*.parquet"):
        rel = path.relative_to(root).parts
        if any(p.startswith(".") or p == "tmp" for p in rel[:-1]) or rel[-1].startswith("."):
            continue
        if path.is_file():
            found.append(path)
    return sorted(found)


class Indexer:
    def __init__(
        self,
        index: MetadataIndex,
        storage_root: Path,
        poll_interval: float,
        retention: RetentionPolicy | None = None,
        retry_backoff: float = RETRY_BACKOFF_SECS,
    ) -> None:
        self.index = index
        self.storage_root = storage_root
        self.poll_interval = poll_interval
        self.retention = retention or RetentionPolicy()
        self.retry_backoff = retry_backoff
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self._lock = threading.Lock()

    # --- blocking work (worker threads) ---------------------------------------------------
    def reconcile(self) -> int:
        """Drops index rows (and failure records) of files that no longer exist."""
        gone = [
            p for p in self.index.indexed_paths() | set(self.index.failed_files()) if not Path(p).exists()
        ]
        removed = self.index.forget(gone)
        if gone:
            log.info("index_reconciled", removed_files=len(gone))
        return removed

    def _due(self, path: Path, known: set[str], failed: dict, now: float) -> bool:
        key = str(path)
        if key in known:
            return False
        record = failed.get(key)
        if record is None:
            return True
        try:
            st = path.stat()
        except FileNotFoundError:
            return False
        return now >= record.next_retry_at or (st.st_size, st.st_mtime_ns) != (
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
        due = [p for p in _scan(self.storage_root) if self._due(p, known, failed, now)]
        due.extend(Path(p) for p in self.index.paths_without_keys())  # indexed by schema v1
        for path in due[:MAX_FILES_PER_PASS]:
            if not self.index.take_lease(LEASE_NAME, self.owner, LEASE_SECONDS):
                log.warning("index_lease_lost", owner=self.owner)
                break
            try:
                summary = summarize(path)
            except UnreadableFile as exc:
                if str(path) in known:  # indexed by schema v1, now unreadable or gone
                    self.index.forget([str(path)])
                if not path.exists():
                    continue  # deleted meanwhile (retention, operator): nothing to record
                st = path.stat()
                failures = self.index.record_failure(
                    str(path), str(exc), st.st_size, st.st_mtime_ns, self.retry_backoff
                )
                log.warning("index_file_failed", path=str(path), error=str(exc), failures=failures)
                result.failed.append(str(path))
                continue
            self.index.add_file(summary)
            result.indexed.append(str(path))
        if result.indexed:
            log.info("index_files_added", count=len(result.indexed))
        result.deleted = apply_retention(self.index, self.retention, time.time_ns())

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
