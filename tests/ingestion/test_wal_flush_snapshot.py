"""wal.py, flush.py, snapshot.py in-process: group commit, recovery, exactly-once flush, snapshots."""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingestion.cold_store import LocalColdStore
from ingestion.convert import convert_request
from ingestion.flush import Flusher, FlushScheduler, RecentCold, resolve_intents
from ingestion.snapshot import HotSnapshot
from ingestion.wal import Wal, read_complete_batches, segment_name
from ingestion.wal_read import SegmentLayout, SegmentReader
from junjo_common.spanformat import v2
from tests.ingestion import paths
from tests.ingestion.tables import decoded
from tests.ingestion.workload import make_request

MB = 1024 * 1024


def batches(first: int, count: int = 100, service: str = "svc") -> list[pa.RecordBatch]:
    return convert_request(make_request(first, count, service=service).SerializeToString()).batches


def span_ids_in_parquet(paths: list[Path]) -> list[str]:
    ids: list[str] = []
    for p in paths:
        ids += pq.read_table(p, columns=["span_id"])["span_id"].to_pylist()
    return ids


def all_parquet(root: Path) -> list[Path]:
    return sorted(root.rglob("*.parquet"))


class Harness:
    def __init__(self, tmp: Path, segment_max: int = 4 * MB, flush_max: int = 25 * MB) -> None:
        self.wal_dir, self.out = tmp / "wal", tmp / "parquet"
        self.wal = Wal(self.wal_dir, segment_max)
        self.recent = RecentCold(20, 120)
        self.cold = LocalColdStore(self.out)
        self.flusher = Flusher(self.wal, self.out, flush_max, self.recent, self.cold)
        self.scheduler = FlushScheduler(self.wal, self.flusher, flush_max, 3600)
        self.snapshot = HotSnapshot(self.wal, tmp / "hot_snapshot.parquet", self.recent, 0)

    def close(self) -> None:
        self.wal.stop()
        self.wal.release_dir()

    def start(self) -> Harness:
        resolve_intents(self.wal_dir, self.cold)
        self.report = self.wal.recover()
        self.wal.start(asyncio.get_running_loop())
        return self


def test_concurrent_appends_share_fsyncs_and_are_all_durable(tmp_path: Path, monkeypatch) -> None:
    fsyncs = 0
    real = os.fdatasync

    def counting(fd: int) -> None:
        nonlocal fsyncs
        fsyncs += 1
        real(fd)

    monkeypatch.setattr(os, "fdatasync", counting)

    async def main() -> None:
        h = Harness(tmp_path).start()
        await asyncio.gather(*(h.wal.append(batches(i * 100)) for i in range(50)))
        h.close()

    asyncio.run(main())
    segments = sorted((tmp_path / "wal").glob("wal-*.ipc"))
    rows = sum(b.num_rows for s in segments for b in read_complete_batches(s.read_bytes())[0])
    assert rows == 5000
    # One fsync for the segment header, one per group, one at seal: far fewer than 50 exports.
    assert fsyncs < 50


def test_recovery_keeps_complete_batches_of_a_torn_segment(tmp_path: Path) -> None:
    wal_dir = tmp_path / "wal"
    wal_dir.mkdir()
    good = b"".join(b.serialize().to_pybytes() for i in range(3) for b in batches(i * 100))
    torn = batches(300)[0].serialize().to_pybytes()[:-1000]
    (wal_dir / (segment_name(7) + ".open")).write_bytes(
        v2.BATCH_SCHEMA.serialize().to_pybytes() + good + torn
    )
    (wal_dir / (segment_name(8) + ".open")).write_bytes(v2.BATCH_SCHEMA.serialize().to_pybytes()[:10])
    (wal_dir / "leftover.ipc.tmp").write_bytes(b"junk")

    async def main() -> Harness:
        h = Harness(tmp_path).start()
        await h.wal.append(batches(1000))  # new writes go to a new segment after the recovered ones
        await h.scheduler.flush_all()
        h.close()
        return h

    h = asyncio.run(main())
    assert h.report.recovered_rows == 300 and h.report.dropped_tail_bytes > 0
    ids = span_ids_in_parquet(all_parquet(h.out))
    assert len(ids) == 400 == len(set(ids))
    assert [p.name for p in wal_dir.iterdir()] == [".lock"]


