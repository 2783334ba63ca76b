"""wal_read.py: reading WAL segment columns by file position, compiled (_segread.c) and in Python.

Every reading test runs on both paths and against Arrow's own take. Sources are written to real
files: whole IPC segments (the service's case) and raw buffers of sliced arrays with nulls (the
cases a segment may hold that its writer does not produce today).
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from ingestion import wal_read
from ingestion.convert import convert_request
from ingestion.wal_read import SegmentLayout, SegmentReader
from junjo_common.spanformat import v1, v2
from tests.ingestion import paths
from tests.ingestion.tables import decoded
from tests.ingestion.workload import make_request

Source = tuple[int, int, int, int, int, int, int]


@pytest.fixture(params=paths.PATHS)
def reader_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    return paths.segment_reader(request.param, monkeypatch)


def _text(rng: random.Random) -> str:
    return "".join(rng.choice('abcé😀\x00"\\{}') for _ in range(rng.randint(0, 40)))


def _write_chunks(f, chunks: list[pa.Array]) -> Iterator[Source]:
    """Writes each chunk's buffers (whole, as Arrow holds them) to `f`; yields their sources."""
    for chunk in chunks:
        buffers = chunk.buffers()
        positions = []
        for buf in buffers:
            positions.append((f.tell(), buf.size) if buf is not None and buf.size else (-1, 0))
            if buf is not None:
                f.write(b"\xee" * 3)  # unaligned on purpose, and never read
                positions[-1] = (f.tell(), buf.size) if buf.size else (-1, 0)
                f.write(buf.to_pybytes())
        (validity_pos, _), (values_pos, _) = positions[0], positions[1]
        data_pos, data_size = positions[2] if len(positions) > 2 else (0, 0)
        yield (
            f.fileno(),
            max(values_pos, 0),
            max(data_pos, 0),
            data_size,
            validity_pos,
            chunk.offset,
            len(chunk),
        )


def _sliced_chunks(values: list, type_: pa.DataType, rng: random.Random) -> list[pa.Array]:
    chunks, at = [], 0
    pad = [None] * 5 if type_ != pa.string() else ["pad"] * 5
    while at < len(values):  # uneven chunks, sliced out of larger arrays (non-zero offsets)
        n = rng.randint(0, 300)
        backing = pa.array(
            pad + values[at : at + n] + pad[:3], type_ if type_ != v1.TIMESTAMP else pa.int64()
        )
        chunks.append(backing.cast(type_).slice(5, len(values[at : at + n])))
        at += n
    return chunks


class _Reader(SegmentReader):
    """A SegmentReader over hand-written sources (one column)."""

    def __init__(self, field: pa.Field, sources: list[Source]) -> None:
        self.rows = sum(s[6] for s in sources)
        self._sources = {field.name: sources}


@pytest.mark.parametrize("type_", [pa.string(), pa.int8(), pa.uint32(), pa.int64(), v1.TIMESTAMP])
def test_gather_equals_arrow_take_across_chunks_slices_and_nulls(
    reader_path: str, tmp_path: Path, type_: pa.DataType
) -> None:
    rng = random.Random(3)
    if type_ == pa.string():
        values = [None if rng.random() < 0.1 else _text(rng) for _ in range(3_000)]
    else:
        bits = type_.bit_width - (0 if type_ == pa.uint32() else 1)
        values = [None if rng.random() < 0.1 else rng.randrange(2**bits) for _ in range(3_000)]
    chunks = _sliced_chunks(values, type_, rng)
    column = pa.chunked_array(chunks, type_)
    field = pa.field("c", type_)
    with open(tmp_path / "chunks.bin", "w+b") as f:
        reader = _Reader(field, list(_write_chunks(f, chunks)))
        f.flush()
        order = pa.array(rng.sample(range(len(values)), 2_000), pa.uint64())
        for rows in (
            order,
            order.slice(700, 900),
            order.slice(0, 0),
            pa.array(range(len(values)), pa.int64()),
        ):
            got = reader.column(field, rows)
            got.validate(full=True)
            assert got.equals(column.take(rows).combine_chunks())
        whole = reader.column(field)
        whole.validate(full=True)
        assert whole.equals(column.combine_chunks())


