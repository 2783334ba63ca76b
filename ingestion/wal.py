"""The write-ahead log: Arrow IPC stream segments in WAL_DIR, group commit, fsync before ack.

Why: an Export is acknowledged only once its spans are on disk. One writer thread owns the active
segment; every export that arrives while it is busy joins the next group, so N concurrent exports
cost one write and one fsync. Flush and snapshot never touch the active segment's writer: they
work on sealed segments (and a committed prefix of the active one), so exports never wait for them.

Files in WAL_DIR (the segment format, with a checksum per batch, is in wal_format.py):
- `wal-<seq>.ipc.open`  the active segment (schema message, then record batches appended);
- `wal-<seq>.ipc`       a sealed segment (renamed from `.open` after an EOS marker and fsync);
- `flush-<id>.intent`   a flush in progress (see flush.py; resolved by `resolve_intents` at start);
- `quarantine/`         copies of segments found damaged, kept for the operator (never deleted);
- `.lock`               flock'ed by the one process allowed to write this WAL.
At start `recover()` turns every `.open` segment into a sealed one holding its readable batches (a
torn tail -- a batch cut short by a crash -- was never acknowledged and is dropped) and checks every
sealed one; damaged batches are logged with their offset and the segment is copied to quarantine.

A failed write must never leave a quiet hole. Every write goes to an explicit offset (the end of
the last committed batch), and a segment that saw a write error is retired at its last good batch
(truncated there, kept for the flush under its `.open` name) and the next group starts a new one.
Each sealed segment's descriptor stays open until the flush that takes it, so a segment whose
file vanished (its directory removed) is still flushed from the descriptor; before a group is
acknowledged its segment must still be linked, else the directory is recreated and the group is
written again in a new segment.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
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

from ingestion import faults, wal_format
from ingestion.disk import describe, fsync_dir, make_dirs_durably
from junjo_common.spanformat import CURRENT as span_format

log = structlog.get_logger("ingestion.wal")

_SEGMENT_RE = re.compile(r"^wal-(\d{16})\.ipc$")
_OPEN_RE = re.compile(r"^wal-(\d{16})\.ipc\.open$")
_IOV_MAX = 1024
PROBE_BYTES = 1 << 20


def segment_name(seq: int) -> str:
    return f"wal-{seq:016d}.ipc"


@dataclass
class Segment:
    """A segment no longer written: immutable until a flush takes it.

    `fd` stays open while the segment is live, so it can be read (and flushed) even if its file
    vanished. `sealed`: it ends with the EOS marker; a segment retired after a write error ends
    at its last good batch instead (and keeps its `.open` name).
    """

    seq: int
    path: Path
    size: int
    created: float  # wall clock seconds, for FLUSH_MAX_AGE_SECS
    fd: int
    sealed: bool = True

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


@dataclass
class RecoveryReport:
    sealed: int = 0
    recovered_open: int = 0
    recovered_rows: int = 0
    dropped_tail_bytes: int = 0
    damaged_segments: int = 0


def read_complete_batches(data: pa.Buffer | bytes) -> tuple[list[pa.RecordBatch], int]:
    """Every readable batch of a segment's bytes and the count of torn-tail bytes."""
    found = wal_format.scan(data)
    return found.batches, found.torn_tail


def keep_aside(quarantine: Path, name: str, fd: int, size: int, damage: list[wal_format.Damage]) -> None:
    """Logs each damaged range and copies the segment to `quarantine` (once; never deleted).

    Copied from the descriptor, so a segment whose file vanished is kept too.
    """
    target = quarantine / name
    for d in damage:
        log.error(
            "wal_batch_damaged",
            segment=name,
            offset=d.offset,
            length=d.length,
            reason=d.reason,
            quarantined=str(target),
        )
    if target.exists():
        return
    make_dirs_durably(quarantine)
    tmp = target.with_name(name + ".tmp")
    with open(tmp, "wb") as out:
        for pos in range(0, size, 1 << 20):
            out.write(os.pread(fd, min(1 << 20, size - pos), pos))
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, target)
    fsync_dir(quarantine)


