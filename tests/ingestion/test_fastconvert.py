"""The compiled fast path (ingestion/_fastconvert.c) against the Python converter, differentially.

The Python converter defines the semantics; the compiled one must either produce the very same
record batches or hand the request back (return None). Random spans cover every AnyValue kind,
awkward text and numbers; random mutations of valid requests probe the wire decoder, which must
never crash, read out of bounds or accept something the Python path would reject.
"""

from __future__ import annotations

import dataclasses
import math
import random
import struct

import pyarrow as pa
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.resource.v1 import resource_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

from ingestion import _fastconvert, convert
from ingestion.convert import DEFAULT_LIMITS, Limits
from junjo_common.spanformat import v2
from tests.ingestion import wire
from tests.ingestion.workload import kv, make_request

TEXT_PIECES = (
    "plain",
    "",
    " ",
    '"quoted"',
    "back\\slash",
    "tab\tnew\nline\r",
    "\x00\x01\x1f\x7f",
    "\u2028\u2029",
    "日本語",
    "émoji 🎉",
    "\ufeff",
    "a" * 300,
    '{"json": [1, 2]}',
    "/</script>",
)


def _text(rng: random.Random) -> str:
    return "".join(rng.choice(TEXT_PIECES) for _ in range(rng.randint(0, 4)))


def _double(rng: random.Random) -> float:
    special = (
        0.0,
        -0.0,
        1e-7,
        1e16,
        1e22,
        5e-324,
        1.7976931348623157e308,
        math.inf,
        -math.inf,
        math.nan,
        0.1,
        1 / 3,
        123456789.123,
        -2.5e-310,
    )
    if rng.random() < 0.4:
        return rng.choice(special)
    return struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0]


def _any(rng: random.Random, depth: int) -> common_pb2.AnyValue:
    kinds = ["string", "bool", "int", "double", "bytes", "empty"] + (["array", "kvlist"] if depth < 4 else [])
    kind = rng.choice(kinds)
    v = common_pb2.AnyValue()
    if kind == "string":
        v.string_value = _text(rng)
    elif kind == "bool":
        v.bool_value = rng.random() < 0.5
    elif kind == "int":
        v.int_value = rng.choice(
            (0, 1, -1, 127, 128, 16383, 16384, 2**63 - 1, -(2**63), rng.randint(-(2**63), 2**63 - 1))
        )
    elif kind == "double":
        v.double_value = _double(rng)
    elif kind == "bytes":
        v.bytes_value = rng.randbytes(rng.randint(0, 20))
    elif kind == "array":
        v.array_value.values.extend(_any(rng, depth + 1) for _ in range(rng.randint(0, 4)))
    elif kind == "kvlist":
        for _ in range(rng.randint(0, 4)):
            entry = v.kvlist_value.values.add(key=rng.choice(("a", "b", "", "ключ", "b")))
            if rng.random() < 0.85:  # some entries without a value
                entry.value.CopyFrom(_any(rng, depth + 1))
    return v


def _attributes(rng: random.Random, count: int) -> list[common_pb2.KeyValue]:
    keys = ("k", "z", "a", "", "service.name", "junjo.id", "Ω", "k", "aa", "a\x00")
    out = []
    for _ in range(count):
        entry = common_pb2.KeyValue(key=rng.choice(keys))
        if rng.random() < 0.9:
            entry.value.CopyFrom(_any(rng, 0))
        out.append(entry)
    return out


def _span(rng: random.Random, seq: int) -> trace_pb2.Span:
    span = trace_pb2.Span(
        trace_id=rng.randbytes(16),
        span_id=rng.randbytes(8),
        parent_span_id=rng.choice((b"", rng.randbytes(8))),
        name=_text(rng),
        kind=rng.randint(0, 5),
        start_time_unix_nano=rng.randint(0, 2**63 - 1),
        end_time_unix_nano=rng.randint(0, 2**63 - 1),
        attributes=_attributes(rng, rng.randint(0, 8)),
        trace_state=rng.choice(("", "vendor=1")),
        flags=rng.getrandbits(32),
        dropped_attributes_count=rng.getrandbits(32),
        dropped_events_count=rng.randint(0, 3),
        dropped_links_count=rng.randint(0, 3),
    )
    for _ in range(rng.randint(0, 3)):
        span.events.add(
            time_unix_nano=rng.getrandbits(64),
            name=_text(rng),
            attributes=_attributes(rng, rng.randint(0, 3)),
            dropped_attributes_count=rng.randint(0, 2),
        )
    for _ in range(rng.randint(0, 2)):
        span.links.add(
            trace_id=rng.randbytes(16),
            span_id=rng.randbytes(8),
            trace_state=_text(rng),
            attributes=_attributes(rng, rng.randint(0, 3)),
            flags=rng.getrandbits(32),
        )
    if rng.random() < 0.5:
        span.status.code = rng.randint(0, 2)
        span.status.message = rng.choice(("", "boom", _text(rng)))
    return span


