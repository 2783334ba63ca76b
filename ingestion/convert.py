"""OTLP `ExportTraceServiceRequest` bytes → Arrow record batches of the span schema (the hot loop).

Why it looks like this: conversion is the CPU budget of the whole service (docs/PERFORMANCE.md), so the
request is parsed with a *shadow schema* — message types built at runtime with the same field
numbers as OTLP, but with attribute lists declared as `map<string, bytes>` (the same wire bytes
as `repeated KeyValue`) and the status as raw bytes. Common AnyValue payloads (string, bool, int,
double) are decoded straight from those bytes; anything else falls back to the official classes.
Caveat of the map trick: a KeyValue without a value and one with an empty AnyValue both become
JSON null, and duplicate keys are last-wins (as in the reference).

Bad input never fails a whole request when it can be attributed to one span: if the fast parse
fails (e.g. invalid UTF-8 in a span name), the request is re-read span by span ("salvage") and
only the spans that fail are rejected, with a count and a message for `partial_success`.

The compiled fast path (ingestion/_fastconvert.c) comes first: it reads the wire format straight
into column buffers, ~8x cheaper per span (docs/PERFORMANCE.md), and hands any request it does
not fully understand (anything invalid or unusual) back to the Python path below, which stays
the definition of the semantics. `COMPILED` tells whether it is in use (the start-up log says so).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import DecodeError
from opentelemetry.proto.common.v1 import common_pb2

from junjo_common.spanformat import v1

try:
    import ingestion._fastconvert as _fastconvert
except ImportError:  # not built (no C compiler): the pure-Python path does all the work
    _fastconvert = None
else:
    _fastconvert.set_double_formatter(v1.dumps_json)
COMPILED = _fastconvert is not None

MAX_NESTING_DEPTH = 32
_I64_MAX = (1 << 63) - 1
_U64_MASK = (1 << 64) - 1
_TRACE_ID_LEN, _SPAN_ID_LEN = 16, 8
_unpack_double = struct.Struct("<d").unpack_from


# --- the shadow schema -------------------------------------------------------------------------


def _build_shadow_types() -> dict[str, Any]:
    F = descriptor_pb2.FieldDescriptorProto
    fdp = descriptor_pb2.FileDescriptorProto(
        name="junjo_ingestion_shadow_otlp.proto", package="junjo_shadow", syntax="proto3"
    )

    def message(
        name: str, fields: list[tuple[str, int, int, int, str]], nested_maps: tuple[str, ...] = ()
    ) -> None:
        msg = fdp.message_type.add(name=name)
        for map_name in nested_maps:
            entry = msg.nested_type.add(name=map_name)
            entry.options.map_entry = True
            entry.field.add(name="key", number=1, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
            entry.field.add(name="value", number=2, type=F.TYPE_BYTES, label=F.LABEL_OPTIONAL)
        for fname, number, ftype, label, type_name in fields:
            f = msg.field.add(name=fname, number=number, type=ftype, label=label)
            if type_name:
                f.type_name = type_name

    opt, rep = F.LABEL_OPTIONAL, F.LABEL_REPEATED
    attr = ("AttrEntry",)

    def attrs(msg: str, number: int) -> tuple[str, int, int, int, str]:
        return ("attributes", number, F.TYPE_MESSAGE, rep, f".junjo_shadow.{msg}.AttrEntry")

    message("Request", [("resource_spans", 1, F.TYPE_MESSAGE, rep, ".junjo_shadow.ResourceSpans")])
    message(
        "ResourceSpans",
        [
            ("resource", 1, F.TYPE_MESSAGE, opt, ".junjo_shadow.Resource"),
            ("scope_spans", 2, F.TYPE_MESSAGE, rep, ".junjo_shadow.ScopeSpans"),
        ],
    )
    message("Resource", [attrs("Resource", 1), ("dropped_attributes_count", 2, F.TYPE_UINT32, opt, "")], attr)
    message("ScopeSpans", [("spans", 2, F.TYPE_MESSAGE, rep, ".junjo_shadow.Span")])
    message(
        "Span",
        [
            ("trace_id", 1, F.TYPE_BYTES, opt, ""),
            ("span_id", 2, F.TYPE_BYTES, opt, ""),
            ("trace_state", 3, F.TYPE_STRING, opt, ""),
            ("parent_span_id", 4, F.TYPE_BYTES, opt, ""),
            ("name", 5, F.TYPE_STRING, opt, ""),
            ("kind", 6, F.TYPE_INT32, opt, ""),
            ("start_time_unix_nano", 7, F.TYPE_FIXED64, opt, ""),
            ("end_time_unix_nano", 8, F.TYPE_FIXED64, opt, ""),
            attrs("Span", 9),
            ("dropped_attributes_count", 10, F.TYPE_UINT32, opt, ""),
            ("events", 11, F.TYPE_MESSAGE, rep, ".junjo_shadow.Event"),
            ("dropped_events_count", 12, F.TYPE_UINT32, opt, ""),
            ("links", 13, F.TYPE_MESSAGE, rep, ".junjo_shadow.Link"),
            ("dropped_links_count", 14, F.TYPE_UINT32, opt, ""),
            ("status", 15, F.TYPE_BYTES, opt, ""),
            ("flags", 16, F.TYPE_FIXED32, opt, ""),
        ],
        attr,
    )
    message(
        "Event",
        [
            ("time_unix_nano", 1, F.TYPE_FIXED64, opt, ""),
            ("name", 2, F.TYPE_STRING, opt, ""),
            attrs("Event", 3),
            ("dropped_attributes_count", 4, F.TYPE_UINT32, opt, ""),
        ],
        attr,
    )
    message(
        "Link",
        [
            ("trace_id", 1, F.TYPE_BYTES, opt, ""),
            ("span_id", 2, F.TYPE_BYTES, opt, ""),
            ("trace_state", 3, F.TYPE_STRING, opt, ""),
            attrs("Link", 4),
            ("dropped_attributes_count", 5, F.TYPE_UINT32, opt, ""),
            ("flags", 6, F.TYPE_FIXED32, opt, ""),
        ],
        attr,
    )
    # Salvage view: the same request with every span kept as raw bytes, parsed one by one.
    message("RawRequest", [("resource_spans", 1, F.TYPE_MESSAGE, rep, ".junjo_shadow.RawResourceSpans")])
    message(
        "RawResourceSpans",
        [
            ("resource", 1, F.TYPE_BYTES, opt, ""),
            ("scope_spans", 2, F.TYPE_MESSAGE, rep, ".junjo_shadow.RawScopeSpans"),
        ],
    )
    message("RawScopeSpans", [("spans", 2, F.TYPE_BYTES, rep, "")])
    message("Status", [("message", 2, F.TYPE_STRING, opt, ""), ("code", 3, F.TYPE_INT32, opt, "")])

    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    return {
        name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"junjo_shadow.{name}"))
        for name in ("Request", "Resource", "Span", "RawRequest", "Status")
    }


_SHADOW = _build_shadow_types()
ShadowRequest = _SHADOW["Request"]
_ShadowResource = _SHADOW["Resource"]
_ShadowSpan = _SHADOW["Span"]
_RawRequest = _SHADOW["RawRequest"]
_ShadowStatus = _SHADOW["Status"]


# --- AnyValue decoding -------------------------------------------------------------------------


class SpanRejected(ValueError):
    """One span cannot be stored; the message says why (it goes into partial_success)."""


def _varint(b: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = b[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7


def _any_value(b: bytes, key: str) -> Any:
    """Decodes a serialized AnyValue; plain string/bool/int/double are read from the bytes."""
    if not b:
        return None
    tag = b[0]
    try:
        if tag == 0x0A:  # string_value
            n = b[1]
            if n < 0x80 and len(b) == n + 2:
                return b[2:].decode()
            n, pos = _varint(b, 1)
            if len(b) == pos + n:
                return b[pos:].decode()
        elif tag == 0x21 and len(b) == 9:  # double_value
            return _unpack_double(b, 1)[0]
        elif tag == 0x18:  # int_value
            value, pos = _varint(b, 1)
            if pos == len(b):
                value &= _U64_MASK  # an over-long varint is truncated to 64 bits, as protobuf does
                return value - (1 << 64) if value > _I64_MAX else value
        elif tag == 0x10 and len(b) == 2:  # bool_value
            return b[1] != 0
    except UnicodeDecodeError:
        raise SpanRejected(f"attribute {key!r} is not valid UTF-8") from None
    except IndexError:
        raise SpanRejected(f"attribute {key!r} is truncated") from None
    try:
        value = common_pb2.AnyValue.FromString(b)
    except DecodeError:
        raise SpanRejected(f"attribute {key!r} is not a valid AnyValue (bad UTF-8 or nesting)") from None
    return _official_any(value, key, 0)


def _official_any(v: common_pb2.AnyValue, key: str, depth: int) -> Any:
    if depth > MAX_NESTING_DEPTH:
        raise SpanRejected(f"attribute {key!r} is nested deeper than {MAX_NESTING_DEPTH} levels")
    kind = v.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [_official_any(x, key, depth + 1) for x in v.array_value.values]
    if kind == "kvlist_value":
        return {
            kv.key: _official_any(kv.value, key, depth + 1)
            for kv in v.kvlist_value.values
            if kv.HasField("value")
        }
    if kind == "bytes_value":
        return v.bytes_value.hex()
    return getattr(v, kind)


def _attributes(m: Any) -> dict[str, Any]:
    """Decodes one attribute map; the common one-field AnyValues are inlined (the hot spot)."""
    out: dict[str, Any] = {}
    k = ""
    try:
        for k in m:
            b = m[k]
            n = len(b)
            if n > 1:
                tag = b[0]
                if tag == 0x0A:  # short string: one-byte length (longer ones go through _any_value)
                    if b[1] + 2 == n:
                        out[k] = b[2:].decode()
                        continue
                elif tag == 0x18:  # int < 16384
                    if n == 2 and b[1] < 0x80:
                        out[k] = b[1]
                        continue
                    if n == 3 and b[2] < 0x80:
                        out[k] = (b[1] & 0x7F) | (b[2] << 7)
                        continue
                elif tag == 0x21:
                    if n == 9:
                        out[k] = _unpack_double(b, 1)[0]
                        continue
                elif tag == 0x10 and n == 2:
                    out[k] = b[1] != 0
                    continue
            out[k] = _any_value(b, k)
    except UnicodeDecodeError:
        raise SpanRejected(f"attribute {k!r} is not valid UTF-8") from None
    return out


# --- spans → columns ---------------------------------------------------------------------------


@dataclass
class Converted:
    """The result of one Export request: record batches plus what was rejected and why."""

    batches: list[pa.RecordBatch] = field(default_factory=list)
    accepted: int = 0
    rejected: int = 0
    messages: list[str] = field(default_factory=list)

    def reject(self, count: int, message: str) -> None:
        self.rejected += count
        if len(self.messages) < 5:  # a few examples are enough for the client
            self.messages.append(message)

    @property
    def error_message(self) -> str:
        if not self.rejected:
            return ""
        more = "" if self.rejected <= len(self.messages) else " (first errors shown)"
        return f"rejected {self.rejected} span(s){more}: " + "; ".join(self.messages)


_span_fields = attrgetter(
    "trace_id",
    "span_id",
    "parent_span_id",
    "name",
    "kind",
    "start_time_unix_nano",
    "end_time_unix_nano",
    "status",
    "flags",
    "trace_state",
    "dropped_attributes_count",
    "dropped_events_count",
    "dropped_links_count",
)
_dumps = v1.dumps_json


_NO_STATUS: tuple[int, None] = (0, None)


def _status(raw: bytes) -> tuple[int, str | None]:
    if not raw:
        return 0, None
    try:
        st = _ShadowStatus.FromString(raw)
    except DecodeError:
        raise SpanRejected("status is not decodable (invalid UTF-8 message?)") from None
    if not 0 <= st.code <= 2:
        raise SpanRejected(f"status code must be 0-2, got {st.code}")
    return st.code, st.message or None


def _events_json(events: Any) -> bytes:
    # Keys in sorted order already; one orjson call per span.
    return _dumps(
        [
            {
                "attributes": _attributes(e.attributes),
                "droppedAttributesCount": e.dropped_attributes_count,
                "name": e.name,
                "timeUnixNano": str(e.time_unix_nano),
            }
            for e in events
        ]
    )


def _links_json(links: Any) -> bytes:
    out = []
    for link in links:
        if len(link.trace_id) != _TRACE_ID_LEN or len(link.span_id) != _SPAN_ID_LEN:
            raise SpanRejected("link has an invalid trace_id/span_id length")
        out.append(
            {
                "attributes": _attributes(link.attributes),
                "droppedAttributesCount": link.dropped_attributes_count,
                "flags": link.flags,
                "spanId": link.span_id.hex(),
                "traceId": link.trace_id.hex(),
                "traceState": link.trace_state,
            }
        )
    return _dumps(out)


class _Columns:
    """Row values for one resource, collected span by span and turned into Arrow columns once."""

    __slots__ = (
        "attrs",
        "codes",
        "events",
        "fields",
        "links",
        "messages",
        "resource_dropped",
        "resource_json",
        "service",
    )

    def __init__(self, service: str, resource_json: bytes, resource_dropped: int) -> None:
        self.service, self.resource_json, self.resource_dropped = service, resource_json, resource_dropped
        self.fields: list[tuple[Any, ...]] = []
        self.attrs: list[bytes] = []
        self.events: list[bytes] = []
        self.links: list[bytes] = []
        self.codes: list[int] = []
        self.messages: list[str | None] = []

    def add(self, span: Any) -> None:
        """Converts one shadow span; raises SpanRejected (and adds nothing) if it is malformed."""
        f = _span_fields(span)
        if len(f[0]) != _TRACE_ID_LEN:
            raise SpanRejected(f"trace_id must be {_TRACE_ID_LEN} bytes, got {len(f[0])}")
        if len(f[1]) != _SPAN_ID_LEN:
            raise SpanRejected(f"span_id must be {_SPAN_ID_LEN} bytes, got {len(f[1])}")
        if f[2] and len(f[2]) != _SPAN_ID_LEN:
            raise SpanRejected(f"parent_span_id must be empty or {_SPAN_ID_LEN} bytes, got {len(f[2])}")
        if f[5] > _I64_MAX or f[6] > _I64_MAX:
            raise SpanRejected("start/end time is beyond the year 2262")
        if not 0 <= f[4] <= 5:
            raise SpanRejected(f"span kind must be 0-5, got {f[4]}")
        code, message = _status(f[7]) if f[7] else _NO_STATUS
        attrs = _dumps(_attributes(span.attributes))
        events = _events_json(span.events) if span.events else b"[]"
        links = _links_json(span.links) if span.links else b"[]"
        self.fields.append(f)
        self.attrs.append(attrs)
        self.events.append(events)
        self.links.append(links)
        self.codes.append(code)
        self.messages.append(message)

    def batch(self) -> pa.RecordBatch:
        n = len(self.fields)
        (
            trace_ids,
            span_ids,
            parents,
            names,
            kinds,
            starts,
            ends,
            _status_bytes,
            flags,
            states,
            d_attrs,
            d_events,
            d_links,
        ) = zip(*self.fields, strict=True)
        start_arr = pa.array(starts, pa.int64())
        end_arr = pa.array(ends, pa.int64())
        binary = pa.binary()
        columns = [
            pa.array([b.hex() for b in span_ids], pa.string()),
            pa.array([b.hex() for b in trace_ids], pa.string()),
            pa.array([b.hex() if b else None for b in parents], pa.string()),
            pa.array([self.service] * n, pa.string()),
            pa.array(names, pa.string()),
            pa.array(kinds, pa.int8()),
            start_arr.view(v1.TIMESTAMP),
            end_arr.view(v1.TIMESTAMP),
            pc.subtract(end_arr, start_arr),
            pa.array(self.codes, pa.int8()),
            pa.array(self.messages, pa.string()),
            pa.array(self.attrs, binary).view(pa.string()),
            pa.array(self.events, binary).view(pa.string()),
            pa.array(self.links, binary).view(pa.string()),
            pa.array(flags, pa.uint32()),
            pa.array([s or None for s in states], pa.string()),
            pa.array(d_attrs, pa.uint32()),
            pa.array(d_events, pa.uint32()),
            pa.array(d_links, pa.uint32()),
            pa.array([self.resource_json] * n, binary).view(pa.string()),
            pa.array([self.resource_dropped] * n, pa.uint32()),
        ]
        return pa.RecordBatch.from_arrays(columns, schema=v1.SCHEMA)


def _resource_columns(resource: Any) -> _Columns:
    attrs = _attributes(resource.attributes)
    service = attrs.get("service.name")
    return _Columns(
        service if isinstance(service, str) else "", _dumps(attrs), resource.dropped_attributes_count
    )


def _convert_fast(request: Any, out: Converted, batch_size: int) -> None:
    for rs in request.resource_spans:
        try:
            cols = _resource_columns(rs.resource)
        except SpanRejected as exc:
            count = sum(len(ss.spans) for ss in rs.scope_spans)
            out.reject(count, f"resource: {exc}")
            continue
        for ss in rs.scope_spans:
            for span in ss.spans:
                _add_span(cols, span, out, batch_size)
        _emit(cols, out)


def _add_span(cols: _Columns, span: Any, out: Converted, batch_size: int) -> None:
    """Adds one span (or records why it was rejected) and emits a batch once it is full."""
    try:
        cols.add(span)
    except SpanRejected as exc:
        out.reject(1, f"span {span.span_id.hex() or '?'}: {exc}")
    if len(cols.fields) >= batch_size:
        _emit(cols, out)


def _emit(cols: _Columns, out: Converted) -> None:
    if cols.fields:
        out.batches.append(cols.batch())
        out.accepted += len(cols.fields)
        cols.fields, cols.attrs, cols.events, cols.links, cols.codes, cols.messages = [], [], [], [], [], []


def _convert_salvage(data: bytes, out: Converted, batch_size: int) -> None:
    """Span-by-span path for requests the fast parse refused (bad UTF-8, corrupt nesting)."""
    try:
        raw = _RawRequest.FromString(data)
    except DecodeError as exc:
        raise InvalidRequest(f"request is not a valid ExportTraceServiceRequest: {exc}") from None
    for rs in raw.resource_spans:
        spans: Iterator[bytes] = (s for ss in rs.scope_spans for s in ss.spans)
        try:
            cols = _resource_columns(_ShadowResource.FromString(rs.resource))
        except (DecodeError, SpanRejected) as exc:
            out.reject(sum(len(ss.spans) for ss in rs.scope_spans), f"resource: {exc}")
            continue
        for index, span_bytes in enumerate(spans):
            try:
                span = _ShadowSpan.FromString(span_bytes)
            except DecodeError:
                out.reject(1, f"span #{index}: not decodable (invalid UTF-8 text or nesting too deep)")
                continue
            _add_span(cols, span, out, batch_size)
        _emit(cols, out)


class InvalidRequest(ValueError):
    """The whole request is unreadable (INVALID_ARGUMENT)."""


# --- the compiled fast path's buffers → record batches -----------------------------------------


def _strings(column: tuple[bytes, bytes, bytes | None, int], rows: int) -> pa.Array:
    offsets, data, validity, nulls = column
    return pa.Array.from_buffers(
        pa.string(),
        rows,
        [validity and pa.py_buffer(validity), pa.py_buffer(offsets), pa.py_buffer(data)],
        null_count=nulls,
    )


def _fixed(kind: pa.DataType, data: bytes, rows: int) -> pa.Array:
    return pa.Array.from_buffers(kind, rows, [None, pa.py_buffer(data)], null_count=0)


def _compiled_batch(
    rows: int,
    service: str,
    resource_json: bytes,
    resource_dropped: int,
    strs: tuple[Any, ...],
    nums: tuple[bytes, ...],
) -> pa.RecordBatch:
    # Tuple order is _fastconvert.c's: C_SPAN_ID … C_TRACE_STATE and N_KIND … N_D_LINKS.
    span_id, trace_id, parent, name, message, attrs, events, links, state = strs
    kind, start, end, duration, code, flags, d_attrs, d_events, d_links = nums
    uint32 = pa.uint32()
    return pa.RecordBatch.from_arrays(
        [
            _strings(span_id, rows),
            _strings(trace_id, rows),
            _strings(parent, rows),
            pa.array([service] * rows, pa.string()),
            _strings(name, rows),
            _fixed(pa.int8(), kind, rows),
            _fixed(v1.TIMESTAMP, start, rows),
            _fixed(v1.TIMESTAMP, end, rows),
            _fixed(pa.int64(), duration, rows),
            _fixed(pa.int8(), code, rows),
            _strings(message, rows),
            _strings(attrs, rows),
            _strings(events, rows),
            _strings(links, rows),
            _fixed(uint32, flags, rows),
            _strings(state, rows),
            _fixed(uint32, d_attrs, rows),
            _fixed(uint32, d_events, rows),
            _fixed(uint32, d_links, rows),
            pa.array([resource_json] * rows, pa.binary()).view(pa.string()),
            pa.array([resource_dropped] * rows, uint32),
        ],
        schema=v1.SCHEMA,
    )


def _convert_compiled(resources: list[tuple[Any, ...]], batch_size: int) -> Converted:
    out = Converted()
    for resource in resources:
        batch = _compiled_batch(*resource)
        out.batches.extend(batch.slice(offset, batch_size) for offset in range(0, batch.num_rows, batch_size))
        out.accepted += batch.num_rows
    return out


def convert_request(data: bytes, batch_size: int = 1000) -> Converted:
    """Converts serialized request bytes; at most `batch_size` rows per record batch."""
    if _fastconvert is not None:
        resources = _fastconvert.convert(data)
        if resources is not None:
            return _convert_compiled(resources, batch_size)
    out = Converted()
    try:
        request = ShadowRequest.FromString(data)
    except DecodeError:
        _convert_salvage(data, out, batch_size)
        return out
    _convert_fast(request, out, batch_size)
    return out
