"""OTLP `ExportTraceServiceRequest` bytes → Arrow record batches of the span schema, under limits.

Two converters produce the same batches. The compiled one (ingestion/_fastconvert.c) reads the
wire format straight into column buffers and takes every ordinary request, applying the limits
below itself (a hostile request never costs the Python path's copies of its values). It hands
back (returns None) any request it does not fully understand — anything invalid or unusual — and
the plain Python converter below takes it. The Python converter is the definition of the
semantics: it is written to be read, over the official protobuf classes, and the tests compare
both row for row. `COMPILED` tells whether the fast path is in use (the start-up log says so).

Bad input never fails a whole request when it can be attributed to one span: each span is parsed
on its own, and a span that is malformed or over a limit is rejected with a count and a message
for `partial_success`; the others are stored. Only unreadable framing fails the request.

Telemetry is attacker-controlled, so the work and the memory are bounded by the bytes received
(`Limits`, documented in the README):
- a string or bytes attribute value over `attribute_value_bytes` (bytes shown as hex count two
  per byte) is cut at a character boundary and ends with TRUNCATED_MARKER; the owner's dropped-
  attributes count goes up by one per attribute cut;
- an attribute list with more than `attributes_per_span` keys keeps the first keys in sorted
  order; the rest count as dropped (span, event, link and resource attributes alike);
- events past `events_per_span` are dropped and counted in `dropped_events_count`;
- a span whose stored text (ids, name, status message, trace state and the JSON columns) is over
  `span_bytes` is rejected;
- a resource is stored once per batch (span format v2), but readers may repeat it per span, so
  its JSON bytes times the spans stored with it is bounded per request (`resource_bytes_x_spans`);
  spans past that are rejected.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import DecodeError
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.resource.v1 import resource_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

from junjo_common.spanformat import v2

MAX_NESTING_DEPTH = 32
TRUNCATED_MARKER = "…[truncated from {} bytes]"
MAX_MESSAGES = 5  # rejection messages given back per request: a few examples are enough

try:
    import ingestion._fastconvert as _fastconvert
except ImportError:  # not built (no C compiler): the pure-Python path does all the work
    _fastconvert = None
else:
    _fastconvert.configure(v2.dumps_json, TRUNCATED_MARKER, MAX_MESSAGES)
COMPILED = _fastconvert is not None
_U32_MAX = (1 << 32) - 1
_TRACE_ID_LEN, _SPAN_ID_LEN = 16, 8
# The columns whose text counts toward a span's size (the resource's are bounded separately).
_SPAN_TEXT_COLUMNS = (
    "span_id",
    "trace_id",
    "parent_span_id",
    "name",
    "status_message",
    "attributes",
    "events",
    "links",
    "trace_state",
)


@dataclass(frozen=True)
class Limits:
    attribute_value_bytes: int = 1 << 20
    attributes_per_span: int = 1024
    events_per_span: int = 1024
    span_bytes: int = 8 << 20
    resource_bytes_x_spans: int = 64 << 20


DEFAULT_LIMITS = Limits()


class SpanRejected(ValueError):
    """One span cannot be stored; the message says why (it goes into partial_success)."""


class InvalidRequest(ValueError):
    """The whole request is unreadable (INVALID_ARGUMENT)."""


@dataclass
class Converted:
    """The result of one Export request: record batches plus what was rejected and why."""

    batches: list[pa.RecordBatch] = field(default_factory=list)
    accepted: int = 0
    rejected: int = 0
    messages: list[str] = field(default_factory=list)

    def reject(self, count: int, message: str) -> None:
        self.rejected += count
        if len(self.messages) < MAX_MESSAGES:
            self.messages.append(message)

    @property
    def error_message(self) -> str:
        if not self.rejected:
            return ""
        more = "" if self.rejected <= len(self.messages) else " (first errors shown)"
        return f"rejected {self.rejected} span(s){more}: " + "; ".join(self.messages)


def convert_request(data: bytes, batch_size: int = 1000, limits: Limits = DEFAULT_LIMITS) -> Converted:
    """Converts serialized request bytes; at most `batch_size` rows per record batch."""
    if _fastconvert is not None:
        compiled = _fastconvert.convert(
            data,
            limits.attribute_value_bytes,
            limits.attributes_per_span,
            limits.events_per_span,
            limits.span_bytes,
            limits.resource_bytes_x_spans,
        )
        if compiled is not None:
            return _from_compiled(compiled, batch_size)
    return _convert(data, batch_size, limits)


# --- the request's framing: resources and spans kept as bytes, each parsed on its own ------------


def _framing_type() -> Any:
    """ExportTraceServiceRequest with the same field numbers, but every resource and span left as
    bytes: one malformed span must not make the whole request unreadable. `resource` is repeated
    so that several occurrences merge as protobuf merges a singular message field."""
    F = descriptor_pb2.FieldDescriptorProto
    fdp = descriptor_pb2.FileDescriptorProto(name="junjo_otlp_framing.proto", package="junjo_framing")
    request = fdp.message_type.add(name="Request")
    request.field.add(
        name="resource_spans",
        number=1,
        type=F.TYPE_MESSAGE,
        label=F.LABEL_REPEATED,
        type_name=".junjo_framing.ResourceSpans",
    )
    resource_spans = fdp.message_type.add(name="ResourceSpans")
    resource_spans.field.add(name="resource", number=1, type=F.TYPE_BYTES, label=F.LABEL_REPEATED)
    resource_spans.field.add(
        name="scope_spans",
        number=2,
        type=F.TYPE_MESSAGE,
        label=F.LABEL_REPEATED,
        type_name=".junjo_framing.ScopeSpans",
    )
    scope_spans = fdp.message_type.add(name="ScopeSpans")
    scope_spans.field.add(name="spans", number=2, type=F.TYPE_BYTES, label=F.LABEL_REPEATED)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("junjo_framing.Request"))


_FramingRequest = _framing_type()


def _convert(data: bytes, batch_size: int, limits: Limits) -> Converted:
    try:
        request = _FramingRequest.FromString(data)
    except DecodeError as exc:
        raise InvalidRequest(f"request is not a valid ExportTraceServiceRequest: {exc}") from None
    out = Converted()
    resource_budget = limits.resource_bytes_x_spans
    for resource_spans in request.resource_spans:
        count = sum(len(scope.spans) for scope in resource_spans.scope_spans)
        try:
            resource = _resource(resource_spans.resource, limits)
        except DecodeError:
            out.reject(count, "resource: not decodable (invalid UTF-8 text or nesting too deep)")
            continue
        except SpanRejected as exc:
            out.reject(count, f"resource: {exc}")
            continue
        rows: list[dict[str, Any]] = []
        resource_bytes = len(resource.attributes.encode())
        spans = (span for scope in resource_spans.scope_spans for span in scope.spans)
        for index, raw in enumerate(spans):
            if resource_bytes > resource_budget:
                out.reject(
                    count - index,
                    f"resource: its {resource_bytes} bytes of attributes would be stored with more "
                    f"spans than OTLP_MAX_RESOURCE_BYTES_X_SPANS allows per request",
                )
                break
            try:
                rows.append(_span_row(raw, index, limits))
            except SpanRejected as exc:
                out.reject(1, str(exc))
                continue
            resource_budget -= resource_bytes
            if len(rows) == batch_size:
                _emit(rows, resource, out)
                rows = []
        _emit(rows, resource, out)
    return out


# --- resources and spans → rows --------------------------------------------------------------


@dataclass(frozen=True)
class _Resource:
    service_name: str
    attributes: str  # JSON
    dropped_attributes_count: int


def _resource(occurrences: Iterable[bytes], limits: Limits) -> _Resource:
    resource = resource_pb2.Resource()
    for raw in occurrences:
        resource.MergeFromString(raw)
    attributes, dropped = _attributes(resource.attributes, limits)
    service = attributes.get("service.name")
    return _Resource(
        service_name=service if isinstance(service, str) else "",
        attributes=_json(attributes),
        dropped_attributes_count=_u32(resource.dropped_attributes_count + dropped),
    )


def _span_row(raw: bytes, index: int, limits: Limits) -> dict[str, Any]:
    """One span's row without the resource columns; raises SpanRejected with the message."""
    try:
        span = trace_pb2.Span.FromString(raw)
    except DecodeError:
        raise SpanRejected(f"span #{index}: not decodable (invalid UTF-8 text or nesting too deep)") from None
    try:
        return _row(span, limits)
    except SpanRejected as exc:
        raise SpanRejected(f"span {span.span_id.hex() or '?'}: {exc}") from None


