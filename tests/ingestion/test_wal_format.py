"""The WAL's segment format and the writer under faults, in-process: checksums, damage, holes."""

from __future__ import annotations

import asyncio
import errno
import itertools
import os
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingestion import wal_format
from ingestion.convert import convert_request
from junjo_common.spanformat import CURRENT as span_format
from tests.ingestion.test_wal_flush_snapshot import Harness, all_parquet, span_ids_in_parquet
from tests.ingestion.workload import make_request


def batches(first: int) -> list[pa.RecordBatch]:
    return convert_request(make_request(first, 100).SerializeToString()).batches


def segment(requests: int = 4) -> tuple[bytes, list[int], list[pa.RecordBatch]]:
    """A sealed segment of `requests` batches, the offset of each batch, and the batches."""
    data, offsets, written = bytearray(wal_format.SCHEMA_MESSAGE), [], []
    for r in range(requests):
        for b in batches(r * 100):
            offsets.append(len(data))
            data += b"".join(bytes(part) for part in wal_format.encode_batch(b))
            written.append(b)
    return bytes(data + wal_format.EOS), offsets, written


def ids(found: list[pa.RecordBatch]) -> list[str]:
    return [i for b in found for i in b["span_id"].to_pylist()]


def test_a_checksummed_segment_is_a_plain_arrow_ipc_stream() -> None:
    data, _, written = segment()
    assert (
        pa.ipc.open_stream(data).read_all().equals(pa.Table.from_batches(written, span_format.BATCH_SCHEMA))
    )
    found = wal_format.scan(data)
    assert found.ended and not found.damage and not found.torn_tail
    assert ids(found.batches) == ids(written)


@pytest.mark.parametrize(
    "where, reason",
    [
        (4, "an invalid metadata length"),  # the header's length field
        (200, "checksum mismatch"),  # inside the header's flatbuffer
        (-1, "checksum mismatch"),  # inside the body (string bytes)
    ],
)
def test_a_damaged_batch_is_reported_and_every_batch_after_it_read(where: int, reason: str) -> None:
    data, offsets, written = segment()
    damaged = bytearray(data)
    at = offsets[1] + where if where >= 0 else (offsets[1] + offsets[2]) // 2
    damaged[at] ^= 0x5A
    found = wal_format.scan(bytes(damaged))
    assert [(d.offset, d.length) for d in found.damage] == [(offsets[1], offsets[2] - offsets[1])]
    assert found.damage[0].reason.startswith(reason)
    assert ids(found.batches) == ids([written[0], *written[2:]]) and found.ended


def test_zeros_and_data_after_the_end_marker_are_damage_not_an_end() -> None:
    data, offsets, written = segment()
    holed = data[: offsets[2]] + bytes(4096) + data[offsets[2] :]  # a write landed past a gap
    found = wal_format.scan(holed)
    assert [(d.offset, d.length, d.reason) for d in found.damage] == [(offsets[2], 4096, "no message marker")]
    assert ids(found.batches) == ids(written)
    early_end = data[: offsets[2]] + wal_format.EOS + data[offsets[2] :]
    found = wal_format.scan(early_end)
    assert found.damage[0].reason == "data after the end-of-stream marker"
    assert ids(found.batches) == ids(written) and found.ended


def test_a_batch_cut_short_at_the_end_is_a_torn_tail() -> None:
    data, offsets, written = segment()
    found = wal_format.scan(data[: offsets[3] + 1000])
    assert not found.damage and found.torn_tail == 1000 and not found.ended
    assert ids(found.batches) == ids(written[:3])


def test_a_segment_written_before_checksums_is_still_read() -> None:
    plain = span_format.BATCH_SCHEMA.serialize().to_pybytes() + b"".join(
        b.serialize().to_pybytes() for b in batches(0)
    )
    found = wal_format.scan(plain + wal_format.EOS)
    assert found.ended and not found.damage and ids(found.batches) == ids(batches(0))


