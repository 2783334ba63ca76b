"""Span format versions: readers check the version stamped in each Parquet file and refuse, naming
the file, one they do not know; the other files keep answering."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from backend.index.cold import LocalColdFiles
from backend.index.indexer import Indexer
from backend.index.store import MetadataIndex
from backend.spans import engine
from junjo_common import spanformat
from junjo_common.spanformat import v1
from tests.query.spanfiles import cold_path, new_trace_id, span, write_span_file


def restamp(path: Path, version: bytes | None) -> Path:
    """Rewrites a span file with its format version stamp replaced (None: removed)."""
    table = pq.read_table(path)
    metadata = dict(table.schema.metadata or {})
    metadata.pop(v1.FORMAT_METADATA_KEY)
    if version is not None:
        metadata[v1.FORMAT_METADATA_KEY] = version
    pq.write_table(table.replace_schema_metadata(metadata), path, **v1.parquet_writer_options())
    return path


def test_writers_stamp_the_current_version(tmp_path: Path) -> None:
    path = write_span_file(tmp_path / "a.parquet", [span(new_trace_id())])
    metadata = pq.read_schema(path).metadata
    assert metadata[spanformat.FORMAT_METADATA_KEY] == str(spanformat.CURRENT.FORMAT_VERSION).encode()
    assert spanformat.format_of(str(path), metadata) is spanformat.CURRENT


@pytest.mark.parametrize("stamp", [b"99", b"0", b"v1", b"", None])
def test_unknown_versions_are_refused_by_name(stamp: bytes | None) -> None:
    metadata = {} if stamp is None else {spanformat.FORMAT_METADATA_KEY: stamp}
    with pytest.raises(spanformat.UnknownFormatVersion) as err:
        spanformat.format_of("/data/x.parquet", metadata)
    assert str(err.value).startswith("/data/x.parquet: ")
    assert "this build reads version 1" in str(err.value)


def test_indexer_reports_a_file_of_an_unknown_version_and_indexes_the_rest(tmp_path: Path) -> None:
    root = tmp_path / "parquet"
    good = write_span_file(cold_path(root, "good"), [span(new_trace_id())])
    future = restamp(write_span_file(cold_path(root, "future"), [span(new_trace_id())]), b"99")
    index = MetadataIndex(tmp_path / "metadata.db")
    result = Indexer(index, LocalColdFiles(root), poll_interval=60).run_pass()
    assert result.indexed == [str(good)] and result.failed == [str(future)]
    failure = index.failed_files()[str(future)]
    assert "unknown span format version '99'" in failure.error


def test_query_skips_a_file_of_an_unknown_version_and_answers_from_the_rest(tmp_path: Path) -> None:
    trace_id = new_trace_id()
    good = write_span_file(tmp_path / "good.parquet", [span(trace_id, name="kept")])
    future = restamp(write_span_file(tmp_path / "future.parquet", [span(trace_id, name="new")]), b"3")
    result = engine.query_spans(
        [engine.Source(str(good), "cold"), engine.Source(str(future), "cold")],
        "trace_id = $t",
        {"t": trace_id},
    )
    assert [row["name"] for row in result.rows] == ["kept"]
    assert [(s.path, s.reason) for s in result.skipped] == [
        (str(future), "unknown span format version '3' (this build reads version 1, 2)")
    ]


def test_a_file_without_a_version_stamp_is_refused(tmp_path: Path) -> None:
    path = restamp(write_span_file(tmp_path / "plain.parquet", [span(new_trace_id())]), None)
    result = engine.query_spans([engine.Source(str(path), "hot")], "true", {})
    assert result.rows == [] and result.skipped[0].reason.startswith("no span format version")
    assert pa.types.is_string(pq.read_schema(path).field("span_id").type)  # still a span file otherwise


def test_files_of_every_known_version_answer_together(tmp_path: Path) -> None:
    """Version 1 files (resource columns as plain strings) stay readable next to version 2 ones
    (dictionary-encoded), in queries and in the index."""
    root = tmp_path / "parquet"
    trace_id = new_trace_id()
    old = write_span_file(cold_path(root, "old"), [span(trace_id, name="old")], spanformat.v1)
    new = write_span_file(cold_path(root, "new"), [span(trace_id, name="new")], spanformat.v2)
    assert pa.types.is_string(pq.read_schema(old).field("resource_attributes").type)
    assert pa.types.is_dictionary(pq.read_schema(new).field("resource_attributes").type)
    result = engine.query_spans(
        [engine.Source(str(old), "cold"), engine.Source(str(new), "cold")], "trace_id = $t", {"t": trace_id}
    )
    assert sorted(row["name"] for row in result.rows) == ["new", "old"] and not result.skipped
    assert {row["service_name"] for row in result.rows} == {span(trace_id)["service_name"]}
    index = MetadataIndex(tmp_path / "metadata.db")
    assert sorted(Indexer(index, LocalColdFiles(root), poll_interval=60).run_pass().indexed) == sorted(
        [str(old), str(new)]
    )