def _row(span: trace_pb2.Span, limits: Limits) -> dict[str, Any]:
    if len(span.trace_id) != _TRACE_ID_LEN:
        raise SpanRejected(f"trace_id must be {_TRACE_ID_LEN} bytes, got {len(span.trace_id)}")
    if len(span.span_id) != _SPAN_ID_LEN:
        raise SpanRejected(f"span_id must be {_SPAN_ID_LEN} bytes, got {len(span.span_id)}")
    if span.parent_span_id and len(span.parent_span_id) != _SPAN_ID_LEN:
        raise SpanRejected(
            f"parent_span_id must be empty or {_SPAN_ID_LEN} bytes, got {len(span.parent_span_id)}"
        )
    start, end = span.start_time_unix_nano, span.end_time_unix_nano
    if start >= 1 << 63 or end >= 1 << 63:
        raise SpanRejected("start/end time is beyond the year 2262")
    if not 0 <= span.kind <= 5:
        raise SpanRejected(f"span kind must be 0-5, got {span.kind}")
    if not 0 <= span.status.code <= 2:
        raise SpanRejected(f"status code must be 0-2, got {span.status.code}")
    attributes, dropped_attributes = _attributes(span.attributes, limits)
    kept_events = span.events[: limits.events_per_span]
    row: dict[str, Any] = {
        "span_id": span.span_id.hex(),
        "trace_id": span.trace_id.hex(),
        "parent_span_id": span.parent_span_id.hex() or None,
        "name": span.name,
        "span_kind": span.kind,
        "start_time": start,
        "end_time": end,
        "duration_ns": end - start,
        "status_code": span.status.code,
        "status_message": span.status.message or None,
        "attributes": _json(attributes),
        "events": _json([_event(event, limits) for event in kept_events]),
        "links": _json([_link(link, limits) for link in span.links]),
        "trace_flags": span.flags,
        "trace_state": span.trace_state or None,
        "dropped_attributes_count": _u32(span.dropped_attributes_count + dropped_attributes),
        "dropped_events_count": _u32(span.dropped_events_count + len(span.events) - len(kept_events)),
        "dropped_links_count": span.dropped_links_count,
    }
    size = sum(len(row[name].encode()) for name in _SPAN_TEXT_COLUMNS if row[name] is not None)
    if size > limits.span_bytes:
        raise SpanRejected(
            f"{size} bytes after conversion, more than OTLP_MAX_SPAN_BYTES ({limits.span_bytes})"
        )
    return row