@pytest.mark.parametrize("written_format", [v1, v2])
def test_segments_read_back_exactly_in_any_row_order(
    reader_path: str, tmp_path: Path, written_format
) -> None:
    """Real segments (several batches each, as the WAL writes them), read the way flushes do; the
    attributes column is over a MiB, so the compiled reader copies it without the GIL. Segments an
    older version wrote (format v1: resource columns as plain strings) read the same."""
    layouts, written = [], []
    for s in range(3):
        batches = [
            b
            for i in range(4)
            for b in convert_request(
                make_request((s * 4 + i) * 100, 100, service=f"svc{i % 2}").SerializeToString()
            ).batches
        ]
        if written_format is v1:
            batches = [decoded(b).cast(v1.SCHEMA).to_batches()[0] for b in batches]
        written += batches
        seg = tmp_path / f"wal-{s}.ipc"
        with pa.OSFile(str(seg), "wb") as sink, pa.ipc.new_stream(sink, batches[0].schema) as writer:
            for b in batches:
                writer.write_batch(b)
        layouts.append(SegmentLayout.open(seg))
    try:
        reader = SegmentReader(layouts)
        expected = decoded(pa.Table.from_batches(written))
        assert reader.rows == expected.num_rows == 1200
        assert reader.column(v2.SCHEMA.field("attributes")).nbytes > 1 << 20
        whole = reader.table(v2.SCHEMA)
        assert whole.schema.equals(v2.SCHEMA) and decoded(whole).equals(expected)
        assert whole["service_name"].chunks[0].dictionary.to_pylist() == ["svc0", "svc1"]
        rows = pa.array(random.Random(5).sample(range(1200), 1200), pa.uint64())
        assert decoded(reader.table(v2.SCHEMA, rows)).equals(expected.take(rows))
        one_service = reader.table(v2.SCHEMA, pa.array([0, 1], pa.uint64()))  # both svc0
        assert one_service["service_name"].chunks[0].dictionary.to_pylist() == ["svc0"]
    finally:
        for layout in layouts:
            layout.close()
    assert all(layout.fd == -1 for layout in layouts)


def test_rows_outside_the_segments_and_a_short_file_are_errors(reader_path: str, tmp_path: Path) -> None:
    field = pa.field("c", pa.string())
    with open(tmp_path / "chunks.bin", "w+b") as f:
        sources = list(_write_chunks(f, [pa.array(["x" * 100, "y" * 100], pa.string())]))
        f.flush()
        reader = _Reader(field, sources)
        with pytest.raises(IndexError):
            reader.column(field, pa.array([2], pa.int64()))
        with pytest.raises((IndexError, pa.ArrowIndexError)):
            reader.column(field, pa.array([-1], pa.int64()))
        f.truncate(os.fstat(f.fileno()).st_size - 50)  # the file ends inside the data
        with pytest.raises(OSError):
            reader.column(field)


def test_the_compiled_reader_refuses_bad_arguments_without_crashing(tmp_path: Path) -> None:
    gather = wal_read.gather
    assert gather is not None, "ingestion/_segread.c is not built (make builds it)"
    with open(tmp_path / "chunks.bin", "w+b") as f:
        f.write(pa.array([0, 4, 2], pa.int32()).buffers()[1].to_pybytes() + b"abcd")  # offsets go back
        f.flush()
        fd = f.fileno()
        with pytest.raises(ValueError, match="offsets"):
            gather([(fd, 0, 12, 4, -1, 0, 2)], None, 0, pa.allocate_buffer)
        with pytest.raises(ValueError, match="width"):
            gather([(fd, 0, 12, 4, -1, 0, 2)], None, 3, pa.allocate_buffer)
        with pytest.raises(ValueError, match="int64"):
            gather([(fd, 0, 12, 4, -1, 0, 2)], b"\x00" * 7, 0, pa.allocate_buffer)
        with pytest.raises(ValueError, match="negative"):
            gather([(fd, -5, 12, 4, -1, 0, 2)], None, 0, pa.allocate_buffer)
        with pytest.raises(TypeError):
            gather([(fd, 0)], None, 0, pa.allocate_buffer)
        with pytest.raises(ValueError, match="short buffer"):
            gather([(fd, 0, 12, 4, -1, 0, 1)], None, 4, lambda size: bytearray(size - 1))
        with pytest.raises(OSError):  # no such descriptor
            gather([(999_999, 0, 12, 4, -1, 0, 1)], None, 4, pa.allocate_buffer)
