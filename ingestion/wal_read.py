"""Reading WAL segments for the cold flush and the hot snapshot: by file position, not by mapping.

Why not keep the segments memory-mapped while reading them: on this kernel a fault on a file
mapping maps the whole page-cache folio around it (up to 2 MiB for a file written sequentially),
so reading a few bytes of every batch put most of a segment into the process's RSS, on top of the
flush's heap. Instead:

1. `SegmentLayout` parses a segment's Arrow IPC metadata through a map that lives only for the
   parse, and keeps where every column chunk's buffers lie in the file (positions, not bytes).
2. `SegmentReader` copies the rows a caller asks for straight from the files into buffers of
   Arrow's pool with pread (ingestion/_segread.c, which releases the GIL for large copies; runs
   of adjacent rows cost one call). Without the compiled reader, whole chunks are read with
   `os.pread` and Arrow takes the rows: the same result, more memory.

The resource columns (span format v2: one value per batch, run-end encoded in the WAL) are
small, so a layout copies them into memory while it parses, as one dictionary column per segment,
and the reader hands out each row group's rows with a dictionary of only the values they use
(the Parquet files' encoding). A segment written in format v1 (plain strings) is encoded then.

Layouts work on descriptors of deleted files (a flush may delete a segment a snapshot opened)
and on the committed prefix of the active segment. Segments are parsed by wal_format.scan, so a
damaged batch is skipped and reported, never a silent end of the segment.
"""

from __future__ import annotations

import contextlib
import mmap
import os
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from ingestion import wal_format
from junjo_common.spanformat import CURRENT as span_format

try:
    from ingestion._segread import gather
except ImportError:  # not built: whole chunks are read and Arrow takes the rows
    gather = None

COMPILED = gather is not None
# The columns read from the files by position; the resource columns are held in memory.
_POSITIONED = [field for field in span_format.SCHEMA if field.name not in span_format.DICTIONARY_COLUMNS]


@dataclass(frozen=True)
class ChunkPositions:
    """Where one column chunk's buffers lie in its segment file (-1: no validity buffer)."""

    values_pos: int  # strings: the offsets buffer
    data_pos: int  # strings: the data buffer (0 for fixed-width columns)
    data_size: int
    validity_pos: int
    offset: int  # the array's offset into its buffers
    length: int


def _positions(table: pa.Table, base: int, size: int) -> dict[str, list[ChunkPositions]]:
    def at(buf: pa.Buffer | None) -> tuple[int, int]:
        if buf is None or buf.size == 0:  # absent, or nothing to read
            return -1, 0
        pos = buf.address - base
        if pos < 0 or pos + buf.size > size:  # the IPC reader copied it: not a file position
            raise ValueError("a WAL segment buffer lies outside the segment file")
        return pos, buf.size

    columns: dict[str, list[ChunkPositions]] = {}
    for field in _POSITIONED:
        chunks = []
        for chunk in table.column(field.name).chunks:
            buffers = chunk.buffers()
            validity_pos, _ = at(buffers[0])
            values_pos, _ = at(buffers[1])
            data_pos, data_size = at(buffers[2]) if len(buffers) > 2 else (-1, 0)
            chunks.append(
                ChunkPositions(
                    max(values_pos, 0), max(data_pos, 0), data_size, validity_pos, chunk.offset, len(chunk)
                )
            )
        columns[field.name] = chunks
    return columns


def _copy(array: pa.Array) -> pa.Array:
    """The array in buffers of its own (concatenation always allocates), not in the mapped file."""
    return pa.concat_arrays([array, array.slice(0, 0)])


def _as_dictionary(chunk: pa.Array) -> pa.DictionaryArray:
    """A resource column chunk (run-end encoded, or plain strings from format v1) as a dictionary
    array of distinct values, without repeating a value per row."""
    if pa.types.is_dictionary(chunk.type):
        return chunk
    if not pa.types.is_run_end_encoded(chunk.type):
        return chunk.dictionary_encode()
    runs = chunk.values.dictionary_encode()  # a value per run: usually one run per batch
    per_run = pa.RunEndEncodedArray.from_arrays(chunk.run_ends, runs.indices).slice(chunk.offset, len(chunk))
    return pa.DictionaryArray.from_arrays(pc.run_end_decode(per_run), runs.dictionary)


def _merged(column: pa.ChunkedArray, copy: bool) -> pa.DictionaryArray:
    """A resource column's chunks as one dictionary array with one dictionary of distinct values.

    `copy`: the result must not share buffers with `column` (which lies in a mapped file).
    """
    chunks = [_as_dictionary(chunk) for chunk in column.chunks]
    if len(chunks) == 1 and not copy:
        return chunks[0]
    if not chunks:
        return pa.DictionaryArray.from_arrays(pa.array([], pa.int32()), pa.array([], pa.string()))
    unified = pa.chunked_array(chunks, span_format.DICTIONARY).unify_dictionaries().chunks
    indices = pa.concat_arrays([chunk.indices for chunk in unified])
    dictionary = unified[0].dictionary
    return pa.DictionaryArray.from_arrays(
        _copy(indices) if copy else indices, _copy(dictionary) if copy else dictionary
    )


def _only_used_values(array: pa.DictionaryArray) -> pa.DictionaryArray:
    """The same rows with a dictionary of only the values they use (one Parquet row group's)."""
    used = pc.unique(array.indices)
    if len(used) == len(array.dictionary):
        return array
    return pa.DictionaryArray.from_arrays(
        pc.index_in(array.indices, value_set=used), array.dictionary.take(used)
    )


