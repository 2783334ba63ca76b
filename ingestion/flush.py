"""Cold flush: sealed WAL segments → date-partitioned Parquet, then the segments are deleted.

Why it is shaped like this:
- Bounded memory: segments are taken in chunks of at most FLUSH_MAX_MB (at least one segment)
  and each chunk becomes one Parquet file, so memory does not grow with the WAL. Rows are sorted
  by (service_name, start_time) *within each file* — the order DataFusion's row-group statistics
  need; a global sort across a huge backlog would need an external merge and is not worth it.
- Never blocks exports: a flush only reads sealed (immutable) segments, in a worker thread.
- Exactly once: before the Parquet file is published, an intent file in WAL_DIR names the file
  and its segments. If the process dies after publishing but before the segments are deleted,
  `resolve_intents` at start deletes them; if it dies before, the intent is discarded and the
  segments are flushed again later. Publishing is the cold store's business (cold_store.py):
  the rename into PARQUET_OUTPUT_DIR locally, a confirmed upload with object storage (a file
  whose upload failed is finished, under its name, before anything else is flushed).
- Hot/cold without a gap: the commit, dropping the segments from the live set and recording
  the file in the recent-cold list happen under the WAL lock that snapshots also take.
- Nothing lost quietly: each segment is read through the descriptor the WAL holds (its file may
  have vanished) with every batch's checksum checked; a damaged batch is logged with its offset
  and the segment copied to quarantine while every readable batch is still flushed; a row that
  fails validation (UTF-8, ids, required values) goes to quarantine instead of into Parquet, where
  it would make readers skip the whole file.

Files land in PARQUET_OUTPUT_DIR/year=YYYY/month=MM/day=DD/ by the UTC wall clock of the flush
(as the reference does), named `<YYYYMMDD_HHMMSS>_<nanos hex>_<first segment>_<n>_<ingester id>.parquet`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import threading
import time
from collections import deque
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import structlog

from ingestion.cold_store import ColdStore
from ingestion.disk import describe, fsync_dir, make_dirs_durably
from ingestion.memory import ROW_GROUP_LOCK, release_memory
from ingestion.wal import Segment, Wal, keep_aside
from ingestion.wal_format import Damage
from ingestion.wal_read import SegmentLayout, SegmentReader
from junjo_common.spanformat import CURRENT as span_format

log = structlog.get_logger("ingestion.flush")


class RecentCold:
    """Recently flushed cold files, newest first, bounded by count and age (RECENT_COLD_MAX_*)."""

    def __init__(self, max_files: int, max_age_secs: float) -> None:
        self.max_files, self.max_age = max_files, max_age_secs
        self._items: deque[tuple[str, float]] = deque()
        self._lock = threading.Lock()

    def add(self, path: str) -> None:
        if self.max_files <= 0:
            return
        with self._lock:
            self._items.appendleft((path, time.monotonic()))
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


# The JSON columns hold most of a span's bytes (~90 % in the standard workload): they are never
# read whole, each row group reads its own rows of them straight from the segment files.
_HEAVY = frozenset({"attributes", "events"})
_LIGHT = pa.schema([field for field in span_format.SCHEMA if field.name not in _HEAVY])
# Read per row group as well: the reader gives each row group a dictionary of only its own values.
_PER_ROW_GROUP = _HEAVY | frozenset(span_format.DICTIONARY_COLUMNS)


def _sort_order(light: pa.Table) -> pa.Array:
    """Row order by span_format.SORT_COLUMNS; a dictionary column sorts by its values' rank (Arrow does
    not sort dictionary columns, and decoding one would repeat its values in every row)."""
    keys = {}
    for name, _ in span_format.SORT_COLUMNS:
        column = light.column(name).combine_chunks()
        if pa.types.is_dictionary(column.type):
            ranks = pc.rank(column.dictionary, sort_keys="ascending", tiebreaker="dense")
            column = ranks.take(column.indices)
        keys[name] = column
    return pc.sort_indices(pa.table(keys), sort_keys=list(span_format.SORT_COLUMNS))


_ID_PATTERNS = {
    "span_id": "^[0-9a-f]{16}$",
    "trace_id": "^[0-9a-f]{32}$",
    "parent_span_id": "^[0-9a-f]{16}$",
}


def _valid_rows(table: pa.Table) -> pa.Array | None:
    """A mask of the rows fit for Parquet (None: all of them): UTF-8 text, hex ids of the right
    length, no null where the schema forbids one. A row with invalid UTF-8 would make readers
    skip its whole file, so it must never get in."""
    try:
        table.validate(full=True)
    except pa.ArrowInvalid:
        return pa.array(_valid_rows_one_by_one(table), pa.bool_())
    ok = None
    for field in table.schema:
        column = table.column(field.name)
        checks = []
        if not field.nullable:
            checks.append(pc.is_valid(column))
        if field.name in _ID_PATTERNS:
            checks.append(pc.fill_null(pc.match_substring_regex(column, _ID_PATTERNS[field.name]), True))
        for check in checks:
            ok = check if ok is None else pc.and_(ok, check)
    if ok is None or pc.all(ok).as_py():
        return None
    return ok.combine_chunks() if isinstance(ok, pa.ChunkedArray) else ok


def _valid_rows_one_by_one(table: pa.Table) -> list[bool]:
    """The slow path, only for a row group that failed validation: which rows are at fault."""
    ok = [True] * table.num_rows
    for field in table.schema:
        if not pa.types.is_string(field.type):
            continue
        pattern = re.compile(_ID_PATTERNS[field.name]) if field.name in _ID_PATTERNS else None
        for i, raw in enumerate(table.column(field.name).cast(pa.binary()).to_pylist()):
            if raw is None:
                ok[i] = ok[i] and field.nullable
                continue
            try:
                text = raw.decode()
            except UnicodeDecodeError:
                ok[i] = False
                continue
            if pattern is not None and not pattern.match(text):
                ok[i] = False
    return ok


def write_sorted_parquet(reader: SegmentReader, final: Path, quarantine: Path | None = None) -> Path:
    """Writes the reader's rows sorted by span_format.SORT_COLUMNS to `final.tmp` (fsync'd); returns it.

    The caller renames it to publish. Memory: the light columns are read once, whole and in
    order (a few hundred bytes per row); the sort runs on the two key columns only; each row group
    then takes its rows of the light columns and reads its rows of the heavy ones from the files
    (ingestion/wal_read.py: pread, no map). So the peak is the light columns plus one row group
    and its encoding. Few calls into Arrow per row group, on purpose: each may release the GIL,
    and under load retaking it from this worker waits up to a switch interval behind the event
    loop (docs/PERFORMANCE.md); the heavy reads (megabytes) run without the GIL, so exports keep
    being served meanwhile. Rows that fail validation are left out and written to `quarantine`
    (an Arrow IPC file named after the Parquet file), never into the Parquet file.
    """
    with ROW_GROUP_LOCK:
        light = reader.table(_LIGHT)
    order = _sort_order(light)
    make_dirs_durably(final.parent)
    tmp = final.with_name(final.name + ".tmp")
    rejected: list[pa.Table] = []
    try:
        with pq.ParquetWriter(
            str(tmp), span_format.SCHEMA, **span_format.parquet_writer_options(len(order))
        ) as writer:
            for first in range(0, len(order), span_format.PARQUET_ROW_GROUP_SIZE):
                with ROW_GROUP_LOCK:
                    rows = order.slice(first, span_format.PARQUET_ROW_GROUP_SIZE)
                    part = light.take(rows)
                    arrays = [
                        reader.column(field, rows)
                        if field.name in _PER_ROW_GROUP
                        else part.column(field.name)
                        for field in span_format.SCHEMA
                    ]
                    table = pa.Table.from_arrays(arrays, schema=span_format.SCHEMA)
                    valid = _valid_rows(table)
                    if valid is not None:
                        rejected.append(table.filter(pc.invert(valid)))
                        table = table.filter(valid)
                    writer.write_table(table, row_group_size=span_format.PARQUET_ROW_GROUP_SIZE)
                    del part, arrays, table
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        if rejected:
            _keep_rejected_rows(pa.concat_tables(rejected), quarantine, final)
    except BaseException:
        tmp.unlink(missing_ok=True)  # e.g. disk full: the segments stay and are retried later
        raise
    return tmp


def _keep_rejected_rows(rows: pa.Table, quarantine: Path | None, final: Path) -> None:
    if quarantine is None:
        log.error("invalid_rows_dropped", rows=rows.num_rows, parquet=final.name)
        return
    target = quarantine / f"rows-{final.stem}.arrow"
    log.error("invalid_rows_quarantined", rows=rows.num_rows, parquet=final.name, quarantined=str(target))
    make_dirs_durably(quarantine)
    with pa.OSFile(str(target), "wb") as sink, pa.ipc.new_file(sink, rows.schema) as writer:
        writer.write_table(rows)
    with open(target, "rb+") as f:
        os.fsync(f.fileno())


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


def _read_intent(intent: Path) -> tuple[Path, list[str]] | None:
    """(the Parquet file, its segment names) of an intent record, or None when it is unreadable."""
    try:
        record = orjson.loads(intent.read_bytes())
        return Path(record["parquet"]), [Path(str(s)).name for s in record["segments"]]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        log.warning("flush_intent_unreadable", intent=intent.name)
        return None


def resolve_intents(wal_dir: Path, cold: ColdStore) -> int:
    """Finishes or discards flushes interrupted by a crash; returns how many were finished.

    A flush whose file cannot be published now (the bucket is unreachable) keeps its intent: its
    segments are recovered as usual, and the flusher finishes it before it flushes anything else.
    """
    finished = 0
    if not wal_dir.is_dir():
        return 0
    for intent in sorted(wal_dir.glob("flush-*.intent")):
        record = _read_intent(intent)
        if record is None:
            intent.unlink()
            continue
        parquet, segments = record
        try:
            published = cold.finish(parquet)
        except OSError as exc:
            log.error("flush_unfinished", parquet=parquet.name, error=str(exc))
            continue
        if published:
            for name in segments:
                (wal_dir / name).unlink(missing_ok=True)
            fsync_dir(wal_dir)
            cold.release(parquet)
            finished += 1
        else:
            parquet.with_name(parquet.name + ".tmp").unlink(missing_ok=True)
        intent.unlink()
    fsync_dir(wal_dir)
    return finished


class Flusher:
    """Turns sealed segments into Parquet files; one flush at a time (callers serialize)."""

    def __init__(
        self, wal: Wal, output_dir: Path, chunk_max_bytes: int, recent: RecentCold, cold: ColdStore
    ) -> None:
        self.wal, self.output_dir, self.recent, self.cold = wal, output_dir, recent, cold
        self.chunk_max_bytes = chunk_max_bytes
        self._counter = 0
        self.ingester_id = ""  # set at start: keeps names unique among ingesters sharing the output
        # Held by the worker thread for the whole flush: an awaiting caller that is cancelled
        # (shutdown, a FlushWAL deadline) cannot let a second flush take the same segments.
        self._lock = threading.Lock()

    def flush(self, segments: list[Segment]) -> list[str]:
        """Flushes the given sealed segments (oldest first) in bounded chunks; returns the files'
        locations (paths, or object URLs with object storage)."""
        files: list[str] = []
        with self._lock:
            try:
                self._finish_interrupted()
                for chunk in _chunks(self.wal.still_sealed(segments), self.chunk_max_bytes):
                    path = self._flush_chunk(chunk)
                    if path is not None:
                        files.append(path)
            finally:
                release_memory()
        return files

    def _finish_interrupted(self) -> None:
        """Publishes files an earlier flush wrote but could not publish (an upload that failed, in
        this process or before a restart) before anything else is flushed: until then their
        segments stay in the WAL (and in the hot tier), and they are never flushed into a second
        file. Raises OSError while the store is unreachable, so the whole flush waits."""
        for intent in sorted(self.wal.dir.glob("flush-*.intent")) if self.wal.dir.is_dir() else []:
            record = _read_intent(intent)
            if record is None:
                intent.unlink()
                continue
            final, names = record
            if not self.cold.finish(final):
                final.with_name(final.name + ".tmp").unlink(missing_ok=True)
                intent.unlink()
                continue
            chunk = [seg for seg in self.wal.sealed() if seg.path.name in names]
            with self.wal.lock:
                location = self.cold.commit(final, final)
                self.wal.forget(chunk)
                self.recent.add(location)
            self._retire(chunk, final, intent)
            log.info("flush_finished", file=location, segments=len(chunk))

    def _retire(self, chunk: list[Segment], final: Path, intent: Path | None) -> None:
        """After the commit: the segments' files go, then the local copy (if the store keeps one
        elsewhere), then the intent."""
        self.cold.settle(final)
        for seg in chunk:
            seg.close()
            seg.path.unlink(missing_ok=True)
        fsync_dir(self.wal.dir)
        self.cold.release(final)
        if intent is not None:
            intent.unlink(missing_ok=True)

    def _target(self, first_seq: int) -> Path:
        now_ns = time.time_ns()
        now = datetime.fromtimestamp(now_ns / 1e9, UTC)
        self._counter += 1
        name = f"{now:%Y%m%d_%H%M%S}_{now_ns % 1_000_000_000:08x}_{first_seq:016d}_{self._counter}"
        name += f"_{self.ingester_id}.parquet" if self.ingester_id else ".parquet"
        return self.output_dir / f"year={now:%Y}" / f"month={now:%m}" / f"day={now:%d}" / name

    def _flush_chunk(self, chunk: list[Segment]) -> str | None:
        started = time.monotonic()
        layouts: list[SegmentLayout] = []
        try:
            for seg in chunk:
                layouts.append(self._layout(seg))
            reader = SegmentReader(layouts)
            rows = reader.rows
            final = self._target(chunk[0].seq) if rows else None
            if final is not None:
                tmp = write_sorted_parquet(reader, final, self.wal.quarantine)
        finally:
            for layout in layouts:
                layout.close()
        self.wal.ensure_dir()  # the intent and the deletions below need it
        location = None
        if final is not None:
            intent = self.wal.dir / f"flush-{final.stem}.intent"
            intent_tmp = intent.with_name(intent.name + ".tmp")
            intent_tmp.write_bytes(
                orjson.dumps({"parquet": str(final), "segments": [seg.path.name for seg in chunk]})
            )
            with open(intent_tmp, "rb+") as f:
                os.fsync(f.fileno())
            os.replace(intent_tmp, intent)
            fsync_dir(self.wal.dir)
            self.cold.stage(tmp, final)  # a failure leaves the intent: the next flush finishes it
            with self.wal.lock:  # commit point, atomic with respect to snapshots
                location = self.cold.commit(tmp, final)
                self.wal.forget(chunk)
                self.recent.add(location)
            self._retire(chunk, final, intent)
        else:
            with self.wal.lock:
                self.wal.forget(chunk)
            for seg in chunk:
                seg.close()
                seg.path.unlink(missing_ok=True)
            fsync_dir(self.wal.dir)
        log.info(
            "wal_flushed",
            file=location,
            rows=rows,
            segments=len(chunk),
            seconds=round(time.monotonic() - started, 3),
        )
        return location

    def _layout(self, seg: Segment) -> SegmentLayout:
        """The segment's readable batches, read from its descriptor (its file may have vanished);
        anything unreadable is logged with its offset and the segment kept in quarantine."""
        if os.fstat(seg.fd).st_nlink == 0:
            log.error("wal_segment_vanished", segment=seg.path.name, flushed_from="descriptor")
        layout = SegmentLayout(seg.fd, seg.size, verify=True)
        damage = list(layout.damage)
        if seg.sealed and not layout.ended:
            damage.append(Damage(seg.size, 0, "no end-of-stream marker"))
        if damage:
            keep_aside(self.wal.quarantine, seg.path.name, seg.fd, seg.size, damage)
        return layout


class FlushScheduler:
    """Decides when to flush (FLUSH_MAX_MB, FLUSH_MAX_AGE_SECS, FlushWAL, shutdown, or a request:
    a full disk, a vanished segment); one at a time.

    The flush itself runs in a worker thread; the event loop only waits for it. `failure` holds
    why the last flush failed until one succeeds (backpressure names it).
    """

    CHECK_INTERVAL_SECS = 1.0

    def __init__(self, wal: Wal, flusher: Flusher, max_bytes: int, max_age_secs: float) -> None:
        self.wal, self.flusher = wal, flusher
        self.max_bytes, self.max_age = max_bytes, max_age_secs
        self.failure: str | None = None
        self._requested = False
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()

    def wake_threadsafe(self, loop: asyncio.AbstractEventLoop) -> None:
        """From the WAL writer thread; a closed loop (a store abandoned without stop) has nothing
        left to wake."""
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(self._wake.set)

    def request(self) -> None:
        """Flush as soon as possible, due or not (on the event loop)."""
        self._requested = True
        self._wake.set()

    def due(self) -> bool:
        if self._requested or self.wal.unflushed_bytes() >= self.max_bytes:
            return True
        oldest = self.wal.oldest_created()
        return oldest is not None and time.time() - oldest >= self.max_age

    async def flush_all(self) -> list[str]:
        """Seals the active segment and flushes everything written before this call."""
        async with self._lock:
            await self.wal.seal_active()
            segments = self.wal.sealed()
            if not segments:
                return []
            try:
                files = await asyncio.to_thread(self.flusher.flush, segments)
            except OSError as exc:
                self.failure = describe(exc)
                raise
            self.failure = None
            return files

    async def run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.CHECK_INTERVAL_SECS)
            self._wake.clear()
            if self.due():
                self._requested = False
                try:
                    await self.flush_all()
                except Exception:
                    log.exception("wal_flush_failed")
                    await asyncio.sleep(self.CHECK_INTERVAL_SECS)
