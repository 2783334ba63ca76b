"""OTLP/JSON request body → `ExportTraceServiceRequest` protobuf bytes, for the shared converter.

The OTLP JSON encoding is protobuf's JSON mapping with one difference: trace and span ids are hex
strings, not base64. So the ids are rewritten to base64 in place and the rest is left to
protobuf's own JSON parser (camelCase or proto field names, int64 as strings or numbers, enums
as integers or names, unknown fields ignored as the OTLP specification requires). The result is
the protobuf twin of the request, and convert.py gives it exactly the rows the twin would get.
An id that is hex of the wrong length stays the wrong length (the converter rejects that span,
as for protobuf); an id that is not hex at all makes the body malformed.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import orjson
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

_SPAN_IDS = ("traceId", "trace_id", "spanId", "span_id", "parentSpanId", "parent_span_id")
_LINK_IDS = ("traceId", "trace_id", "spanId", "span_id")


class MalformedJson(ValueError):
    """The body is not an OTLP/JSON ExportTraceServiceRequest; the message says where."""


def _items(parent: Any, *names: str) -> list[Any]:
    """The list under the first of `names` that `parent` has (anything else is json_format's to refuse)."""
    if isinstance(parent, dict):
        for name in names:
            value = parent.get(name)
            if isinstance(value, list):
                return value
    return []


def _hex_ids_to_base64(obj: dict[str, Any], names: tuple[str, ...], where: str) -> None:
    for name in names:
        value = obj.get(name)
        if isinstance(value, str):
            try:
                obj[name] = base64.b64encode(binascii.unhexlify(value)).decode("ascii")
            except (binascii.Error, ValueError):
                raise MalformedJson(f"{where}.{name} is not a hex string") from None


def json_to_protobuf(body: bytes) -> bytes:
    """The protobuf encoding of an OTLP/JSON trace export body; raises MalformedJson."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise MalformedJson(f"invalid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise MalformedJson("the body must be a JSON object (ExportTraceServiceRequest)")
    for r, resource_spans in enumerate(_items(document, "resourceSpans", "resource_spans")):
        for s, scope_spans in enumerate(_items(resource_spans, "scopeSpans", "scope_spans")):
            for i, span in enumerate(_items(scope_spans, "spans")):
                if not isinstance(span, dict):
                    continue
                where = f"resourceSpans[{r}].scopeSpans[{s}].spans[{i}]"
                _hex_ids_to_base64(span, _SPAN_IDS, where)
                for k, link in enumerate(_items(span, "links")):
                    if isinstance(link, dict):
                        _hex_ids_to_base64(link, _LINK_IDS, f"{where}.links[{k}]")
    request = trace_service_pb2.ExportTraceServiceRequest()
    try:
        # Nesting is bounded by protobuf's default depth (100), as for binary requests.
        json_format.ParseDict(document, request, ignore_unknown_fields=True)
    except (json_format.ParseError, ValueError, TypeError, RecursionError) as exc:
        raise MalformedJson(str(exc) or type(exc).__name__) from None
    return request.SerializeToString()
