"""A deliberately plain OTLP → row converter over the official classes: the oracle for convert.py.

It follows the reference's JSON rules literally (docs/STORAGE.md) so the fast shadow-schema converter
can be checked against it row for row.
"""

from __future__ import annotations

from typing import Any

import orjson
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.common.v1 import common_pb2


def any_value(v: common_pb2.AnyValue) -> Any:
    kind = v.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [any_value(x) for x in v.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: any_value(kv.value) for kv in v.kvlist_value.values}
    if kind == "bytes_value":
        return v.bytes_value.hex()
    return getattr(v, kind)


def attrs(kvs: Any) -> dict[str, Any]:
    return {kv.key: any_value(kv.value) for kv in kvs}


def dumps(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def rows(request: trace_service_pb2.ExportTraceServiceRequest) -> list[dict[str, Any]]:
    out = []
    for rs in request.resource_spans:
        res = attrs(rs.resource.attributes)
        service = res.get("service.name")
        for ss in rs.scope_spans:
            for s in ss.spans:
                out.append(
                    {
                        "span_id": s.span_id.hex(),
                        "trace_id": s.trace_id.hex(),
                        "parent_span_id": s.parent_span_id.hex() or None,
                        "service_name": service if isinstance(service, str) else "",
                        "name": s.name,
                        "span_kind": s.kind,
                        "start_time": s.start_time_unix_nano,
                        "end_time": s.end_time_unix_nano,
                        "duration_ns": s.end_time_unix_nano - s.start_time_unix_nano,
                        "status_code": s.status.code,
                        "status_message": s.status.message or None,
                        "attributes": dumps(attrs(s.attributes)),
                        "events": dumps(
                            [
                                {
                                    "attributes": attrs(e.attributes),
                                    "droppedAttributesCount": e.dropped_attributes_count,
                                    "name": e.name,
                                    "timeUnixNano": str(e.time_unix_nano),
                                }
                                for e in s.events
                            ]
                        ),
                        "links": dumps(
                            [
                                {
                                    "attributes": attrs(li.attributes),
                                    "droppedAttributesCount": li.dropped_attributes_count,
                                    "flags": li.flags,
                                    "spanId": li.span_id.hex(),
                                    "traceId": li.trace_id.hex(),
                                    "traceState": li.trace_state,
                                }
                                for li in s.links
                            ]
                        ),
                        "trace_flags": s.flags,
                        "trace_state": s.trace_state or None,
                        "dropped_attributes_count": s.dropped_attributes_count,
                        "dropped_events_count": s.dropped_events_count,
                        "dropped_links_count": s.dropped_links_count,
                        "resource_attributes": dumps(res),
                        "resource_dropped_attributes_count": rs.resource.dropped_attributes_count,
                    }
                )
    return out