def test_flush_writes_sorted_partitioned_parquet_with_bloom_filter(tmp_path: Path) -> None:
    async def main() -> Harness:
        h = Harness(tmp_path).start()
        for i, svc in enumerate(["zeta", "alpha", "mid"] * 20):
            await h.wal.append(batches(i * 100, service=svc))
        files = await h.scheduler.flush_all()
        assert files and h.recent.paths() == [str(f) for f in reversed(files)]
        h.close()
        return h

    h = asyncio.run(main())
    [path] = all_parquet(h.out)
    rel = path.relative_to(h.out).parts
    assert rel[0].startswith("year=") and rel[1].startswith("month=") and rel[2].startswith("day=")
    meta = pq.ParquetFile(path).metadata
    assert meta.num_rows == 6000 and meta.num_row_groups == 2  # 4096-row groups
    col = meta.row_group(0).column(meta.schema.names.index("trace_id"))
    assert col.compression == "ZSTD" and col.statistics is not None
    assert meta.row_group(0).column(1).bloom_filter_offset is not None  # trace_id bloom filter
    table = pq.read_table(path)
    keys = list(
        zip(table["service_name"].to_pylist(), table["start_time"].cast(pa.int64()).to_pylist(), strict=True)
    )
    assert keys == sorted(keys)
    assert [p.name for p in (tmp_path / "wal").iterdir()] == [".lock"]


@pytest.mark.parametrize("reader", paths.PATHS)
def test_flushed_rows_are_the_wal_rows_in_key_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reader: str
) -> None:
    """Row groups are gathered row by row from several segment files: every column of every row
    must arrive intact, and the file must hold exactly the WAL's rows in (service, start) order,
    with the compiled segment reader and without it."""
    paths.segment_reader(reader, monkeypatch)

    async def main() -> tuple[Harness, pa.Table]:
        h = Harness(tmp_path, segment_max=1 * MB).start()
        for i, svc in enumerate(["b", "a", "c"] * 30):  # ~9 segments, 3 row groups
            await h.wal.append(batches(i * 100, service=svc))
        await h.wal.seal_active()
        wal_rows = pa.Table.from_batches(
            [b for seg in h.wal.sealed() for b in read_complete_batches(seg.path.read_bytes())[0]]
        )
        files = await h.scheduler.flush_all()
        assert len(files) == 1
        h.close()
        return h, wal_rows

    h, wal_rows = asyncio.run(main())
    [path] = all_parquet(h.out)
    flushed = pq.read_table(path)
    assert pq.ParquetFile(path).metadata.num_row_groups == 3
    expected = decoded(wal_rows).sort_by(
        [("service_name", "ascending"), ("start_time", "ascending"), ("span_id", "ascending")]
    )
    got = decoded(flushed).sort_by(
        [("service_name", "ascending"), ("start_time", "ascending"), ("span_id", "ascending")]
    )
    assert flushed.schema.equals(v2.SCHEMA) and got.equals(expected.cast(got.schema))
    keys = list(
        zip(
            flushed["service_name"].to_pylist(),
            flushed["start_time"].cast(pa.int64()).to_pylist(),
            strict=True,
        )
    )
    assert keys == sorted(keys)


def test_segment_layout_reads_a_deleted_file_and_keeps_complete_batches_of_a_torn_one(tmp_path: Path) -> None:
    written = [b for i in range(3) for b in batches(i * 100)]
    good = b"".join(b.serialize().to_pybytes() for b in written)
    path = tmp_path / "seg.ipc.open"
    cut = batches(300)[0].serialize().to_pybytes()[:-500]  # a batch whose write was cut short
    path.write_bytes(v2.BATCH_SCHEMA.serialize().to_pybytes() + good + cut)
    fd = os.open(path, os.O_RDONLY)
    try:
        path.unlink()  # a flush may delete a segment a snapshot has opened
        torn = SegmentLayout(fd, os.fstat(fd).st_size)
        committed = SegmentLayout(fd, len(v2.BATCH_SCHEMA.serialize().to_pybytes()) + len(good))
        expected = decoded(pa.Table.from_batches(written, v2.BATCH_SCHEMA))
        for layout in (torn, committed):
            assert layout.rows == 300
            assert decoded(SegmentReader([layout]).table(v2.SCHEMA)).equals(expected)
            layout.close()  # not the layout's descriptor: left open
        os.fstat(fd)
    finally:
        os.close(fd)


