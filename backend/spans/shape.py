"""Span rows (span format v1, times as int64 ns) → the REST `Span` dict of the reference.

The REST shape is the reference's (reference-backend §1.5): string `kind`, stringified
`status_code`, microsecond ISO timestamps with `+00:00`, decoded JSON columns (`{}`/`[]` when a
column fails to parse). Kept apart so the trace document and the fixture capture share it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from junjo_common.spanformat.v1 import SPAN_KIND_NAMES

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def iso_from_ns(ns: int | None) -> str:
    """`YYYY-MM-DDTHH:MM:SS.ffffff+00:00` truncated to microseconds; "" for 0/None."""
    if not ns:
        return ""
    return (_EPOCH + timedelta(microseconds=ns // 1000)).isoformat(timespec="microseconds")


def _json(text: str | None, empty: Any) -> Any:
    if not text:
        return empty
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return empty
    return value if isinstance(value, type(empty)) else empty


def span_to_api(row: dict[str, Any]) -> dict[str, Any]:
    """One row (keys = span format v1 columns; start/end as ns ints) → REST `Span`."""
    return {
        "trace_id": row["trace_id"],
        "span_id": row["span_id"],
        "parent_span_id": row["parent_span_id"] or None,
        "service_name": row["service_name"],
        "name": row["name"],
        "kind": SPAN_KIND_NAMES.get(row["span_kind"], "UNSPECIFIED"),
        "start_time": iso_from_ns(row["start_time"]),
        "end_time": iso_from_ns(row["end_time"]),
        "status_code": str(row["status_code"]),
        "status_message": row["status_message"] or "",
        "attributes_json": _json(row["attributes"], {}),
        "events_json": _json(row["events"], []),
        "links_json": _json(row["links"], []),
        "trace_flags": row["trace_flags"],
        "trace_state": row["trace_state"],
        "dropped_attributes_count": row["dropped_attributes_count"],
        "dropped_events_count": row["dropped_events_count"],
        "dropped_links_count": row["dropped_links_count"],
        "resource_attributes_json": _json(row["resource_attributes"], {}),
        "resource_dropped_attributes_count": row["resource_dropped_attributes_count"],
    }
