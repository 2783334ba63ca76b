"""OTLP/JSON twins of protobuf requests, written the way the OTLP specification encodes JSON.

`json_twin` starts from protobuf's own JSON mapping and applies the OTLP differences by hand (ids
as hex, enums as integers), independently of ingestion/otlp_json.py, so a test comparing rows of
a request and of its twin checks the service against the specification, not against itself.
"""

from __future__ import annotations

import base64
from typing import Any

from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

_ID_FIELDS = {"traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id"}
_INT64_FIELDS = {
    "intValue",
    "int_value",
    "startTimeUnixNano",
    "start_time_unix_nano",
    "endTimeUnixNano",
    "end_time_unix_nano",
    "timeUnixNano",
    "time_unix_nano",
}


def _rewrite(node: Any, int64_as_numbers: bool) -> Any:
    if isinstance(node, list):
        return [_rewrite(item, int64_as_numbers) for item in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key in _ID_FIELDS and isinstance(value, str):
            value = base64.b64decode(value).hex()
        elif key in _INT64_FIELDS and isinstance(value, str) and int64_as_numbers:
            value = int(value)
        else:
            value = _rewrite(value, int64_as_numbers)
        out[key] = value
    return out


def json_twin(
    request: trace_service_pb2.ExportTraceServiceRequest,
    proto_names: bool = False,
    int64_as_numbers: bool = False,
) -> dict[str, Any]:
    """The OTLP/JSON document of `request`: camelCase (or proto) names, hex ids, integer enums,
    int64 values as decimal strings (or plain numbers)."""
    document = json_format.MessageToDict(
        request, preserving_proto_field_name=proto_names, use_integers_for_enums=True
    )
    return _rewrite(document, int64_as_numbers)
