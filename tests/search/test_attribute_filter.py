"""The per-file attribute filters (backend.index.attribute_filter): an equality search on any
attribute opens only the files that may hold the value, never loses a match, and stays bounded
whatever the attributes hold. On both index engines where the index answers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.index import attribute_filter
from backend.index.attribute_filter import BLOCK_BYTES, MAX_BLOCKS, PairCollector
from backend.index.cold import LocalColdFiles
from backend.index.indexer import Indexer
from backend.index.store import MetadataIndex
from backend.index.summary import summarize
from backend.search.attributes import MAX_VALUE_CHARS
from backend.search.compile import compile_search
from backend.search.language import parse
from backend.spans import planner
from backend.spans.ingestion_client import HotTiers
from backend.spans.planner import ListQuery
from junjo_common.spanformat.v1 import dumps_json
from tests.query.spanfiles import BASE_NS, cold_path, new_trace_id, span, write_span_file
from tests.support.old_index import index_with_one_file

SEC = 10**9


def _file(root: Path, name: str, first: int, attributes: list[dict[str, Any]]) -> Path:
    rows = [
        span(new_trace_id(), start_ns=BASE_NS + (first + i) * SEC, attributes=values)
        for i, values in enumerate(attributes)
    ]
    return write_span_file(cold_path(root, name), rows)


def _search(index: MetadataIndex, query: str, kind: str = "spans") -> planner.Answer:
    q = ListQuery(service="svc", kind=kind, limit=100, search=compile_search(parse(query)))  # type: ignore[arg-type]
    return planner.list_spans(index, HotTiers(), q)


_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t"})


def _quoted(text: str) -> str:
    """`text` as a quoted string of the search language."""
    return '"' + text.translate(_ESCAPES) + '"'


def test_a_rare_value_of_any_attribute_opens_only_the_file_holding_it(
    tmp_path: Path, index_url: str | None
) -> None:
    root = tmp_path / "parquet"
    paths = [
        _file(root, f"f{f}", f * 100, [{"order.id": f"o-{f}-{i}", "tries": i, "ok": True} for i in range(50)])
        for f in range(6)
    ]
    index = MetadataIndex(tmp_path / "sqlite" / "metadata.db", index_url)
    Indexer(index, LocalColdFiles(root), poll_interval=60).run_pass()
    assert index.files_without_pair("order.id", "o-3-7") == {str(p) for i, p in enumerate(paths) if i != 3}
    assert index.files_without_pair("tries", "7") == set()  # every file has tries = 7
    # Every other file is broken after indexing: a search that opened one would report it skipped.
    for i, path in enumerate(paths):
        if i != 3:
            path.write_bytes(b"PAR1 not parquet at all PAR1")
    for kind in ("spans", "roots"):
        answer = _search(index, "order.id = o-3-7", kind)
        assert [r["span_id"] for r in answer.data] and answer.skipped == []
        answer = _search(index, "tries = 7 AND order.id = o-3-7 AND ok = true", kind)
        assert len(answer.data) == 1 and answer.skipped == []
    # A value no file holds opens none; a range or a value longer than the filters record opens all.
    assert _search(index, "order.id = nowhere").skipped == []
    assert len(_search(index, "tries > 48").skipped) == 5
    assert len(_search(index, f"order.id = {'x' * (MAX_VALUE_CHARS + 1)}").skipped) == 5


def test_numbers_booleans_and_strings_are_found_in_every_spelling(tmp_path: Path) -> None:
    root = tmp_path / "parquet"
    values = [42, 42.0, "42", 1, True, 0, False, 2.5]
    written = {}  # span id -> its value
    for i, value in enumerate(values):
        path = _file(root, f"f{i}", i * 10, [{"v": value}])
        written |= {row["span_id"]: value for row in pq.read_table(path, columns=["span_id"]).to_pylist()}
    index = MetadataIndex(tmp_path / "metadata.db")
    Indexer(index, LocalColdFiles(root), poll_interval=60).run_pass()
    expected = {
        "v = 42": [42, 42, "42"],
        'v = "42"': ["42"],
        "v = 1": [1],
        "v = true": [True],
        "v = 0": [0],
        "v = false": [False],
        "v = 2.5": [2.5],
    }
    for query, found in expected.items():
        rows = _search(index, query).data
        assert sorted((written[r["span_id"]] for r in rows), key=repr) == sorted(found, key=repr), query


def test_true_and_1_false_and_0_in_one_file_are_each_recorded(tmp_path: Path) -> None:
    # Python's sets take True for 1 and False for 0: whichever comes first must not hide the other.
    for order in ([True, 1, False, 0], [1, True, 0, False]):
        built = summarize(_file(tmp_path / "parquet", f"f{order[0]}", 0, [{"v": v} for v in order]))
        assert built.attribute_filter is not None
        assert all(built.attribute_filter.may_hold("v", text) for text in ("true", "1", "false", "0"))


_KEYS = st.text(min_size=1, max_size=30)
_SCALARS = (
    st.text(max_size=MAX_VALUE_CHARS + 80)
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.booleans()
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=3),
    max_leaves=8,
)


def _pairs(value: Any) -> list[tuple[str, Any]]:
    """Every scalar (key, value) at any depth, as a search's regular expression finds them."""
    found: list[tuple[str, Any]] = []
    items = value.items() if isinstance(value, dict) else ((None, v) for v in value)
    for key, item in items:
        if isinstance(item, dict | list):
            found += _pairs(item)
        elif key is not None:
            found.append((key, item))
    return found


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return _quoted(value)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spans=st.lists(st.dictionaries(_KEYS, _VALUES, min_size=1, max_size=6), min_size=1, max_size=8))
def test_no_attribute_value_is_ever_ruled_out_of_the_file_holding_it(
    tmp_path_factory: pytest.TempPathFactory, spans: list[dict[str, Any]]
) -> None:
    tmp_path = tmp_path_factory.mktemp("filter")
    root = tmp_path / "parquet"
    path = _file(root, "f", 0, spans)
    _file(root, "other", 100, [{"something": "else"}])  # gives the filter another file to rule out
    index = MetadataIndex(tmp_path / "metadata.db")
    Indexer(index, LocalColdFiles(root), poll_interval=60).run_pass()
    for attributes in spans:
        for key, value in _pairs(orjson_roundtrip(attributes)):
            query = f"{_quoted(key)} = {_query_value(value)}"
            if len(query) > 1000:
                continue
            search = compile_search(parse(query))
            for attribute, text in search.filtered:
                assert str(path) not in index.files_without_pair(attribute, text), query
            if isinstance(value, str) and len(value) > MAX_VALUE_CHARS:
                assert search.filtered == []  # too long to be recorded: the filters are not asked
    index.close()