def _event(event: trace_pb2.Span.Event, limits: Limits) -> dict[str, Any]:
    attributes, dropped = _attributes(event.attributes, limits)
    return {
        "attributes": attributes,
        "droppedAttributesCount": event.dropped_attributes_count + dropped,
        "name": event.name,
        "timeUnixNano": str(event.time_unix_nano),
    }


def _link(link: trace_pb2.Span.Link, limits: Limits) -> dict[str, Any]:
    if len(link.trace_id) != _TRACE_ID_LEN or len(link.span_id) != _SPAN_ID_LEN:
        raise SpanRejected("link has an invalid trace_id/span_id length")
    attributes, dropped = _attributes(link.attributes, limits)
    return {
        "attributes": attributes,
        "droppedAttributesCount": link.dropped_attributes_count + dropped,
        "flags": link.flags,
        "spanId": link.span_id.hex(),
        "traceId": link.trace_id.hex(),
        "traceState": link.trace_state,
    }


# --- attributes --------------------------------------------------------------------------------


def _attributes(key_values: Iterable[common_pb2.KeyValue], limits: Limits) -> tuple[dict[str, Any], int]:
    """An attribute list as a JSON-ready dict, and how many attributes were dropped or cut.

    The last of duplicate keys wins; a key without a value is null.
    """
    latest = {kv.key: kv for kv in key_values}
    keys = sorted(latest)
    kept = keys[: limits.attributes_per_span]
    out: dict[str, Any] = {}
    cut = 0
    for key in kept:
        kv = latest[key]
        value, truncated = _value(kv.value, key, 0, limits) if kv.HasField("value") else (None, False)
        out[key] = value
        cut += truncated
    return out, len(keys) - len(kept) + cut


