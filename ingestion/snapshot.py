"""Hot snapshot: every unflushed span → SNAPSHOT_PATH (Parquet), plus the recent cold files.

Why: the backend queries cold Parquet through its index, which lags a flush; the hot snapshot
and the recent-cold list together make every acknowledged span visible without a gap. The list
of segments and the recent-cold paths are taken in one step under the WAL lock (the same lock a
flush commits under), and the segment descriptors are opened right there, so a concurrent flush
deleting them cannot make the snapshot miss or fail. Reading and writing happen outside the lock
in a worker thread, one row group at a time read from the segment files by position
(ingestion/wal_read.py), so memory is about one row group whatever the WAL size; exports are
never blocked.

Results are cached for PREPARE_HOT_SNAPSHOT_CACHE_TTL_MS counted from the data cut (so a span
acknowledged at t is in every snapshot requested after t + TTL; the recent-cold list is always fresh);
a flush invalidates the cache, so a snapshot never repeats spans that have become cold.
Once a cached snapshot is half a TTL old and spans have been committed since its cut, the next
request still gets it but starts one rebuild in the background: under steady queries a new span
becomes visible after about half a TTL plus one rebuild instead of a full TTL, which keeps
acknowledged → queryable under a second at the default TTL without rebuilding on every request.
A build ahead that a flush overtakes (segments retired while it runs) gives up at its next row
group: its result could never be served.
An empty WAL deletes any previous snapshot and answers with an empty path ("no hot tier").
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import structlog

from ingestion.disk import make_dirs_durably
from ingestion.flush import RecentCold
from ingestion.memory import ROW_GROUP_LOCK, release_memory
from ingestion.wal import Wal
from ingestion.wal_read import SegmentLayout, SegmentReader
from junjo_common.spanformat import CURRENT as span_format

log = structlog.get_logger("ingestion.snapshot")


class _Superseded(Exception):
    """A build ahead stopped because a flush retired segments while it ran."""


@dataclass(frozen=True)
class SnapshotResult:
    path: str
    row_count: int
    size_bytes: int
    recent_cold_paths: list[str] = field(default_factory=list)


class HotSnapshot:
    REFRESH_AHEAD_FRACTION = 0.5

    def __init__(self, wal: Wal, path: Path, recent: RecentCold, cache_ttl_secs: float) -> None:
        self.wal, self.path, self.recent, self.cache_ttl = wal, path, recent, cache_ttl_secs
        self._lock = threading.Lock()  # guards the cache; held by a request that must rebuild
        self._write_lock = threading.Lock()  # one writer of SNAPSHOT_PATH at a time
        self._cached: SnapshotResult | None = None
        self._cached_at = 0.0
        self._cached_version: tuple[int, int] = (-1, -1)
        self.refresh_thread: threading.Thread | None = None  # the running rebuild-ahead, if any

    def prepare(self) -> SnapshotResult:
        """Blocking; call from a worker thread."""
        with self._lock:
            age = time.monotonic() - self._cached_at
            if (
                self._cached is not None
                and self._cached.row_count
                and self._cached_version[0] == self.wal.generation
                and age < self.cache_ttl
            ):
                refreshing = self.refresh_thread is not None and self.refresh_thread.is_alive()
                if (
                    not refreshing
                    and age >= self.cache_ttl * self.REFRESH_AHEAD_FRACTION
                    and self._cached_version != self._data_version()
                ):
                    self.refresh_thread = threading.Thread(
                        target=self._refresh_ahead, name="snapshot-refresh", daemon=True
                    )
                    self.refresh_thread.start()
                return replace(self._cached, recent_cold_paths=self.recent.paths())
            result, cut, version = self._build()
            self._keep(result, cut, version)
            return result

    def _data_version(self) -> tuple[int, int]:
        """Changes when a flush retires segments or an append commits (bytes only grow between)."""
        return self.wal.generation, self.wal.unflushed_bytes()

    def _build(self, ahead: bool = False) -> tuple[SnapshotResult, float, tuple[int, int]]:
        """Writes SNAPSHOT_PATH from the WAL as it is now. A build ahead (`ahead`) gives up with
        _Superseded once a flush retires segments: its result could never be served, and a
        request that must rebuild would wait for it (slowed by that very flush), and acknowledged ->
        visible would then be the doomed build plus the rebuild."""
        with self._write_lock:
            cut = time.monotonic()  # the data cut: staleness is measured from here, not from the write
            version = self._data_version()  # taken first: at worst it is older than the data read
            with self.wal.lock:
                sources = self.wal.open_for_read()
                recent = self.recent.paths()
            try:
                current = (lambda: self.wal.generation == version[0]) if ahead else None
                return self._write(sources, recent, current), cut, version
            finally:
                for fd, _ in sources:
                    os.close(fd)
                release_memory()

    def _keep(self, result: SnapshotResult, cut: float, version: tuple[int, int]) -> None:
        """Caches a build unless a newer one is cached already (caller holds self._lock)."""
        if cut >= self._cached_at:
            self._cached, self._cached_at, self._cached_version = result, cut, version

    def _refresh_ahead(self) -> None:
        try:
            result, cut, version = self._build(ahead=True)
            with self._lock:
                self._keep(result, cut, version)
        except _Superseded:  # a flush made it stale: the next request rebuilds
            pass
        except Exception:  # the next request rebuilds synchronously and reports the error
            log.exception("hot_snapshot_refresh_failed")

    def _write(
        self, sources: list[tuple[int, int]], recent: list[str], current: Callable[[], bool] | None = None
    ) -> SnapshotResult:
        """`current()`, asked before each row group, says whether the build is still wanted."""
        reader = SegmentReader([SegmentLayout(fd, size) for fd, size in sources])
        if not reader.rows:
            self.path.unlink(missing_ok=True)
            return SnapshotResult("", 0, 0, recent)
        make_dirs_durably(self.path.parent)
        tmp = self.path.with_name(self.path.name + ".tmp")
        size = span_format.PARQUET_ROW_GROUP_SIZE
        try:
            with pq.ParquetWriter(
                str(tmp), span_format.SCHEMA, **span_format.parquet_writer_options(reader.rows)
            ) as writer:
                for first in range(0, reader.rows, size):
                    if current is not None and not current():
                        raise _Superseded
                    rows = pa.array(range(first, min(first + size, reader.rows)), pa.int64())
                    with ROW_GROUP_LOCK:
                        writer.write_table(reader.table(span_format.SCHEMA, rows), row_group_size=size)
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        os.replace(tmp, self.path)
        return SnapshotResult(str(self.path), reader.rows, self.path.stat().st_size, recent)
