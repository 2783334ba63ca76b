"""The write-ahead log: Arrow IPC stream segments in WAL_DIR, group commit, fsync before ack.

Why: an Export is acknowledged only once its spans are on disk (docs/PROTOCOLS.md). One writer
thread owns the active segment; every export that arrives while it is busy joins the next group,
so N concurrent exports cost one write and one fsync. Flush and snapshot never touch the active
segment's writer: they work on sealed segments (and a committed prefix of the active one), so
exports never wait for them.

Files in WAL_DIR:
- `wal-<seq>.ipc.open`  the active segment (schema message, then record batches appended);
- `wal-<seq>.ipc`       a sealed segment (renamed from `.open` after an EOS marker and fsync);
- `flush-<id>.intent`   a flush in progress (see flush.py; resolved by `resolve_intents` at start);
- `.lock`               flock'ed by the one process allowed to write this WAL.
At start `recover()` turns every `.open` segment into a sealed one holding its complete batches
(a torn tail — a batch cut short by a crash — was never acknowledged and is dropped).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import structlog

from junjo_common.spanformat import CURRENT as span_format

log = structlog.get_logger("ingestion.wal")

_SEGMENT_RE = re.compile(r"^wal-(\d{16})\.ipc$")
_OPEN_RE = re.compile(r"^wal-(\d{16})\.ipc\.open$")
_EOS = b"\xff\xff\xff\xff\x00\x00\x00\x00"


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def segment_name(seq: int) -> str:
    return f"wal-{seq:016d}.ipc"


@dataclass
class Segment:
    """A sealed segment: immutable on disk until a flush deletes it."""

    seq: int
    path: Path
    size: int
    created: float  # wall clock seconds, for FLUSH_MAX_AGE_SECS


@dataclass
class RecoveryReport:
    sealed: int = 0
    recovered_open: int = 0
    recovered_rows: int = 0
    dropped_tail_bytes: int = 0


def read_complete_batches(data: pa.Buffer | bytes) -> tuple[list[pa.RecordBatch], int]:
    """Reads every complete batch of an IPC stream; returns them and the count of torn-tail bytes."""
    buf = pa.py_buffer(data) if isinstance(data, bytes) else data
    batches: list[pa.RecordBatch] = []
    source = pa.BufferReader(buf)
    try:
        reader = pa.ipc.open_stream(source)
    except (pa.ArrowInvalid, OSError):
        return batches, buf.size
    good = source.tell()
    while True:
        try:
            batches.append(reader.read_next_batch())
        except StopIteration:
            break
        except (pa.ArrowInvalid, OSError):
            return batches, buf.size - good
        good = source.tell()
    return batches, 0


class Wal:
    """Segmented WAL with a group-commit writer thread.

    `append()` is called from the event loop; the writer thread serializes, writes and fsyncs
    whole groups and resolves the callers' futures. Sealed segments are listed for flush and
    snapshot through `sealed()` / `open_for_read()` under `lock`.
    """

    def __init__(self, directory: Path, segment_max_bytes: int) -> None:
        self.dir = directory
        self.segment_max_bytes = segment_max_bytes
        self.lock = threading.Lock()  # guards _sealed and the active segment's identity/size
        self._sealed: dict[int, Segment] = {}
        self._next_seq = 1
        self._cond = threading.Condition()
        self._queue: list[tuple[list[pa.RecordBatch], asyncio.Future[None]]] = []
        self._seal_waiters: list[Callable[[], None]] = []
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        # Active segment state: written only by the writer thread, read under `lock`.
        self._fd: int | None = None
        self._active_seq = 0
        self._active_path: Path | None = None
        self._active_size = 0
        self._active_created = 0.0
        self._schema_bytes = span_format.SCHEMA.serialize().to_pybytes()
        self._lock_fd: int | None = None
        self.on_segment_sealed: Callable[[], None] = lambda: None
        self.generation = 0  # bumped whenever flushed segments leave the live set

    # --- start-up ---------------------------------------------------------------------------

    def recover(self) -> RecoveryReport:
        """Seals interrupted segments (keeping complete batches) and lists the sealed ones."""
        self.lock_dir()
        report = RecoveryReport()
        for tmp in self.dir.glob("*.tmp"):
            tmp.unlink()
        max_seq = 0
        for path in sorted(self.dir.iterdir()):
            m = _OPEN_RE.match(path.name)
            if not m:
                continue
            seq = int(m.group(1))
            max_seq = max(max_seq, seq)
            batches, torn = read_complete_batches(path.read_bytes())
            report.dropped_tail_bytes += torn
            rows = sum(b.num_rows for b in batches)
            if rows:
                final = self.dir / segment_name(seq)
                tmp = final.with_name(final.name + ".tmp")
                with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_stream(sink, span_format.SCHEMA) as writer:
                    for b in batches:
                        writer.write_batch(b)
                with open(tmp, "rb+") as f:
                    os.fsync(f.fileno())
                os.replace(tmp, final)
                report.recovered_open += 1
                report.recovered_rows += rows
            path.unlink()
            if torn:
                log.warning("wal_torn_tail_dropped", segment=path.name, bytes=torn, kept_rows=rows)
        fsync_dir(self.dir)
        for path in self.dir.iterdir():
            m = _SEGMENT_RE.match(path.name)
            if m:
                seq = int(m.group(1))
                max_seq = max(max_seq, seq)
                st = path.stat()
                self._sealed[seq] = Segment(seq, path, st.st_size, st.st_mtime)
        report.sealed = len(self._sealed)
        self._next_seq = max_seq + 1
        return report

    def lock_dir(self) -> None:
        """One writer per WAL_DIR: a second ingestion process on the same directory must not start."""
        if self._lock_fd is not None:
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.dir / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise OSError(f"WAL_DIR {self.dir} is in use by another ingestion process") from None
        self._lock_fd = fd  # held (and the lock with it) until the process exits

    def release_dir(self) -> None:
        """Drops the WAL_DIR lock (at exit, after the final flush)."""
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._thread = threading.Thread(target=self._run, name="wal-writer", daemon=True)
        self._thread.start()

    # --- the event-loop side ----------------------------------------------------------------

    async def append(self, batches: list[pa.RecordBatch]) -> None:
        """Returns once the batches are written and fsync'd (raises OSError if they are not)."""
        assert self._loop is not None, "Wal.start() first"
        fut: asyncio.Future[None] = self._loop.create_future()
        with self._cond:
            if self._stopping:
                raise OSError("WAL is shut down")
            self._queue.append((batches, fut))
            self._cond.notify()
        await fut

    async def seal_active(self) -> None:
        """Seals the active segment (if it holds data) so a flush can take everything."""
        assert self._loop is not None
        if self._thread is None or not self._thread.is_alive():
            return  # stopped: stop() already sealed the active segment
        loop = self._loop
        fut: asyncio.Future[None] = loop.create_future()

        def resolve() -> None:
            if not fut.done():
                fut.set_result(None)

        def done() -> None:
            loop.call_soon_threadsafe(resolve)

        with self._cond:
            self._seal_waiters.append(done)
            self._cond.notify()
        await fut

    def stop(self) -> None:
        """Finishes queued writes, seals the active segment and stops the writer thread."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join()

    # --- views for flush and snapshot -------------------------------------------------------

    def sealed(self) -> list[Segment]:
        with self.lock:
            return [self._sealed[k] for k in sorted(self._sealed)]

    def unflushed_bytes(self) -> int:
        with self.lock:
            return sum(s.size for s in self._sealed.values()) + self._active_size

    def oldest_created(self) -> float | None:
        with self.lock:
            times = [s.created for s in self._sealed.values()]
            if self._active_size:
                times.append(self._active_created)
        return min(times) if times else None

    def open_for_read(self) -> list[tuple[int, int]]:
        """Under `lock`: (fd, size) for every sealed segment and the active one's committed part.

        The descriptors stay readable even if a flush deletes or the writer renames the file.
        The caller closes them.
        """
        out: list[tuple[int, int]] = []
        for seq in sorted(self._sealed):
            seg = self._sealed[seq]
            with contextlib.suppress(FileNotFoundError):
                out.append((os.open(seg.path, os.O_RDONLY), seg.size))
        if self._active_path is not None and self._active_size > len(self._schema_bytes):
            out.append((os.open(self._active_path, os.O_RDONLY), self._active_size))
        return out

    def still_sealed(self, segments: list[Segment]) -> list[Segment]:
        """The given segments that no flush has taken yet."""
        with self.lock:
            return [seg for seg in segments if seg.seq in self._sealed]

    def forget(self, segments: list[Segment]) -> None:
        """Under `lock`: drops flushed segments from the live set (files are deleted after)."""
        for seg in segments:
            self._sealed.pop(seg.seq, None)
        self.generation += 1

    # --- the writer thread ------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._seal_waiters and not self._stopping:
                    self._cond.wait()
                group, self._queue = self._queue, []
                waiters, self._seal_waiters = self._seal_waiters, []
                stopping = self._stopping
            if group:
                self._commit(group)
            if waiters or stopping or self._active_size >= self.segment_max_bytes:
                self._seal()
            for done in waiters:
                done()
            if stopping:
                with self._cond:
                    if not self._queue:
                        return

    def _commit(self, group: list[tuple[list[pa.RecordBatch], asyncio.Future[None]]]) -> None:
        error: BaseException | None = None
        try:
            if self._fd is None:
                self._open_segment()
            assert self._fd is not None
            buffers = [b.serialize() for batches, _ in group for b in batches]
            total = sum(b.size for b in buffers)
            written = os.writev(self._fd, buffers)
            if written != total:  # writev to a regular file is all-or-error in practice
                raise OSError(f"short WAL write: {written} of {total} bytes")
            os.fdatasync(self._fd)
            with self.lock:
                self._active_size += total
        except Exception as exc:  # any failure must still answer every waiting export
            error = exc
            log.error("wal_write_failed", error=str(exc))
            self._truncate_to_committed()
        loop = self._loop
        assert loop is not None
        futures = [fut for _, fut in group]
        loop.call_soon_threadsafe(_settle, futures, error)

    def _truncate_to_committed(self) -> None:
        if self._fd is None:
            return
        try:
            os.ftruncate(self._fd, self._active_size)
        except OSError as exc:  # the segment is unusable: abandon it; recovery keeps its good prefix
            log.error("wal_truncate_failed", error=str(exc))
            os.close(self._fd)
            self._fd = None
            with self.lock:
                self._active_path, self._active_size = None, 0

    def _open_segment(self) -> None:
        seq = self._next_seq
        self._next_seq += 1
        path = self.dir / (segment_name(seq) + ".open")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        os.write(fd, self._schema_bytes)
        os.fdatasync(fd)
        fsync_dir(self.dir)  # the new name must survive a crash before the first ack
        self._fd = fd
        with self.lock:
            self._active_seq, self._active_path = seq, path
            self._active_size, self._active_created = len(self._schema_bytes), time.time()

    def _seal(self) -> None:
        if self._fd is None:
            return
        try:
            os.write(self._fd, _EOS)
            os.fdatasync(self._fd)
            os.close(self._fd)
            self._fd = None
            assert self._active_path is not None
            final = self.dir / segment_name(self._active_seq)
            with self.lock:
                os.replace(self._active_path, final)
                self._sealed[self._active_seq] = Segment(
                    self._active_seq, final, self._active_size + len(_EOS), self._active_created
                )
                self._active_path, self._active_size = None, 0
            fsync_dir(self.dir)
        except OSError as exc:  # keep going; the next start recovers the .open file
            log.error("wal_seal_failed", error=str(exc))
            return
        self.on_segment_sealed()


def _settle(futures: list[asyncio.Future[None]], error: BaseException | None) -> None:
    for fut in futures:
        if fut.done():
            continue
        if error is None:
            fut.set_result(None)
        else:
            fut.set_exception(OSError(str(error)))