def test_a_failed_write_leaves_no_hole_for_the_next_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write that stops half-way and then fails (a full disk): the group is refused, the segment
    ends at its last good batch, and what is written next is read back, all of it."""
    real = os.pwritev
    calls = {"n": 0}

    def half_then_full(fd: int, buffers: list[memoryview], offset: int) -> int:
        calls["n"] += 1
        if calls["n"] == 4:
            return real(fd, [buffers[0][: buffers[0].nbytes // 2]], offset)
        if calls["n"] == 5:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(fd, buffers, offset)

    monkeypatch.setattr(os, "pwritev", half_then_full)

    async def main() -> Harness:
        h = Harness(tmp_path).start()
        acked = []
        for i in range(6):
            try:
                await h.wal.append(batches(i * 100))
                acked.append(i)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
        assert len(acked) == 5
        await h.scheduler.flush_all()
        h.close()
        h.acked = acked  # type: ignore[attr-defined]
        return h

    h = asyncio.run(main())
    stored = span_ids_in_parquet(all_parquet(h.out))
    expected = [i for a in h.acked for i in ids(batches(a * 100))]  # type: ignore[attr-defined]
    assert sorted(stored) == sorted(expected)
    assert not (tmp_path / "wal" / "quarantine").exists()


def test_a_removed_wal_directory_is_recreated_and_nothing_written_is_lost(tmp_path: Path) -> None:
    async def main() -> Harness:
        h = Harness(tmp_path, segment_max=300_000).start()
        for i in range(3):
            await h.wal.append(batches(i * 100))  # a sealed segment and the active one
        shutil.rmtree(tmp_path / "wal")
        for i in range(3, 6):
            await h.wal.append(batches(i * 100))
        assert (tmp_path / "wal").is_dir()
        await h.scheduler.flush_all()  # the vanished segments from their descriptors
        h.close()
        return h

    h = asyncio.run(main())
    stored = span_ids_in_parquet(all_parquet(h.out))
    assert sorted(stored) == sorted(i for a in range(6) for i in ids(batches(a * 100)))
    for path in all_parquet(h.out):
        pq.read_table(path).validate(full=True)


def test_a_row_that_fails_validation_is_quarantined_not_its_whole_file(tmp_path: Path) -> None:
    """A batch whose checksum holds but whose rows are not fit for Parquet (a converter bug): the
    bad rows go to quarantine, every other row into Parquet, and the file stays readable."""
    table = pa.Table.from_batches(batches(0), span_format.BATCH_SCHEMA)
    names = [n.encode() for n in table["name"].to_pylist()]
    names[3] = b"bad \xff byte"
    data = b"".join(names)
    offsets = pa.array([0, *itertools.accumulate(len(n) for n in names)], pa.int32())
    buffers = [None, offsets.buffers()[1], pa.py_buffer(data)]
    bad_names = pa.Array.from_buffers(pa.string(), len(names), buffers)
    span_ids = table["span_id"].to_pylist()
    span_ids[5] = "not-a-hex-id!!!!"
    table = table.set_column(0, span_format.BATCH_SCHEMA.field("span_id"), pa.array(span_ids, pa.string()))
    table = table.set_column(4, span_format.BATCH_SCHEMA.field("name"), bad_names)
    wal_dir = tmp_path / "wal"
    wal_dir.mkdir()
    parts = [wal_format.SCHEMA_MESSAGE] + [
        bytes(p) for b in table.to_batches() for p in wal_format.encode_batch(b)
    ]
    (wal_dir / "wal-0000000000000001.ipc").write_bytes(b"".join(parts) + wal_format.EOS)

    async def main() -> Harness:
        h = Harness(tmp_path).start()
        await h.scheduler.flush_all()
        h.close()
        return h

    h = asyncio.run(main())
    [path] = all_parquet(h.out)
    stored = pq.read_table(path)
    stored.validate(full=True)
    good = [i for n, i in enumerate(table["span_id"].to_pylist()) if n not in (3, 5)]
    assert sorted(stored["span_id"].to_pylist()) == sorted(good)
    [kept] = (wal_dir / "quarantine").glob("rows-*.arrow")
    rejected = pa.ipc.open_file(kept).read_all()
    assert sorted(rejected["span_id"].to_pylist()) == sorted([span_ids[3], span_ids[5]])
