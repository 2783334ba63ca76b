"""Fat row groups (backend/spans/limits.py `is_fat`): found from the footer, and read in turns.

Decoding a fat span costs a few times its text, so queries and the indexer read fat row groups one
at a time (`fat_read_turn`). Real Parquet files, read through DataFusion as the API reads them.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from backend.spans import engine, limits
from backend.spans.limits import fat_read_turn
from tests.query.hostile_data import MiB, write_rows
from tests.query.spanfiles import new_trace_id, span


def _reading(path: Path) -> engine.JsonReading:
    fd = os.open(path, os.O_RDONLY)
    try:
        return engine.json_reading(engine.LocalFile(fd))
    finally:
        os.close(fd)


def _spans(count: int, blob_bytes: int) -> list[dict]:
    trace = new_trace_id()
    return [span(trace, name=f"s{i}", attributes={"blob": "b" * blob_bytes}) for i in range(count)]


def test_row_groups_of_large_spans_or_much_text_are_fat(tmp_path: Path) -> None:
    small, few_large, many = tmp_path / "small.parquet", tmp_path / "large.parquet", tmp_path / "many.parquet"
    write_rows(small, iter(_spans(2000, 100)), 2000)
    write_rows(few_large, iter(_spans(3, MiB)), 3)  # 1 MiB a row: over FAT_ROW_BYTES
    write_rows(many, iter(_spans(600, 60 * 1024)), 600)  # 36 MiB: over FAT_ROW_GROUP_BYTES
    assert _reading(small) == engine.JsonReading(None, False)
    assert _reading(few_large).fat
    assert _reading(many) == engine.JsonReading(1, True)


def test_a_query_over_a_fat_file_waits_for_its_turn(tmp_path: Path) -> None:
    fat, thin = tmp_path / "fat.parquet", tmp_path / "thin.parquet"
    write_rows(fat, iter(_spans(2, MiB)), 2)
    write_rows(thin, iter(_spans(2, 100)), 2)

    def read(path: Path, done: threading.Event, rows: list[dict]) -> None:
        rows.extend(engine.stream_spans([engine.Source(str(path), "cold")], "TRUE", {}, []))
        done.set()

    fat_done, thin_done = threading.Event(), threading.Event()
    fat_rows: list[dict] = []
    thin_rows: list[dict] = []
    with fat_read_turn():  # e.g. the indexer summarising a fat row group
        fat_reader = threading.Thread(target=read, args=(fat, fat_done, fat_rows))
        fat_reader.start()
        read(thin, thin_done, thin_rows)  # a file without fat row groups does not wait
        assert len(thin_rows) == 2
        assert not fat_done.wait(0.5)
    fat_reader.join(60)
    assert fat_done.is_set() and len(fat_rows) == 2


def test_a_turn_not_given_back_is_taken_after_the_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "FAT_READ_WAIT_SECONDS", 0.1)
    entered = threading.Event()

    def second() -> None:
        with fat_read_turn():
            entered.set()

    with fat_read_turn():
        other = threading.Thread(target=second)
        other.start()
        other.join(30)
        assert entered.is_set()  # went ahead, though the first turn is still held
    with fat_read_turn():  # and the lock is free again
        pass