def _value(v: common_pb2.AnyValue, key: str, depth: int, limits: Limits) -> tuple[Any, bool]:
    """One AnyValue as JSON-ready data, and whether some text in it was truncated."""
    if depth > MAX_NESTING_DEPTH:
        raise SpanRejected(f"attribute {key!r} is nested deeper than {MAX_NESTING_DEPTH} levels")
    kind = v.WhichOneof("value")
    if kind is None:
        return None, False
    if kind == "string_value":
        return _truncated(v.string_value, limits.attribute_value_bytes)
    if kind == "bytes_value":
        return _truncated(v.bytes_value.hex(), limits.attribute_value_bytes)
    if kind == "array_value":
        items = [_value(item, key, depth + 1, limits) for item in v.array_value.values]
        return [value for value, _ in items], any(truncated for _, truncated in items)
    if kind == "kvlist_value":
        latest = {kv.key: kv.value for kv in v.kvlist_value.values if kv.HasField("value")}
        entries = {k: _value(item, key, depth + 1, limits) for k, item in latest.items()}
        return {k: value for k, (value, _) in entries.items()}, any(t for _, t in entries.values())
    return getattr(v, kind), False  # bool, int, double


def _truncated(text: str, limit: int) -> tuple[str, bool]:
    if len(text) * 4 <= limit:  # short enough whatever its characters (UTF-8: <= 4 bytes each)
        return text, False
    if text.isascii():  # one byte per character: no copy of a long value to measure it
        return (
            (text, False) if len(text) <= limit else (text[:limit] + TRUNCATED_MARKER.format(len(text)), True)
        )
    data = text.encode()
    if len(data) <= limit:
        return text, False
    cut = limit
    while cut and data[cut] & 0xC0 == 0x80:  # not inside a multi-byte character
        cut -= 1
    return data[:cut].decode() + TRUNCATED_MARKER.format(len(data)), True


def _json(value: Any) -> str:
    return v2.dumps_json(value).decode()


def _u32(count: int) -> int:
    return min(count, _U32_MAX)


# --- rows → record batches -------------------------------------------------------------------


def _emit(rows: list[dict[str, Any]], resource: _Resource, out: Converted) -> None:
    if not rows:
        return
    resource_columns = {
        "service_name": v2.repeated(resource.service_name, len(rows)),
        "resource_attributes": v2.repeated(resource.attributes, len(rows)),
        "resource_dropped_attributes_count": pa.array(
            [resource.dropped_attributes_count] * len(rows), pa.uint32()
        ),
    }
    columns = [
        resource_columns[f.name]
        if f.name in resource_columns
        else pa.array([r[f.name] for r in rows], f.type)
        for f in v2.BATCH_SCHEMA
    ]
    out.batches.append(pa.RecordBatch.from_arrays(columns, schema=v2.BATCH_SCHEMA))
    out.accepted += len(rows)


_TYPES = {f.name: f.type for f in v2.BATCH_SCHEMA}


def _from_compiled(compiled: tuple[list[tuple[Any, ...]], int, list[str]], batch_size: int) -> Converted:
    """The compiled path's buffers (named by _fastconvert.COLUMNS) → record batches, and what it
    rejected (a count and the first messages)."""
    resources, rejected, messages = compiled
    out = Converted(rejected=rejected, messages=messages)
    for rows, service, resource_json, resource_dropped, buffers in resources:
        columns = {
            name: _array(_TYPES[name], rows, column)
            for name, column in zip(_fastconvert.COLUMNS, buffers, strict=True)
        }
        columns["resource_dropped_attributes_count"] = pa.array([resource_dropped] * rows, pa.uint32())
        for offset in range(0, rows, batch_size):
            n = min(batch_size, rows - offset)
            resource_columns = {
                "service_name": v2.repeated(service, n),
                "resource_attributes": v2.repeated(resource_json, n),
            }
            arrays = [
                resource_columns[name]
                if name in resource_columns
                else columns[name]
                if n == rows
                else columns[name].slice(offset, n)
                for name in v2.COLUMNS
            ]
            out.batches.append(pa.RecordBatch.from_arrays(arrays, schema=v2.BATCH_SCHEMA))
        out.accepted += rows
    return out


def _array(kind: pa.DataType, rows: int, column: Any) -> pa.Array:
    """Wraps one compiled column without copying: bytes of fixed-width values, or a string column
    as (offsets, data, validity or None, null count)."""
    if isinstance(column, bytes):
        return pa.Array.from_buffers(kind, rows, [None, pa.py_buffer(column)], null_count=0)
    offsets, data, validity, nulls = column
    buffers = [validity and pa.py_buffer(validity), pa.py_buffer(offsets), pa.py_buffer(data)]
    return pa.Array.from_buffers(kind, rows, buffers, null_count=nulls)