class SegmentLayout:
    """The positions of every column chunk of one segment file, and the descriptor to read them.

    `size`: the bytes to parse (a segment's size, or the active one's committed part). Only
    readable batches are laid out; with `verify` (flushes) their checksums are checked and
    `damage` lists what could not be read, else (hot snapshots) only their structure.
    `close()` closes the descriptor only if the layout opened it (`open`).
    """

    def __init__(self, fd: int, size: int, owns_fd: bool = False, verify: bool = False) -> None:
        self.fd, self._owns_fd = fd, owns_fd
        self.rows = 0
        self.columns: dict[str, list[ChunkPositions]] = {f.name: [] for f in _POSITIONED}
        self.dictionaries: dict[str, pa.DictionaryArray] = {}
        self.damage: list[wal_format.Damage] = []
        self.ended = False  # the end-of-stream marker closes the data
        if size:
            mapped = mmap.mmap(fd, size, access=mmap.ACCESS_READ)
            try:
                self._parse(mapped, size, verify)
            finally:
                with contextlib.suppress(BufferError):  # else unmapped when the last reference goes
                    mapped.close()

    def _parse(self, mapped: mmap.mmap, size: int, verify: bool) -> None:
        """Everything referencing the map lives in this frame, so the map can close after it."""
        buf = pa.py_buffer(mapped)
        found = wal_format.scan(buf, verify)
        self.damage, self.ended = found.damage, found.ended
        if found.torn_tail:  # within the size given: bytes no reader may skip quietly
            cut = wal_format.Damage(size - found.torn_tail, found.torn_tail, "a batch cut short")
            self.damage.append(cut)
        table = (
            pa.Table.from_batches(found.batches) if found.batches else span_format.BATCH_SCHEMA.empty_table()
        )
        self.rows, self.columns = table.num_rows, _positions(table, buf.address, size)
        self.dictionaries = {
            name: _merged(table.column(name), copy=True) for name in span_format.DICTIONARY_COLUMNS
        }

    @classmethod
    def open(cls, path: Path, verify: bool = False) -> SegmentLayout:
        fd = os.open(path, os.O_RDONLY)
        try:
            return cls(fd, os.fstat(fd).st_size, owns_fd=True, verify=verify)
        except BaseException:
            os.close(fd)
            raise

    def close(self) -> None:
        if self._owns_fd and self.fd >= 0:
            os.close(self.fd)
        self.fd = -1


def _width(field: pa.Field) -> int:
    return 0 if pa.types.is_string(field.type) else field.type.bit_width // 8


class SegmentReader:
    """Rows of several segments laid end to end (global row numbers), read column by column."""

    def __init__(self, layouts: list[SegmentLayout]) -> None:
        self.rows = sum(layout.rows for layout in layouts)
        self._sources = {
            field.name: [
                (layout.fd, c.values_pos, c.data_pos, c.data_size, c.validity_pos, c.offset, c.length)
                for layout in layouts
                for c in layout.columns[field.name]
            ]
            for field in _POSITIONED
        }
        self._dictionaries = {
            name: _merged(
                pa.chunked_array(
                    [layout.dictionaries[name] for layout in layouts if layout.rows], span_format.DICTIONARY
                ),
                copy=False,  # already in memory
            )
            for name in span_format.DICTIONARY_COLUMNS
        }

    def column(self, field: pa.Field, rows: pa.Array | None = None) -> pa.Array:
        """The values at `rows` (int64/uint64 without nulls), or every row in order if None. A
        resource column comes as a dictionary array of only the values those rows use."""
        if pa.types.is_dictionary(field.type):
            column = self._dictionaries[field.name]
            return _only_used_values(column if rows is None else column.take(rows))
        sources = self._sources[field.name]
        if gather is None:
            return _read_python(field, sources, rows)
        wanted = None if rows is None else rows.buffers()[1].slice(rows.offset * 8, len(rows) * 8)
        values, data, validity, nulls = gather(sources, wanted, _width(field), pa.allocate_buffer)
        n = self.rows if rows is None else len(rows)
        buffers = [validity, values, data] if data is not None else [validity, values]
        return pa.Array.from_buffers(field.type, n, buffers, null_count=nulls)

    def table(self, schema: pa.Schema, rows: pa.Array | None = None) -> pa.Table:
        return pa.Table.from_arrays([self.column(field, rows) for field in schema], schema=schema)


def _pread(fd: int, pos: int, size: int) -> pa.Buffer:
    data = os.pread(fd, size, pos)
    if len(data) != size:
        raise OSError(f"WAL segment read ended early: {len(data)} of {size} bytes at {pos}")
    return pa.py_buffer(data)


def _read_python(
    field: pa.Field, sources: list[tuple[int, int, int, int, int, int, int]], rows: pa.Array | None
) -> pa.Array:
    """The fallback: each chunk read whole with os.pread, then Arrow's concatenate or take."""
    width = _width(field)
    chunks = []
    for fd, values_pos, data_pos, data_size, validity_pos, offset, length in sources:
        validity = _pread(fd, validity_pos, (offset + length + 7) // 8) if validity_pos >= 0 else None
        if width:
            buffers = [validity, _pread(fd, values_pos, (offset + length) * width)]
        else:
            buffers = [
                validity,
                _pread(fd, values_pos, (offset + length + 1) * 4),
                _pread(fd, data_pos, data_size),
            ]
        chunks.append(pa.Array.from_buffers(field.type, length, buffers, offset=offset))
    column = pa.chunked_array(chunks, field.type)
    if rows is not None:
        column = column.take(rows)
    return column.combine_chunks()