def test_flush_chunks_bound_memory_by_flush_max(tmp_path: Path) -> None:
    async def main() -> Harness:
        h = Harness(tmp_path, segment_max=1 * MB, flush_max=2 * MB)
        h.start()
        for i in range(40):  # ~13 MB of WAL in ~1 MB segments
            await h.wal.append(batches(i * 100))
        await h.scheduler.flush_all()
        h.close()
        return h

    h = asyncio.run(main())
    files = all_parquet(h.out)
    assert len(files) >= 5
    ids = span_ids_in_parquet(files)
    assert len(ids) == 4000 == len(set(ids))


def test_crash_after_publish_before_segment_delete_is_not_duplicated(tmp_path: Path, monkeypatch) -> None:
    """A flush that died after renaming its Parquet file but before deleting the segments."""
    calls = {"n": 0}
    real_unlink = Path.unlink

    def crash_on_segment_delete(self: Path, missing_ok: bool = False) -> None:
        if self.name.startswith("wal-") and self.suffix == ".ipc":
            calls["n"] += 1
            raise KeyboardInterrupt("simulated crash")
        real_unlink(self, missing_ok=missing_ok)

    async def first_life() -> None:
        h = Harness(tmp_path).start()
        for i in range(3):
            await h.wal.append(batches(i * 100))
        await h.wal.seal_active()
        monkeypatch.setattr(Path, "unlink", crash_on_segment_delete)
        with contextlib.suppress(KeyboardInterrupt):
            h.flusher.flush(h.wal.sealed())
        monkeypatch.setattr(Path, "unlink", real_unlink)
        h.close()

    asyncio.run(first_life())
    assert calls["n"] == 1 and list((tmp_path / "wal").glob("flush-*.intent"))

    async def second_life() -> Harness:
        h = Harness(tmp_path).start()
        await h.scheduler.flush_all()
        h.close()
        return h

    h = asyncio.run(second_life())
    ids = span_ids_in_parquet(all_parquet(h.out))
    assert len(ids) == 300 == len(set(ids))


def test_intent_without_published_file_is_discarded_and_segments_flush_again(tmp_path: Path) -> None:
    wal_dir = tmp_path / "wal"

    async def first() -> None:
        h = Harness(tmp_path).start()
        await h.wal.append(batches(0))
        h.close()

    asyncio.run(first())
    missing = tmp_path / "parquet" / "never.parquet"
    (wal_dir / "flush-x.intent").write_bytes(
        orjson.dumps({"parquet": str(missing), "segments": [segment_name(1)]})
    )

    async def second() -> Harness:
        h = Harness(tmp_path).start()
        await h.scheduler.flush_all()
        h.close()
        return h

    h = asyncio.run(second())
    assert len(span_ids_in_parquet(all_parquet(h.out))) == 100


@pytest.mark.parametrize("reader", paths.PATHS)
def test_snapshot_holds_every_unflushed_span_including_the_active_segment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reader: str
) -> None:
    paths.segment_reader(reader, monkeypatch)

    async def main() -> None:
        h = Harness(tmp_path, segment_max=1 * MB).start()
        empty = await asyncio.to_thread(h.snapshot.prepare)
        assert (empty.path, empty.row_count) == ("", 0)
        written = []
        for i in range(45):  # several sealed segments, the active one, two row groups
            written += batches(i * 100)
            await h.wal.append(written[-1:])
        assert len(h.wal.sealed()) >= 2
        snap = await asyncio.to_thread(h.snapshot.prepare)
        assert snap.row_count == 4500
        assert snap.size_bytes == await asyncio.to_thread(os.path.getsize, snap.path)
        assert pq.ParquetFile(snap.path).metadata.num_row_groups == 2
        assert decoded(pq.read_table(snap.path)).equals(
            decoded(pa.Table.from_batches(written, v2.BATCH_SCHEMA))
        )
        files = await h.scheduler.flush_all()
        await h.wal.append(batches(5000))
        after = await asyncio.to_thread(h.snapshot.prepare)
        assert after.row_count == 100 and after.recent_cold_paths == [str(f) for f in reversed(files)]
        await h.scheduler.flush_all()
        gone = await asyncio.to_thread(h.snapshot.prepare)
        assert gone.path == "" and not (tmp_path / "hot_snapshot.parquet").exists()
        h.close()

    asyncio.run(main())


def test_snapshot_is_cached_for_its_ttl(tmp_path: Path) -> None:
    async def main() -> None:
        h = Harness(tmp_path).start()
        h.snapshot.cache_ttl = 3600
        await h.wal.append(batches(0))
        first = await asyncio.to_thread(h.snapshot.prepare)
        await h.wal.append(batches(100))
        second = await asyncio.to_thread(h.snapshot.prepare)
        assert first.row_count == second.row_count == 100
        h.snapshot.cache_ttl = 0
        third = await asyncio.to_thread(h.snapshot.prepare)
        assert third.row_count == 200
        h.close()

    asyncio.run(main())