def orjson_roundtrip(attributes: dict[str, Any]) -> Any:
    """The attributes as stored (the span format's JSON, read back)."""
    return orjson.loads(dumps_json(attributes))


def test_a_file_with_more_distinct_pairs_than_a_filter_can_tell_apart_is_always_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "parquet"
    spans = [{f"k{i}.{j}": f"v{i}.{j}" for j in range(20)} for i in range(100)]
    path = _file(root, "wide", 0, spans)
    monkeypatch.setattr(attribute_filter, "MAX_BLOCKS", 2)  # 64 bytes for 2,000 distinct pairs
    assert summarize(path).attribute_filter is None
    index = MetadataIndex(tmp_path / "metadata.db")
    Indexer(index, LocalColdFiles(root), poll_interval=60).run_pass()
    assert index.files_without_pair("k5.5", "nowhere") == set()
    assert len(_search(index, "k7.3 = v7.3").data) == 1


def test_a_filter_is_bounded_by_bytes_whatever_the_number_of_distinct_pairs(tmp_path: Path) -> None:
    # 400,000 distinct pairs in one file: more than the largest filter holds at its target rate.
    wide = [{f"attribute.{j}": f"{i}-{j}" for j in range(400)} for i in range(1000)]
    path = _file(tmp_path / "parquet", "wide", 0, wide)
    built = summarize(path).attribute_filter
    assert built is not None and built.blocks == MAX_BLOCKS
    assert sum(len(page) for page in built.pages) == MAX_BLOCKS * BLOCK_BYTES
    assert all(built.may_hold(f"attribute.{j}", f"{i}-{j}") for i in range(0, 1000, 37) for j in range(400))
    # A small file gets a small filter: the size follows the attribute bytes, then the fill.
    small = summarize(_file(tmp_path / "parquet", "small", 0, [{"a": "b"}] * 10)).attribute_filter
    assert small is not None and small.blocks == 1 and small.may_hold("a", "b")


def test_attributes_that_are_not_a_json_object_leave_the_file_unfiltered() -> None:
    collector = PairCollector(100)
    collector.add_batch(pa.array(['{"a":1}', None, "[1,2]"]))
    assert collector.finish() is None
    collector = PairCollector(100)
    collector.add_batch(pa.array(['{"a":1}', None, '{"b":{"c":[{"d":"e"}]}}']))
    built = collector.finish()
    assert built is not None and built.may_hold("a", "1") and built.may_hold("d", "e")
    assert not built.may_hold("b", "e")


def test_attributes_nested_deeper_than_the_interpreter_stack_are_walked() -> None:
    # orjson parses up to 1024 levels; the walk must not need a stack frame per level.
    deep = '{"k":' + "[" * 1000 + '{"d":"e"}' + "]" * 1000 + "}"
    collector = PairCollector(len(deep))
    collector.add_batch(pa.array([deep]))
    built = collector.finish()
    assert built is not None and built.may_hold("d", "e")


def test_migration_8_summarises_files_indexed_before_for_their_filters(tmp_path: Path) -> None:
    root = tmp_path / "parquet"
    path = _file(root, "v7", 0, [{"order.id": "o-1"}])
    db = tmp_path / "sqlite" / "metadata.db"
    index_with_one_file(db, 7, path, BASE_NS, BASE_NS, BASE_NS + 1, 1)

    index = MetadataIndex(db)
    assert index.paths_without_keys() == [str(path)]
    assert index.files_without_pair("order.id", "o-2") == set()  # no filter yet: the file may hold it
    assert Indexer(index, LocalColdFiles(root), poll_interval=60).run_pass().indexed == [str(path)]
    assert index.files_without_pair("order.id", "o-2") == {str(path)}
    assert index.files_without_pair("order.id", "o-1") == set()
    index.forget([str(path)])
    assert index._conn().execute("SELECT count(*) FROM attribute_filter_pages").fetchone()[0] == 0