def _request(rng: random.Random, seq: int) -> trace_service_pb2.ExportTraceServiceRequest:
    request = trace_service_pb2.ExportTraceServiceRequest()
    for _ in range(rng.randint(1, 3)):
        resource_attrs = _attributes(rng, rng.randint(0, 4))
        if rng.random() < 0.7:
            resource_attrs.append(kv("service.name", rng.choice(("svc", "", b"\x01\x02", 7))))
        rs = request.resource_spans.add(
            resource=resource_pb2.Resource(
                attributes=resource_attrs, dropped_attributes_count=rng.randint(0, 2)
            )
        )
        for _ in range(rng.randint(0, 2)):
            rs.scope_spans.add(spans=[_span(rng, seq) for _ in range(rng.randint(0, 5))])
    return request


def _python(
    data: bytes, monkeypatch: pytest.MonkeyPatch, batch_size: int = 1000, limits: Limits = DEFAULT_LIMITS
) -> convert.Converted:
    with monkeypatch.context() as m:
        m.setattr(convert, "_fastconvert", None)
        return convert.convert_request(data, batch_size, limits)


def _compiled(data: object, limits: Limits = DEFAULT_LIMITS) -> tuple[list, int, list[str]] | None:
    return _fastconvert.convert(data, *dataclasses.astuple(limits))


def _table(out: convert.Converted) -> pa.Table:
    return pa.Table.from_batches(out.batches, v2.BATCH_SCHEMA)


def _assert_same(compiled: convert.Converted, python: convert.Converted) -> None:
    assert (compiled.accepted, compiled.rejected) == (python.accepted, python.rejected)
    assert compiled.messages == python.messages
    assert [b.num_rows for b in compiled.batches] == [b.num_rows for b in python.batches]
    got, want = _table(compiled), _table(python)
    got.validate(full=True)
    for name in v2.COLUMNS:
        assert got[name].equals(want[name]), f"column {name} differs"


def test_the_compiled_path_is_built_and_takes_valid_requests() -> None:
    assert convert.COMPILED
    assert _compiled(make_request(0, 10).SerializeToString()) is not None


def test_standard_workload_is_identical(monkeypatch: pytest.MonkeyPatch) -> None:
    data = make_request(0, 300).SerializeToString()
    _assert_same(convert.convert_request(data, 128), _python(data, monkeypatch, 128))


