"""Cold flush: sealed WAL segments → date-partitioned Parquet, then the segments are deleted.

Why it is shaped like this:
- Bounded memory: segments are taken in chunks of at most FLUSH_MAX_MB (at least one segment)
  and each chunk becomes one Parquet file, so memory does not grow with the WAL. Rows are sorted
  by (service_name, start_time) *within each file* — the order DataFusion's row-group statistics
  need; a global sort across a huge backlog would need an external merge and is not worth it.
- Never blocks exports: a flush only reads sealed (immutable) segments, in a worker thread.
- Exactly once: before the Parquet file is published (rename), an intent file in WAL_DIR names
  the file and its segments. If the process dies after the rename but before the segments are
  deleted, `resolve_intents` at start deletes them; if it dies before the rename, the intent is
  discarded and the segments are flushed again later. The rename is the commit point.
- Hot/cold without a gap: the rename, dropping the segments from the live set and recording
  the file in the recent-cold list happen under the WAL lock that snapshots also take.

Files land in PARQUET_OUTPUT_DIR/year=YYYY/month=MM/day=DD/ by the UTC wall clock of the flush
(as the reference does), named `<YYYYMMDD_HHMMSS>_<nanos hex>_<first segment>.parquet`.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import structlog

from ingestion.wal import MappedSegment, Segment, Wal, fsync_dir
from junjo_common.spanformat import v1

try:
    from ingestion._fastconvert import gather_strings
except ImportError:  # not built: flushes copy the JSON columns whole too (Arrow's take needs that)
    gather_strings = None

log = structlog.get_logger("ingestion.flush")


class RecentCold:
    """Recently flushed cold files, newest first, bounded by count and age (RECENT_COLD_MAX_*)."""

    def __init__(self, max_files: int, max_age_secs: float) -> None:
        self.max_files, self.max_age = max_files, max_age_secs
        self._items: deque[tuple[str, float]] = deque()
        self._lock = threading.Lock()

    def add(self, path: Path) -> None:
        if self.max_files <= 0:
            return
        with self._lock:
            self._items.appendleft((str(path), time.monotonic()))
            self._prune()

    def paths(self) -> list[str]:
        with self._lock:
            self._prune()
            return [p for p, _ in self._items]

    def _prune(self) -> None:
        while len(self._items) > self.max_files:
            self._items.pop()
        if self.max_age > 0:
            cutoff = time.monotonic() - self.max_age
            while self._items and self._items[-1][1] < cutoff:
                self._items.pop()


_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")


def release_memory() -> None:
    """Hands freed memory back to the OS after a flush or snapshot (glibc heap and Arrow's pool).

    Without it RSS stays at the high-water mark of the last flush (measured: 175 → 138 MB).
    """
    pa.default_memory_pool().release_unused()
    _libc.malloc_trim(0)


def make_dirs_durably(directory: Path) -> None:
    """mkdir -p, fsyncing each parent whose entries changed, so a published file survives a crash."""
    missing = []
    while not directory.exists():
        missing.append(directory)
        directory = directory.parent
    for d in reversed(missing):
        d.mkdir(exist_ok=True)
        fsync_dir(d.parent)


# One memory peak at a time in the whole process: a row group being built and encoded (cold flush
# or hot snapshot) or a flush copying its chunk out of the WAL, so the flush's and a snapshot's
# peaks never add up; each holds it for tens of milliseconds at a time.
ROW_GROUP_LOCK = threading.Lock()


# The JSON columns hold most of a span's bytes. With the compiled helper they are never copied
# whole: each row group gathers its rows straight from the mapped segments into buffers of
# Arrow's pool (Arrow's chunked take would concatenate the chunks first: +36 MB for an 8 MB
# result, measured).
_GATHERED = frozenset({"attributes", "events"}) if gather_strings is not None else frozenset()


# Rows of a row group lie all over the chunk (sorted by start time, stored in arrival order):
# the mapped pages a gather touches are dropped every this many rows, so they never add up to
# the whole chunk (measured: file-backed RSS +25 MB per row group without it).
_GATHER_PAGES_EVERY = 512


def _gather_sources(column: pa.ChunkedArray) -> list[tuple[int, int, int, int, int, int]]:
    """What `gather_strings` reads of a string column's chunks: their buffers' addresses and sizes."""
    sources = []
    for chunk in column.chunks:
        validity, offsets, data = chunk.buffers()
        sources.append((offsets.address, data.address if data is not None else 0,
                        validity.address if validity is not None else 0, chunk.offset, len(chunk),
                        data.size if data is not None else 0))
    return sources


def _gather(sources: list[tuple[int, int, int, int, int, int]], rows: pa.Array,
            drop_pages: Callable[[], None]) -> pa.Array:
    """`column.take(rows)` for the string column `sources` describes, without concatenating it.

    The caller keeps the column alive (its buffers are read by address)."""
    wanted = rows.buffers()[1].slice(rows.offset * 8, len(rows) * 8)  # uint64 read as int64
    assert gather_strings is not None  # _GATHERED is empty without it
    offsets, data, validity, nulls = gather_strings(sources, wanted, pa.allocate_buffer,
                                                    _GATHER_PAGES_EVERY, drop_pages)
    return pa.Array.from_buffers(pa.string(), len(rows), [validity, offsets, data], null_count=nulls)


def write_sorted_parquet(segments: list[MappedSegment], final: Path) -> Path:
    """Writes the segments' rows sorted by v1.SORT_COLUMNS to `final.tmp` (fsync'd); returns it.

    The caller renames it to publish, and closes the segments afterwards. Memory: the light
    columns are copied out of the mapped segments once, column by column, into one contiguous
    table (each column's pages dropped after its copy, so the mapped file never sits in RSS
    whole); the JSON columns stay in the mapped segments (`_GATHERED`). The sort runs on the two
    key columns only; each row group is then taken and gathered on its own, written, and the
    mapped pages it touched are dropped. So the peak is the light columns plus one row group.
    The flush makes few calls into Arrow on purpose: each releases the GIL, and under load
    retaking it from this worker thread waits up to a switch interval behind the event loop;
    gathering each row group batch by batch through Arrow (tried: ~300 calls) made flushes
    twice as slow under saturation (docs/PERFORMANCE.md). The compiled gather holds the GIL
    (a memcpy of a few MB).
    """
    columns: dict[str, pa.Array | pa.ChunkedArray] = {}
    with ROW_GROUP_LOCK:  # the copy's transient peak (a column mapped and copied) is one too
        for field in v1.SCHEMA:
            chunks = pa.chunked_array(
                [chunk for seg in segments for chunk in seg.table.column(field.name).chunks], field.type)
            columns[field.name] = chunks if field.name in _GATHERED else chunks.combine_chunks()
            for seg in segments:
                seg.drop_pages()
    keys = pa.Table.from_arrays([columns[name] for name, _ in v1.SORT_COLUMNS],
                                names=[name for name, _ in v1.SORT_COLUMNS])
    order = pc.sort_indices(keys, sort_keys=list(v1.SORT_COLUMNS))
    light = pa.Table.from_arrays([c for name, c in columns.items() if name not in _GATHERED],
                                 names=[name for name in columns if name not in _GATHERED])
    sources = {name: _gather_sources(columns[name]) for name in _GATHERED}  # once, not per row group
    make_dirs_durably(final.parent)
    tmp = final.with_name(final.name + ".tmp")

    def drop_pages() -> None:
        for seg in segments:
            seg.drop_pages()

    try:
        with pq.ParquetWriter(str(tmp), v1.SCHEMA, **v1.parquet_writer_options(len(order))) as writer:
            for first in range(0, len(order), v1.PARQUET_ROW_GROUP_SIZE):
                with ROW_GROUP_LOCK:
                    rows = order.slice(first, v1.PARQUET_ROW_GROUP_SIZE)
                    part = light.take(rows)
                    arrays = [_gather(sources[field.name], rows, drop_pages) if field.name in _GATHERED
                              else part.column(field.name) for field in v1.SCHEMA]
                    writer.write_table(pa.Table.from_arrays(arrays, schema=v1.SCHEMA),
                                       row_group_size=v1.PARQUET_ROW_GROUP_SIZE)
                    del part, arrays
                    drop_pages()
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)  # e.g. disk full: the segments stay and are retried later
        raise
    return tmp


def _chunks(segments: list[Segment], max_bytes: int) -> list[list[Segment]]:
    chunks: list[list[Segment]] = []
    current: list[Segment] = []
    size = 0
    for seg in segments:
        if current and size + seg.size > max_bytes:
            chunks.append(current)
            current, size = [], 0
        current.append(seg)
        size += seg.size
    if current:
        chunks.append(current)
    return chunks


def resolve_intents(wal_dir: Path) -> int:
    """Finishes or discards flushes interrupted by a crash; returns how many were finished."""
    finished = 0
    if not wal_dir.is_dir():
        return 0
    for intent in sorted(wal_dir.glob("flush-*.intent")):
        try:
            record = orjson.loads(intent.read_bytes())
            parquet = Path(record["parquet"])
            segments = [str(s) for s in record["segments"]]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            log.warning("flush_intent_unreadable", intent=intent.name)
            intent.unlink()
            continue
        if parquet.exists():
            for name in segments:
                (wal_dir / Path(name).name).unlink(missing_ok=True)
            finished += 1
        else:
            parquet.with_name(parquet.name + ".tmp").unlink(missing_ok=True)
        intent.unlink()
    fsync_dir(wal_dir)
    return finished


class Flusher:
    """Turns sealed segments into Parquet files; one flush at a time (callers serialize)."""

    def __init__(self, wal: Wal, output_dir: Path, chunk_max_bytes: int, recent: RecentCold) -> None:
        self.wal, self.output_dir, self.recent = wal, output_dir, recent
        self.chunk_max_bytes = chunk_max_bytes
        self._counter = 0
        # Held by the worker thread for the whole flush: an awaiting caller that is cancelled
        # (shutdown, a FlushWAL deadline) cannot let a second flush take the same segments.
        self._lock = threading.Lock()

    def flush(self, segments: list[Segment]) -> list[Path]:
        """Flushes the given sealed segments (oldest first) in bounded chunks; returns the files."""
        files: list[Path] = []
        with self._lock:
            try:
                for chunk in _chunks(self.wal.still_sealed(segments), self.chunk_max_bytes):
                    path = self._flush_chunk(chunk)
                    if path is not None:
                        files.append(path)
            finally:
                release_memory()
        return files

    def _target(self, first_seq: int) -> Path:
        now_ns = time.time_ns()
        now = datetime.fromtimestamp(now_ns / 1e9, UTC)
        self._counter += 1
        name = f"{now:%Y%m%d_%H%M%S}_{now_ns % 1_000_000_000:08x}_{first_seq:016d}_{self._counter}.parquet"
        return self.output_dir / f"year={now:%Y}" / f"month={now:%m}" / f"day={now:%d}" / name

    def _flush_chunk(self, chunk: list[Segment]) -> Path | None:
        started = time.monotonic()
        mapped = [MappedSegment.open(seg.path) for seg in chunk]
        try:
            rows = sum(m.table.num_rows for m in mapped)
            final = self._target(chunk[0].seq) if rows else None
            if final is not None:
                tmp = write_sorted_parquet(mapped, final)
        finally:
            for m in mapped:
                m.close()
        if final is not None:
            intent = self.wal.dir / f"flush-{final.stem}.intent"
            intent_tmp = intent.with_name(intent.name + ".tmp")
            intent_tmp.write_bytes(orjson.dumps({"parquet": str(final),
                                                 "segments": [seg.path.name for seg in chunk]}))
            with open(intent_tmp, "rb+") as f:
                os.fsync(f.fileno())
            os.replace(intent_tmp, intent)
            fsync_dir(self.wal.dir)
            with self.wal.lock:  # commit point, atomic with respect to snapshots
                os.replace(tmp, final)
                self.wal.forget(chunk)
                self.recent.add(final)
            fsync_dir(final.parent)
        else:
            intent = None
            with self.wal.lock:
                self.wal.forget(chunk)
        for seg in chunk:
            seg.path.unlink(missing_ok=True)
        fsync_dir(self.wal.dir)
        if intent is not None:
            intent.unlink(missing_ok=True)
        log.info("wal_flushed", file=str(final) if final else None, rows=rows, segments=len(chunk),
                 seconds=round(time.monotonic() - started, 3))
        return final


class FlushScheduler:
    """Decides when to flush (FLUSH_MAX_MB, FLUSH_MAX_AGE_SECS, FlushWAL, shutdown); one at a time.

    The flush itself runs in a worker thread; the event loop only waits for it.
    """

    CHECK_INTERVAL_SECS = 1.0

    def __init__(self, wal: Wal, flusher: Flusher, max_bytes: int, max_age_secs: float) -> None:
        self.wal, self.flusher = wal, flusher
        self.max_bytes, self.max_age = max_bytes, max_age_secs
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()

    def wake_threadsafe(self, loop: asyncio.AbstractEventLoop) -> None:
        loop.call_soon_threadsafe(self._wake.set)

    def due(self) -> bool:
        if self.wal.unflushed_bytes() >= self.max_bytes:
            return True
        oldest = self.wal.oldest_created()
        return oldest is not None and time.time() - oldest >= self.max_age

    async def flush_all(self) -> list[Path]:
        """Seals the active segment and flushes everything written before this call."""
        async with self._lock:
            await self.wal.seal_active()
            segments = self.wal.sealed()
            if not segments:
                return []
            files = await asyncio.to_thread(self.flusher.flush, segments)
            return files

    async def run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.CHECK_INTERVAL_SECS)
            self._wake.clear()
            if self.due():
                try:
                    await self.flush_all()
                except Exception:
                    log.exception("wal_flush_failed")
                    await asyncio.sleep(self.CHECK_INTERVAL_SECS)
