"""Span rows (span format v1, times as int64 ns) → the REST `Span` dict of the reference.

The REST shape is the reference's (reference-backend §1.5): string `kind`, stringified
`status_code`, microsecond ISO timestamps with `+00:00`, decoded JSON columns (`{}`/`[]` when a
column fails to parse). Kept apart so the trace document and the fixture capture share it.

Rows come from `engine.stream_spans` with the columns of `preview.span_select` (a whole span) or
`preview.preview_select` (a listing row). Decoded JSON is nesting-capped (`limits.MAX_JSON_DEPTH`).
A listing row is a preview (`span_preview`): the same shape with only the attributes and event
names a list page shows, strings shortened, so a page's size does not depend on what its spans
carry. A span whose JSON columns exceed `limits.SPAN_VALUE_BYTES` is read without them and
answered as a preview, with `junjo.studio.values_omitted` saying so. A full span that records an
LLM call carries `llm_usage` (tokens, model, cost: backend.overview.usage).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import orjson

from backend.overview.usage import llm_usage
from backend.spans.limits import SPAN_VALUE_BYTES, loads_capped
from backend.spans.preview import preview_attributes, preview_events
from junjo_common.spanformat.v1 import SPAN_KIND_NAMES

OMITTED_ATTRIBUTE = "junjo.studio.values_omitted"

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def iso_from_ns(ns: int | None) -> str:
    """`YYYY-MM-DDTHH:MM:SS.ffffff+00:00` truncated to microseconds; "" for 0/None."""
    if not ns:
        return ""
    seconds, micros = divmod(ns // 1000, 1_000_000)
    return f"{_iso_second(seconds)}.{micros:06d}+00:00"


@lru_cache(maxsize=4096)
def _iso_second(seconds: int) -> str:
    """`YYYY-MM-DDTHH:MM:SS` of a second since the epoch: the spans of a trace share a few seconds,
    so a trace page formats each second once instead of building a datetime per timestamp."""
    return (_EPOCH + timedelta(seconds=seconds)).replace(tzinfo=None).isoformat()


def _json(text: str | None, empty: Any) -> Any:
    if not text:
        return empty
    try:
        value = loads_capped(text)
    except orjson.JSONDecodeError:
        return empty
    return value if isinstance(value, type(empty)) else empty


def span_to_api(row: dict[str, Any]) -> dict[str, Any]:
    """One row read with `preview.span_select` (start/end as ns ints) → REST `Span`.

    A row whose JSON columns exceed SPAN_VALUE_BYTES (`_json_bytes`) is answered as a preview.
    """
    size = row["_json_bytes"]
    if size > SPAN_VALUE_BYTES:
        preview = span_preview(row)
        preview["attributes_json"][OMITTED_ATTRIBUTE] = (
            f"this span's attributes, events and links ({size:,} bytes) exceed the "
            f"{SPAN_VALUE_BYTES:,} the API answers; only a preview is shown"
        )
        return preview
    attributes = _json(row["attributes"], {})
    span = _api(
        row,
        attributes,
        _json(row["events"], []),
        _json(row["links"], []),
        _json(row["resource_attributes"], {}),
    )
    usage = llm_usage(attributes, row["start_time"] or 0)
    if usage is not None:
        span["llm_usage"] = usage.as_dict()
    return span


def span_preview(row: dict[str, Any]) -> dict[str, Any]:
    """A listing row (read with `preview.preview_select`): `Span` with preview attributes/events,
    no links, resource `service.name` only."""
    return _api(
        row,
        preview_attributes(row),
        preview_events(row),
        [],
        {"service.name": row["service_name"]},
    )


def _api(
    row: dict[str, Any],
    attributes: dict[str, Any],
    events: list[Any],
    links: list[Any],
    resource: dict[str, Any],
) -> dict[str, Any]:
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
        "attributes_json": attributes,
        "events_json": events,
        "links_json": links,
        "trace_flags": row["trace_flags"],
        "trace_state": row["trace_state"],
        "dropped_attributes_count": row["dropped_attributes_count"],
        "dropped_events_count": row["dropped_events_count"],
        "dropped_links_count": row["dropped_links_count"],
        "resource_attributes_json": resource,
        "resource_dropped_attributes_count": row["resource_dropped_attributes_count"],
    }