def test_an_aging_cached_snapshot_is_rebuilt_ahead_in_the_background(tmp_path: Path) -> None:
    async def main() -> None:
        h = Harness(tmp_path).start()
        h.snapshot.cache_ttl = 3600
        h.snapshot.REFRESH_AHEAD_FRACTION = 0  # every cached answer counts as aging
        await h.wal.append(batches(0))
        first = await asyncio.to_thread(h.snapshot.prepare)
        unchanged = await asyncio.to_thread(h.snapshot.prepare)
        assert h.snapshot.refresh_thread is None  # nothing new committed: no rebuild
        await h.wal.append(batches(100))
        served = await asyncio.to_thread(h.snapshot.prepare)
        assert first.row_count == unchanged.row_count == served.row_count == 100  # served from cache
        assert h.snapshot.refresh_thread is not None
        await asyncio.to_thread(h.snapshot.refresh_thread.join, 30)
        refreshed = await asyncio.to_thread(h.snapshot.prepare)
        assert refreshed.row_count == 200  # from the cache the background rebuild left, TTL not expired
        assert pq.read_table(refreshed.path).num_rows == 200
        h.close()

    asyncio.run(main())


def test_a_build_ahead_that_a_flush_overtakes_gives_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once a flush retires segments, a build ahead could never be served: it stops at the next
    row group (leaving SNAPSHOT_PATH and no temporary file behind) instead of holding the writer
    lock a request that must rebuild is waiting for."""

    async def main() -> None:
        h = Harness(tmp_path).start()
        h.snapshot.cache_ttl = 3600
        h.snapshot.REFRESH_AHEAD_FRACTION = 0
        for i in range(45):  # two row groups
            await h.wal.append(batches(i * 100))
        first = await asyncio.to_thread(h.snapshot.prepare)
        await h.wal.append(batches(4500))
        row_groups_read = []
        read = SegmentReader.table

        def read_while_a_flush_commits(reader: SegmentReader, *args: object) -> pa.Table:
            row_groups_read.append(None)
            h.wal.generation += 1  # what a flush's commit does
            return read(reader, *args)

        monkeypatch.setattr(SegmentReader, "table", read_while_a_flush_commits)
        served = await asyncio.to_thread(h.snapshot.prepare)
        assert served.row_count == first.row_count == 4500
        assert h.snapshot.refresh_thread is not None
        await asyncio.to_thread(h.snapshot.refresh_thread.join, 30)
        assert len(row_groups_read) == 1  # stopped before the second row group
        assert pq.read_table(first.path).num_rows == 4500  # untouched
        assert not (tmp_path / "hot_snapshot.parquet.tmp").exists()
        monkeypatch.undo()
        rebuilt = await asyncio.to_thread(h.snapshot.prepare)  # the generation moved: rebuilt now
        assert rebuilt.row_count == pq.read_table(rebuilt.path).num_rows == 4600
        h.close()

    asyncio.run(main())


def test_recent_cold_is_bounded_by_count() -> None:
    recent = RecentCold(max_files=3, max_age_secs=120)
    for i in range(5):
        recent.add(f"/x/{i}.parquet")
    assert recent.paths() == ["/x/4.parquet", "/x/3.parquet", "/x/2.parquet"]
    assert RecentCold(0, 120).paths() == []


def test_a_stale_segment_list_cannot_flush_twice(tmp_path: Path) -> None:
    """A caller cancelled while its flush thread runs must not let a second flush repeat it."""

    async def main() -> Harness:
        h = Harness(tmp_path).start()
        await h.wal.append(batches(0))
        await h.wal.seal_active()
        stale = h.wal.sealed()
        first = await asyncio.gather(
            asyncio.to_thread(h.flusher.flush, stale), asyncio.to_thread(h.flusher.flush, stale)
        )
        assert sorted(len(files) for files in first) == [0, 1]
        h.close()
        return h

    h = asyncio.run(main())
    assert len(span_ids_in_parquet(all_parquet(h.out))) == 100


def test_a_second_writer_on_the_same_wal_dir_is_refused(tmp_path: Path) -> None:
    first = Wal(tmp_path / "wal", MB)
    first.recover()
    second = Wal(tmp_path / "wal", MB)
    with pytest.raises(OSError, match="in use by another ingestion process"):
        second.recover()