class Wal:
    """Segmented WAL with a group-commit writer thread.

    `append()` is called from the event loop; the writer thread serializes, writes and fsyncs
    whole groups and resolves the callers' futures. Sealed segments are listed for flush and
    snapshot through `sealed()` / `open_for_read()` under `lock`.
    """

    def __init__(self, directory: Path, segment_max_bytes: int) -> None:
        self.dir = directory
        self.quarantine = directory / "quarantine"
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
        # Active segment state: written only by the writer thread under `lock`.
        self._fd: int | None = None
        self._active_seq = 0
        self._active_path: Path | None = None
        self._active_size = 0
        self._active_created = 0.0
        self._lock_fd: int | None = None
        self._dir_lock = threading.Lock()  # the writer and a flush may both find WAL_DIR gone
        self.on_segment_sealed: Callable[[], None] = lambda: None
        self.on_segment_vanished: Callable[[], None] = lambda: None
        self.generation = 0  # bumped whenever flushed segments leave the live set

    # --- start-up ---------------------------------------------------------------------------

    def recover(self) -> RecoveryReport:
        """Seals interrupted segments (keeping readable batches), checks and lists the sealed ones."""
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
            data = path.read_bytes()
            found = wal_format.scan(data)
            if found.damage:
                report.damaged_segments += 1
                with open(path, "rb") as f:
                    keep_aside(self.quarantine, path.name, f.fileno(), len(data), found.damage)
            report.dropped_tail_bytes += found.torn_tail
            rows = sum(b.num_rows for b in found.batches)
            if rows:
                final = self.dir / segment_name(seq)
                tmp = final.with_name(final.name + ".tmp")
                parts = [wal_format.SCHEMA_MESSAGE]
                # (an older version's segment is rewritten in the current format)
                parts += [
                    bytes(p) for b in found.batches for p in wal_format.encode_batch(span_format.upgrade(b))
                ]
                with open(tmp, "wb") as f:
                    f.write(b"".join(parts) + wal_format.EOS)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, final)
                report.recovered_open += 1
                report.recovered_rows += rows
            path.unlink()
            if found.torn_tail:
                log.warning("wal_torn_tail_dropped", segment=path.name, bytes=found.torn_tail, kept_rows=rows)
        fsync_dir(self.dir)
        for path in sorted(self.dir.iterdir()):
            m = _SEGMENT_RE.match(path.name)
            if not m:
                continue
            seq = int(m.group(1))
            max_seq = max(max_seq, seq)
            fd = os.open(path, os.O_RDONLY)
            st = os.fstat(fd)
            found = wal_format.scan(path.read_bytes())
            damage = list(found.damage)
            if not found.ended:
                damage.append(wal_format.Damage(st.st_size, 0, "no end-of-stream marker"))
            if damage:
                report.damaged_segments += 1
                keep_aside(self.quarantine, path.name, fd, st.st_size, damage)
            self._sealed[seq] = Segment(seq, path, st.st_size, st.st_mtime, fd)
        report.sealed = len(self._sealed)
        self._next_seq = max_seq + 1
        return report

    def lock_dir(self) -> None:
        """One writer per WAL_DIR: a second ingestion process on the same directory must not start."""
        if self._lock_fd is not None:
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        self._lock_fd = self._take_lock()  # held (and the lock with it) until the process exits

    def _take_lock(self) -> int:
        fd = os.open(self.dir / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise OSError(f"WAL_DIR {self.dir} is in use by another ingestion process") from None
        return fd

    def release_dir(self) -> None:
        """Drops the WAL_DIR lock (at exit, after the final flush)."""
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def ensure_dir(self) -> None:
        """Recreates WAL_DIR (and its lock) if it was removed while the service runs."""
        if self.dir.is_dir():
            return
        with self._dir_lock:
            if self.dir.is_dir():
                return
            make_dirs_durably(self.dir)
            fd = self._take_lock()
            if self._lock_fd is not None:
                os.close(self._lock_fd)
            self._lock_fd = fd
        log.error("wal_directory_recreated", wal_dir=str(self.dir))

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
                raise OSError(errno.ESHUTDOWN, "WAL is shut down")
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

    def probe_write(self) -> None:
        """A test write beside the segments (written, fsync'd, removed): raises OSError if the
        WAL's file system does not take writes."""
        self.ensure_dir()
        path = self.dir / ".probe.tmp"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                _write_at(fd, [bytes(PROBE_BYTES)], 0)
                os.fdatasync(fd)
            finally:
                os.close(fd)
        finally:
            path.unlink(missing_ok=True)

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

        The descriptors are duplicates: they stay readable whatever happens to the files, and the
        caller closes them.
        """
        out = [(os.dup(seg.fd), seg.size) for _, seg in sorted(self._sealed.items())]
        if self._fd is not None and self._active_size > len(wal_format.SCHEMA_MESSAGE):
            out.append((os.dup(self._fd), self._active_size))
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
        error: OSError | None = None
        try:
            parts = [part for batches, _ in group for b in batches for part in wal_format.encode_batch(b)]
            self._write_durably(parts)
        except OSError as exc:
            error = exc
        except Exception as exc:  # any failure must still answer every waiting export
            log.exception("wal_write_failed")
            error = OSError(errno.EIO, f"WAL write failed: {exc}")
        loop = self._loop
        assert loop is not None
        futures = [fut for _, fut in group]
        loop.call_soon_threadsafe(_settle, futures, error)

    def _write_durably(self, parts: list[bytes | pa.Buffer]) -> None:
        """Writes one group after the last committed batch and fsyncs it; acknowledged only while
        its segment is still linked (a vanished one is retired and the group written anew)."""
        for _attempt in range(2):
            if self._fd is None:
                self._open_segment()
            assert self._fd is not None and self._active_path is not None
            try:
                written = _write_at(self._fd, parts, self._active_size)
                os.fdatasync(self._fd)
                linked = os.fstat(self._fd).st_nlink > 0
            except OSError as exc:
                log.error("wal_write_failed", segment=self._active_path.name, error=describe(exc))
                self._retire_active()
                raise
            if linked:
                with self.lock:
                    self._active_size += written
                return
            log.error("wal_segment_vanished", segment=self._active_path.name, wal_dir=str(self.dir))
            self._retire_active()
            self.on_segment_vanished()
        raise OSError(errno.ENOENT, "WAL segments vanish as soon as they are written")

    def _retire_active(self) -> None:
        """Ends the active segment at its last committed batch after a write error; the flush
        takes it from its descriptor and the next group starts a new segment."""
        fd, path = self._fd, self._active_path
        assert fd is not None and path is not None
        try:
            os.ftruncate(fd, self._active_size)
        except OSError as exc:  # the bytes past the committed size are ignored: the size bounds reads
            log.error("wal_truncate_failed", segment=path.name, error=describe(exc))
        with self.lock:
            if self._active_size > len(wal_format.SCHEMA_MESSAGE):
                self._sealed[self._active_seq] = Segment(
                    self._active_seq, path, self._active_size, self._active_created, fd, sealed=False
                )
            else:
                os.close(fd)
                with contextlib.suppress(OSError):
                    path.unlink()
            self._fd, self._active_path, self._active_size = None, None, 0
        self.on_segment_sealed()

    def _open_segment(self) -> None:
        self.ensure_dir()
        seq = self._next_seq
        self._next_seq += 1
        path = self.dir / (segment_name(seq) + ".open")
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            _write_at(fd, [wal_format.SCHEMA_MESSAGE], 0)
            os.fdatasync(fd)
            fsync_dir(self.dir)  # the new name must survive a crash before the first ack
        except OSError as exc:
            log.error("wal_write_failed", segment=path.name, error=describe(exc))
            os.close(fd)
            with contextlib.suppress(OSError):
                path.unlink()
            raise
        with self.lock:
            self._fd, self._active_seq, self._active_path = fd, seq, path
            self._active_size, self._active_created = len(wal_format.SCHEMA_MESSAGE), time.time()

    def _seal(self) -> None:
        if self._fd is None:
            return
        fd, path = self._fd, self._active_path
        assert path is not None
        try:
            _write_at(fd, [wal_format.EOS], self._active_size)
            os.fdatasync(fd)
        except OSError as exc:  # ends at its last good batch instead
            log.error("wal_seal_failed", segment=path.name, error=describe(exc))
            self._retire_active()
            return
        final = self.dir / segment_name(self._active_seq)
        with self.lock:
            try:
                os.replace(path, final)
            except OSError as exc:  # e.g. WAL_DIR removed: flushed from the descriptor all the same
                log.error("wal_seal_rename_failed", segment=path.name, error=describe(exc))
                final = path
            self._sealed[self._active_seq] = Segment(
                self._active_seq, final, self._active_size + len(wal_format.EOS), self._active_created, fd
            )
            self._fd, self._active_path, self._active_size = None, None, 0
        with contextlib.suppress(OSError):
            fsync_dir(self.dir)
        self.on_segment_sealed()


def _write_at(fd: int, parts: list[bytes | pa.Buffer], offset: int) -> int:
    """Writes all `parts` at `offset` (never at the file position); returns the bytes written.

    A short write is continued, so a failure surfaces as the OSError of the call that failed.
    """
    views = [memoryview(p).cast("B") for p in parts]
    total = sum(v.nbytes for v in views)
    done = 0
    while views:
        batch = views[:_IOV_MAX]
        if faults.ENABLED:
            n = faults.wal_write(fd, batch, offset + done)
        else:
            n = os.pwritev(fd, batch, offset + done)
        done += n
        while views and n >= views[0].nbytes:
            n -= views[0].nbytes
            views.pop(0)
        if n:
            views[0] = views[0][n:]
    assert done == total
    return done


def _settle(futures: list[asyncio.Future[None]], error: OSError | None) -> None:
    for fut in futures:
        if fut.done():
            continue
        if error is None:
            fut.set_result(None)
        elif error.errno is None:  # one exception each: an exception object carries its traceback
            fut.set_exception(OSError(str(error)))
        else:
            fut.set_exception(OSError(error.errno, error.strerror or str(error)))