def test_random_spans_are_identical_to_the_python_converter(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(20261126)
    taken = 0
    for seq in range(400):
        data = _request(rng, seq).SerializeToString()
        if _compiled(data) is not None:
            taken += 1
        _assert_same(convert.convert_request(data, 7), _python(data, monkeypatch, 7))
    # Doubles, kvlists with valueless entries and duplicate keys must not all fall back:
    assert taken >= 380, taken


def test_mutated_requests_never_diverge_or_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    """Byte flips, truncations and splices: the compiled path may decline, never differ."""
    rng = random.Random(7)
    bases = [_request(rng, i).SerializeToString() for i in range(20)]
    bases.append(make_request(0, 5).SerializeToString())
    declined = taken = 0
    for i in range(3000):
        data = bytearray(rng.choice(bases))
        if not data:
            continue
        op = i % 3
        if op == 0:
            for _ in range(rng.randint(1, 4)):
                data[rng.randrange(len(data))] = rng.getrandbits(8)
        elif op == 1:
            del data[rng.randrange(len(data)) :]
        else:
            pos = rng.randrange(len(data))
            data[pos:pos] = rng.randbytes(rng.randint(1, 8))
        mutant = bytes(data)
        compiled = _compiled(mutant)
        if compiled is None:
            declined += 1
            continue
        taken += 1
        python = _python(mutant, monkeypatch)
        assert python.rejected == 0, "the compiled path took a request the Python path rejects in part"
        _assert_same(convert._from_compiled(compiled, 1000), python)
    assert declined > 100 and taken > 100, (declined, taken)


def test_hostile_shapes_are_declined_without_recursing_or_crashing() -> None:
    # 5,000 nested arrays: the decoder stops at depth 32 and declines.
    span = make_request(0, 1).resource_spans[0].scope_spans[0].spans[0].SerializeToString()
    deep = wire.with_attribute(span, b"k", wire.nested_any_value(5_000, kvlist=False))
    assert _compiled(wire.request(deep)) is None
    # Length prefixes pointing past the end, an 11-byte varint, a group, field number 0:
    for data in (b"\x0a\xff\xff\xff\xff\x0f", b"\x08" + b"\xff" * 10 + b"\x01", b"\x0b\x0c", b"\x02\x00"):
        assert _compiled(data) is None
    with pytest.raises(TypeError):
        _compiled("not bytes")
    with pytest.raises(TypeError):
        _fastconvert.convert(b"")  # the limits are required


def test_an_attribute_of_many_megabytes_and_many_keys_is_identical(monkeypatch: pytest.MonkeyPatch) -> None:
    request = make_request(0, 2)
    span = request.resource_spans[0].scope_spans[0].spans[0]
    span.attributes.append(kv("big", '"\\é\n' * 1_000_000))
    span.attributes.extend(kv(f"key{i:05d}", i) for i in range(20_000, 0, -1))
    data = request.SerializeToString()
    _assert_same(convert.convert_request(data), _python(data, monkeypatch))


def test_an_over_long_int_varint_is_truncated_like_protobuf(monkeypatch: pytest.MonkeyPatch) -> None:
    # int_value as a 10-byte varint whose last byte carries bits past 64 (found by fuzzing: the
    # Python path used to hand orjson an integer it cannot encode).
    span = make_request(0, 1).resource_spans[0].scope_spans[0].spans[0].SerializeToString()
    data = wire.request(wire.with_attribute(span, b"k", b"\x18" + b"\xff" * 9 + b"\x67"))
    compiled, python = convert.convert_request(data), _python(data, monkeypatch)
    _assert_same(compiled, python)
    assert '"k":-1' in _table(python)["attributes"][0].as_py()


SMALL_LIMITS = Limits(
    attribute_value_bytes=64,
    attributes_per_span=5,
    events_per_span=1,
    span_bytes=1500,
    resource_bytes_x_spans=400,
)


def test_random_spans_at_small_limits_are_identical(monkeypatch: pytest.MonkeyPatch) -> None:
    """Limits met often (long texts, many keys and events, big spans, resources repeated past their
    budget): the compiled path cuts, drops and rejects exactly as the Python path does."""
    rng = random.Random(8)
    taken = rejecting = 0
    for seq in range(300):
        data = _request(rng, seq).SerializeToString()
        compiled = _compiled(data, SMALL_LIMITS)
        if compiled is not None:
            taken += 1
            rejecting += compiled[1] > 0
        python = _python(data, monkeypatch, 7, SMALL_LIMITS)
        _assert_same(convert.convert_request(data, 7, SMALL_LIMITS), python)
    assert taken > 280 and rejecting > 50, (taken, rejecting)


@pytest.mark.parametrize(
    ("limits", "span"),
    [
        (Limits(attribute_value_bytes=64), trace_pb2.Span(attributes=[kv("k", "x" * 65)])),
        (Limits(attribute_value_bytes=64), trace_pb2.Span(attributes=[kv("k", b"x" * 33)])),
        (Limits(attributes_per_span=2), trace_pb2.Span(attributes=[kv("a", 1), kv("b", 2), kv("c", 3)])),
        (Limits(events_per_span=1), trace_pb2.Span(events=[trace_pb2.Span.Event(), trace_pb2.Span.Event()])),
        (Limits(span_bytes=2000), trace_pb2.Span(name="n" * 2000)),
    ],
)
def test_a_span_one_past_a_limit_is_converted_like_the_python_path(
    monkeypatch: pytest.MonkeyPatch, limits: Limits, span: trace_pb2.Span
) -> None:
    span.trace_id, span.span_id = b"t" * 16, b"s" * 8
    data = wire.request(span.SerializeToString())
    compiled = _compiled(data, limits)
    assert compiled is not None
    _assert_same(convert._from_compiled(compiled, 1000), _python(data, monkeypatch, limits=limits))


def test_a_resource_past_its_budget_rejects_the_rest_like_the_python_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = make_request(0, 10).SerializeToString()
    [(rows, _, resource_json, _, _)], rejected, _ = _compiled(data)
    assert (rows, rejected) == (10, 0)
    enough = Limits(resource_bytes_x_spans=10 * len(resource_json))
    assert _compiled(data, enough)[1] == 0
    short = Limits(resource_bytes_x_spans=10 * len(resource_json) - 1)
    [(rows, *_)], rejected, [message] = _compiled(data, short)
    assert (rows, rejected) == (9, 1) and "OTLP_MAX_RESOURCE_BYTES_X_SPANS" in message
    _assert_same(convert.convert_request(data, limits=short), _python(data, monkeypatch, limits=short))


def test_a_ten_mebibyte_value_is_cut_in_place_with_the_python_marker(monkeypatch: pytest.MonkeyPatch) -> None:
    """The amplification request's shape: a value far over the limit, in the resource and a span,
    as text (with multi-byte characters at the cut) and as bytes."""
    request = make_request(0, 3)
    resource = request.resource_spans[0].resource
    resource.attributes.append(kv("blob", "é" * (5 << 20)))
    span = request.resource_spans[0].scope_spans[0].spans[0]
    span.attributes.append(kv("raw", b"\xab" * (1 << 20)))
    data = request.SerializeToString()
    limits = Limits(attribute_value_bytes=(1 << 20) + 1)  # odd: the cut falls inside a character
    compiled = _compiled(data, limits)
    assert compiled is not None
    out = convert._from_compiled(compiled, 1000)
    _assert_same(out, _python(data, monkeypatch, limits=limits))
    table = _table(out)
    resource_json = table["resource_attributes"][0].as_py()
    assert f'…[truncated from {10 << 20} bytes]"' in resource_json
    assert table["resource_dropped_attributes_count"][0].as_py() == 1
