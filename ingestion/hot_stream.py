"""The hot tier over the network: every unflushed span as one Arrow IPC stream, cut into chunks.

For a backend that shares no disk with ingestion (StreamHotSpans). As for the hot snapshot, the
segment list and the recent-cold paths are taken in one step under the WAL lock and the segment
descriptors are opened right there, so a concurrent flush can neither make the stream miss spans
nor break it. Rows are then read from those descriptors one row group at a time and written to
the IPC stream uncompressed (so the receiver's byte bound is a bound on what it decodes), and the
stream is handed out in pieces of at most CHUNK_BYTES: memory holds about one row group and one
piece whatever the WAL size. Nothing is cached; each call reads the WAL as it is.
"""

from __future__ import annotations

import io
import os

import pyarrow as pa

from ingestion.flush import RecentCold
from ingestion.memory import ROW_GROUP_LOCK, release_memory
from ingestion.wal import Wal
from ingestion.wal_read import SegmentLayout, SegmentReader
from junjo_common.spanformat import CURRENT as span_format

CHUNK_BYTES = 2 * 1024 * 1024  # under gRPC's default 4 MiB message limit


class HotSpanStream:
    """Blocking (call from a worker thread); `close()` releases the segment descriptors."""

    def __init__(self, wal: Wal, recent: RecentCold, chunk_bytes: int = CHUNK_BYTES) -> None:
        self.chunk_bytes = chunk_bytes
        with wal.lock:
            self._fds = wal.open_for_read()
            self.recent_cold_paths = recent.paths()
        try:
            self._reader = SegmentReader([SegmentLayout(fd, size) for fd, size in self._fds])
        except BaseException:
            self.close()
            raise
        self.row_count = self._reader.rows
        self._sink = io.BytesIO()
        self._writer = pa.ipc.new_stream(self._sink, span_format.SCHEMA)
        self._next_row = 0
        self._pending = b""
        self._finished = False

    def next_chunk(self) -> bytes | None:
        """The next piece of the IPC stream (at most `chunk_bytes`), or None after the last."""
        while len(self._pending) < self.chunk_bytes and not self._finished:
            if self._next_row < self.row_count:
                end = min(self._next_row + span_format.PARQUET_ROW_GROUP_SIZE, self.row_count)
                with ROW_GROUP_LOCK:
                    table = self._reader.table(
                        span_format.SCHEMA, pa.array(range(self._next_row, end), pa.int64())
                    )
                    self._writer.write_table(table)
                self._next_row = end
            else:
                self._writer.close()
                self._finished = True
            self._pending += self._sink.getvalue()
            self._sink.seek(0)
            self._sink.truncate()
        chunk, self._pending = self._pending[: self.chunk_bytes], self._pending[self.chunk_bytes :]
        return chunk or None

    def close(self) -> None:
        for fd, _ in self._fds:
            os.close(fd)
        self._fds = []
        release_memory()
