"""convert.py equals the plain oracle and contains bad input, on both of its paths.

Every test runs twice: with the compiled fast path (ingestion/_fastconvert.c, which hands anything
unusual back to Python) and with the pure-Python shadow-schema converter alone.
"""

from __future__ import annotations

import orjson
import pyarrow as pa
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.resource.v1 import resource_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

from ingestion.convert import DEFAULT_LIMITS, InvalidRequest, Limits, convert_request
from junjo_common.spanformat import v2
from tests.ingestion import paths, reference_convert, wire
from tests.ingestion.tables import decoded
from tests.ingestion.workload import kv, make_request, make_span


@pytest.fixture(autouse=True, params=paths.PATHS)
def converter_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    return paths.converter(request.param, monkeypatch)


def rows_of(data: bytes, batch_size: int = 1000, limits: Limits = DEFAULT_LIMITS) -> list[dict]:
    out = convert_request(data, batch_size, limits)
    if not out.batches:
        return []
    table = pa.Table.from_batches(out.batches, v2.BATCH_SCHEMA)
    assert table.schema.equals(v2.BATCH_SCHEMA)
    table = decoded(table)
    for name in ("start_time", "end_time"):
        table = table.set_column(table.schema.get_field_index(name), name, table[name].cast(pa.int64()))
    return table.to_pylist()


def request_with(
    *spans: trace_pb2.Span, resource: list | None = None
) -> trace_service_pb2.ExportTraceServiceRequest:
    res = resource_pb2.Resource(attributes=resource if resource is not None else [kv("service.name", "svc")])
    return trace_service_pb2.ExportTraceServiceRequest(
        resource_spans=[
            trace_pb2.ResourceSpans(resource=res, scope_spans=[trace_pb2.ScopeSpans(spans=list(spans))])
        ]
    )


def good_span(seq: int = 0) -> trace_pb2.Span:
    import random

    return make_span(seq, random.Random(seq), 1_800_000_000_000_000_000)


def test_standard_workload_matches_the_oracle_row_for_row() -> None:
    request = make_request(0, 100)
    assert rows_of(request.SerializeToString()) == reference_convert.rows(request)


def test_every_anyvalue_kind_links_and_counters_match_the_oracle() -> None:
    span = good_span(1)
    nested = common_pb2.AnyValue(
        kvlist_value=common_pb2.KeyValueList(
            values=[
                kv("z", 1),
                kv("a", "x"),
                common_pb2.KeyValue(
                    key="arr",
                    value=common_pb2.AnyValue(
                        array_value=common_pb2.ArrayValue(
                            values=[
                                common_pb2.AnyValue(int_value=-5),
                                common_pb2.AnyValue(double_value=1e-7),
                                common_pb2.AnyValue(bytes_value=b"\x01\xff"),
                            ]
                        )
                    ),
                ),
            ]
        )
    )
    span.attributes.extend(
        [
            kv("neg", -42),
            kv("big", 2**62),
            kv("i0", 0),
            kv("i127", 127),
            kv("i128", 128),
            kv("i16383", 16383),
            kv("i16384", 16384),
            kv("t", True),
            kv("s127", "y" * 126),
            kv("s128", "y" * 127),
            kv("pi", 3.14159),
            kv("nan", float("nan")),
            kv("f", False),
            kv("bytes", b"\x00\xab"),
            kv("unicode", "日本語 ✓"),
            kv("long", "x" * 5000),
            kv("empty", ""),
            common_pb2.KeyValue(key="nested", value=nested),
            common_pb2.KeyValue(key="novalue"),
        ]
    )
    span.links.append(
        trace_pb2.Span.Link(
            trace_id=b"\x01" * 16,
            span_id=b"\x02" * 8,
            trace_state="a=b",
            attributes=[kv("k", "v")],
            dropped_attributes_count=2,
            flags=1,
        )
    )
    span.events.append(trace_pb2.Span.Event(time_unix_nano=2**64 - 1, name="max"))
    span.trace_state, span.flags = "vendor=1", 257
    span.dropped_attributes_count, span.dropped_events_count, span.dropped_links_count = 1, 2, 3
    request = request_with(span, resource=[kv("service.name", "svc"), kv("n", 1)])
    request.resource_spans[0].resource.dropped_attributes_count = 4
    got = rows_of(request.SerializeToString())
    want = reference_convert.rows(request)
    assert got[0] == want[0]
    attrs = orjson.loads(got[0]["attributes"])
    assert attrs["nested"] == {"a": "x", "arr": [-5, 1e-7, "01ff"], "z": 1}
    assert attrs["nan"] is None and attrs["novalue"] is None and attrs["bytes"] == "00ab"
    assert '"timeUnixNano":"18446744073709551615"' in got[0]["events"]
    assert got[0]["links"].startswith('[{"attributes":{"k":"v"},"droppedAttributesCount":2,"flags":1,')


def test_resource_without_service_name_gives_empty_string_and_root_parent_is_null() -> None:
    span = good_span(0)
    row = rows_of(request_with(span, resource=[kv("service.name", 5)]).SerializeToString())[0]
    assert row["service_name"] == "" and row["parent_span_id"] is None
    assert row["resource_attributes"] == '{"service.name":5}'


