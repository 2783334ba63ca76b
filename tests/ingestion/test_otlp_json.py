"""OTLP/JSON bodies become the protobuf twin's rows exactly (ingestion/otlp_json.py + convert.py)."""

from __future__ import annotations

import copy

import orjson
import pytest
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

from ingestion.convert import convert_request
from ingestion.otlp_json import MalformedJson, json_to_protobuf
from tests.ingestion.otlp_twins import json_twin
from tests.ingestion.test_convert import good_span, request_with, rows_of
from tests.ingestion.workload import kv, make_request


def _rich_request():
    span = good_span(1)
    nested = common_pb2.AnyValue(
        kvlist_value=common_pb2.KeyValueList(
            values=[
                kv("z", 1),
                common_pb2.KeyValue(
                    key="arr",
                    value=common_pb2.AnyValue(
                        array_value=common_pb2.ArrayValue(
                            values=[
                                common_pb2.AnyValue(int_value=-5),
                                common_pb2.AnyValue(bytes_value=b"\x01"),
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
            kv("pi", 3.14159),
            kv("nan", float("nan")),
            kv("inf", float("-inf")),
            kv("bytes", b"\x00\xab"),
            kv("unicode", "日本語 ✓"),
            kv("empty", ""),
            common_pb2.KeyValue(key="nested", value=nested),
            common_pb2.KeyValue(key="novalue"),
        ]
    )
    span.links.append(
        trace_pb2.Span.Link(trace_id=b"\x01" * 16, span_id=b"\x02" * 8, trace_state="a=b", flags=1)
    )
    span.events.append(trace_pb2.Span.Event(time_unix_nano=2**64 - 1, name="max"))
    span.trace_state, span.flags, span.kind = "vendor=1", 257, 3
    span.status.code, span.status.message = 2, "boom"
    span.dropped_attributes_count, span.dropped_events_count, span.dropped_links_count = 1, 2, 3
    request = request_with(span, good_span(2), resource=[kv("service.name", "svc"), kv("n", 1)])
    request.resource_spans[0].resource.dropped_attributes_count = 4
    return request


@pytest.mark.parametrize(
    ("proto_names", "int64_as_numbers"), [(False, False), (True, False), (False, True)], ids=str
)
def test_json_twin_gives_the_same_rows(proto_names: bool, int64_as_numbers: bool) -> None:
    for request in (_rich_request(), make_request(0, 100)):
        twin = orjson.dumps(json_twin(request, proto_names, int64_as_numbers))
        assert rows_of(json_to_protobuf(twin)) == rows_of(request.SerializeToString())


def test_unknown_fields_are_ignored_and_enum_names_accepted() -> None:
    request = request_with(good_span(0))
    twin = json_twin(request)
    span = twin["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    span["futureField"] = {"x": 1}
    span["kind"] = "SPAN_KIND_INTERNAL"
    twin["resourceSpans"][0]["schemaUrl"] = "https://opentelemetry.io/schemas/1.0"
    request.resource_spans[0].scope_spans[0].spans[0].kind = 1
    assert rows_of(json_to_protobuf(orjson.dumps(twin))) == rows_of(request.SerializeToString())


def test_wrong_length_hex_id_rejects_that_span_like_protobuf() -> None:
    bad = good_span(1)
    bad.trace_id = b"\x01\x02\x03"
    request = request_with(good_span(0), bad)
    out_json = convert_request(json_to_protobuf(orjson.dumps(json_twin(request))))
    out_proto = convert_request(request.SerializeToString())
    assert (out_json.accepted, out_json.rejected) == (out_proto.accepted, out_proto.rejected) == (1, 1)
    assert out_json.error_message == out_proto.error_message


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["resourceSpans"][0]["scopeSpans"][0]["spans"][0].update(traceId="zz" * 16), "traceId"),
        (lambda d: d["resourceSpans"][0]["scopeSpans"][0]["spans"][0].update(spanId="0102 0304"), "spanId"),
        (lambda d: d["resourceSpans"][0]["scopeSpans"][0]["spans"][0].update(name=5), "name"),
        (lambda d: d["resourceSpans"][0]["scopeSpans"][0]["spans"][0].update(startTimeUnixNano="x"), "Time"),
        (lambda d: d["resourceSpans"][0]["scopeSpans"][0].update(spans={"a": 1}), "spans"),
        (lambda d: d.update(resourceSpans="nope"), "resourceSpans"),
    ],
)
def test_malformed_documents_name_the_problem(mutate, message: str) -> None:
    document = copy.deepcopy(json_twin(request_with(good_span(0))))
    mutate(document)
    with pytest.raises(MalformedJson, match=message):
        json_to_protobuf(orjson.dumps(document))


@pytest.mark.parametrize("body", [b"", b"{", b"[]", b'"x"', b"\xff\xfe", b"[" * 5000 + b"]" * 5000])
def test_non_documents_are_malformed(body: bytes) -> None:
    with pytest.raises(MalformedJson):
        json_to_protobuf(body)


def test_deep_attribute_nesting_is_malformed_not_a_crash() -> None:
    value: dict = {"stringValue": "leaf"}
    for _ in range(60):  # 180 messages deep: past protobuf's limit of 100, within orjson's
        value = {"kvlistValue": {"values": [{"key": "k", "value": value}]}}
    document = json_twin(request_with(good_span(0)))
    document["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["attributes"] = [
        {"key": "deep", "value": value}
    ]
    with pytest.raises(MalformedJson):
        json_to_protobuf(orjson.dumps(document))