def test_bad_id_lengths_reject_only_those_spans() -> None:
    bad_trace, bad_span, bad_parent = good_span(1), good_span(2), good_span(3)
    bad_trace.trace_id = b"\x01" * 15
    bad_span.span_id = b""
    bad_parent.parent_span_id = b"\x01" * 3
    out = convert_request(
        request_with(good_span(0), bad_trace, bad_span, bad_parent, good_span(4)).SerializeToString()
    )
    assert (out.accepted, out.rejected) == (2, 3)
    assert "trace_id must be 16 bytes, got 15" in out.error_message
    assert "span_id must be 8 bytes, got 0" in out.error_message
    assert "parent_span_id must be empty or 8 bytes" in out.error_message


def _raw_span_with_bad_utf8_name() -> bytes:
    # Span.name (field 5, wire type 2) set to invalid UTF-8: protobuf refuses the whole message.
    marker = "NAME-PLACEHOLDER"
    span = good_span(7)
    span.name = marker
    return span.SerializeToString().replace(marker.encode(), b"\xff\xfe" + b"x" * (len(marker) - 2))


def test_non_utf8_span_name_rejects_that_span_and_keeps_the_others() -> None:
    raw = request_with(good_span(0)).resource_spans[0]
    data = wire.request(
        good_span(0).SerializeToString(),
        good_span(1).SerializeToString(),
        _raw_span_with_bad_utf8_name(),
        resource=raw.resource.SerializeToString(),
    )
    out = convert_request(data)
    assert (out.accepted, out.rejected) == (2, 1)
    assert "not decodable" in out.error_message


def test_non_utf8_attribute_value_rejects_only_that_span() -> None:
    span = good_span(1)
    span.attributes.append(kv("bad", "PLACEHOLDER"))
    data = request_with(good_span(0), span).SerializeToString()
    data = data.replace(b"PLACEHOLDER", b"\xc3\x28" + b"x" * 9)
    out = convert_request(data)
    assert (out.accepted, out.rejected) == (1, 1)
    assert "span #1: not decodable" in out.error_message


def _nested_attribute_request(depth: int, kvlist: bool) -> bytes:
    """A request whose second span has an attribute nested `depth` levels."""
    deep = wire.nested_any_value(depth, kvlist)
    span = wire.with_attribute(good_span(1).SerializeToString(), b"deep", deep)
    resource = request_with().resource_spans[0].resource.SerializeToString()
    return wire.request(good_span(0).SerializeToString(), span, resource=resource)


def test_deeply_nested_attribute_is_rejected_not_crashing() -> None:
    out = convert_request(_nested_attribute_request(40, kvlist=False))
    assert (out.accepted, out.rejected) == (1, 1)
    assert "nested deeper than 32" in out.error_message


def test_protobuf_recursion_limit_is_contained_per_span() -> None:
    out = convert_request(_nested_attribute_request(150, kvlist=True))
    assert (out.accepted, out.rejected) == (1, 1)


def test_moderate_nesting_is_stored() -> None:
    out = convert_request(_nested_attribute_request(10, kvlist=True))
    assert (out.accepted, out.rejected) == (2, 0)


def test_huge_attribute_within_the_limits_is_kept_intact() -> None:
    span = good_span(1)
    span.attributes.append(kv("huge", "é" * 2_000_000))
    rows = rows_of(request_with(span).SerializeToString(), limits=Limits(attribute_value_bytes=4_000_000))
    assert orjson.loads(rows[0]["attributes"])["huge"] == "é" * 2_000_000
    assert rows[0]["dropped_attributes_count"] == 0


def test_long_text_values_are_cut_at_a_character_with_a_marker_and_counted() -> None:
    span = good_span(1)
    span.dropped_attributes_count = 3
    del span.attributes[:]
    span.attributes.extend(
        [
            kv("short", "é" * 50),
            kv("long", "é" * 100),  # 200 bytes: cut at 100 bytes = 50 characters
            kv("odd", "a" + "é" * 100),  # cut at 99 bytes: inside a character, so at 100 - 1 - 1
            kv("blob", b"\x01" * 60),  # 120 hex digits
            kv("n", 12345678901234567890 % 2**63),
        ]
    )
    nested = span.attributes.add(key="list")
    nested.value.array_value.values.add().string_value = "x" * 150
    nested.value.array_value.values.add().string_value = "y"
    event = span.events.add(name="e", time_unix_nano=1)
    event.attributes.append(kv("long", "z" * 101))
    rows = rows_of(request_with(span).SerializeToString(), limits=Limits(attribute_value_bytes=100))
    attrs = orjson.loads(rows[0]["attributes"])
    assert attrs["short"] == "é" * 50
    assert attrs["long"] == "é" * 50 + "…[truncated from 200 bytes]"
    assert attrs["odd"] == "a" + "é" * 49 + "…[truncated from 201 bytes]"
    assert attrs["blob"] == "01" * 50 + "…[truncated from 120 bytes]"
    assert attrs["list"] == ["x" * 100 + "…[truncated from 150 bytes]", "y"]
    assert rows[0]["dropped_attributes_count"] == 3 + 4
    stored_event = orjson.loads(rows[0]["events"])[-1]
    assert stored_event["attributes"]["long"] == "z" * 100 + "…[truncated from 101 bytes]"
    assert stored_event["droppedAttributesCount"] == 1


def test_attributes_past_the_count_keep_the_first_keys_and_count_the_rest() -> None:
    span = good_span(1)
    del span.attributes[:]
    span.attributes.extend(kv(f"k{i:02d}", i) for i in range(20, 0, -1))
    span.attributes.append(kv("k05", "last wins"))
    rows = rows_of(
        request_with(span, resource=[kv("service.name", "svc"), kv("a", 1), kv("b", 2)]).SerializeToString(),
        limits=Limits(attributes_per_span=2),
    )
    assert orjson.loads(rows[0]["attributes"]) == {"k01": 1, "k02": 2}
    assert rows[0]["dropped_attributes_count"] == 18
    # resource attributes are held to the same count: "service.name" sorts after "a" and "b"
    assert rows[0]["resource_attributes"] == '{"a":1,"b":2}'
    assert rows[0]["resource_dropped_attributes_count"] == 1 and rows[0]["service_name"] == ""


def test_events_past_the_limit_are_dropped_and_counted() -> None:
    span = good_span(1)
    del span.events[:]
    span.dropped_events_count = 2
    for i in range(7):
        span.events.add(name=f"e{i}", time_unix_nano=i)
    rows = rows_of(request_with(span).SerializeToString(), limits=Limits(events_per_span=3))
    assert [e["name"] for e in orjson.loads(rows[0]["events"])] == ["e0", "e1", "e2"]
    assert rows[0]["dropped_events_count"] == 2 + 4


def test_dropped_counts_saturate_at_the_column_maximum() -> None:
    span = good_span(1)
    span.dropped_attributes_count = 2**32 - 1
    span.attributes.append(kv("long", "x" * 200))
    rows = rows_of(request_with(span).SerializeToString(), limits=Limits(attribute_value_bytes=100))
    assert rows[0]["dropped_attributes_count"] == 2**32 - 1


def test_a_span_over_the_size_limit_is_rejected_and_the_others_kept() -> None:
    big = good_span(1)
    big.attributes.append(kv("state", "s" * 6000))
    out = convert_request(
        request_with(good_span(0), big, good_span(2)).SerializeToString(), limits=Limits(span_bytes=5000)
    )
    assert (out.accepted, out.rejected) == (2, 1)
    assert f"span {big.span_id.hex()}:" in out.error_message
    assert "more than OTLP_MAX_SPAN_BYTES (5000)" in out.error_message


def test_resource_bytes_times_spans_is_bounded_per_request() -> None:
    resource = [kv("service.name", "svc"), kv("blob", "r" * 1000)]
    request = request_with(*(good_span(i) for i in range(10)), resource=resource)
    request.resource_spans.append(request_with(*(good_span(100 + i) for i in range(5))).resource_spans[0])
    resource_json = rows_of(request_with(good_span(0), resource=resource).SerializeToString())[0]
    size = len(resource_json["resource_attributes"].encode())
    out = convert_request(request.SerializeToString(), limits=Limits(resource_bytes_x_spans=4 * size + 200))
    # 4 spans of the big resource fit; its other 6 are rejected; the small resource's spans fit
    assert (out.accepted, out.rejected) == (4 + 5, 6)
    assert "OTLP_MAX_RESOURCE_BYTES_X_SPANS" in out.error_message
    assert [b.num_rows for b in out.batches] == [4, 5]


def test_a_resource_is_stored_once_per_batch() -> None:
    resource = [kv("service.name", "svc"), kv("blob", "r" * 100_000)]
    out = convert_request(
        request_with(*(good_span(i) for i in range(500)), resource=resource).SerializeToString()
    )
    [batch] = out.batches
    for name in ("service_name", "resource_attributes"):
        column = batch.column(name)
        assert pa.types.is_run_end_encoded(column.type) and len(column.values) == 1
    assert batch.nbytes < 500 * 10_000  # the 100 KB resource is held once, not 500 times


def test_bad_kind_and_status_are_rejected() -> None:
    kind, status = good_span(1), good_span(2)
    kind.kind = 9
    status.status.code = 7
    out = convert_request(request_with(good_span(0), kind, status).SerializeToString())
    assert (out.accepted, out.rejected) == (1, 2)


def test_empty_and_garbage_requests() -> None:
    assert convert_request(b"").accepted == 0
    assert convert_request(request_with().SerializeToString()).accepted == 0
    with pytest.raises(InvalidRequest):
        convert_request(b"\xff\xff\xff\xff\x0f garbage")


def test_batches_are_bounded_by_batch_size() -> None:
    out = convert_request(make_request(0, 250).SerializeToString(), batch_size=100)
    assert [b.num_rows for b in out.batches] == [100, 100, 50]
    assert out.accepted == 250
