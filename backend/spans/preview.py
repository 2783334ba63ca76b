"""Span previews picked in SQL: the backend never holds a large JSON column of a span it previews.

A listing row, and a span too large to answer whole, carries a preview: the attributes a list page
reads (`limits.PREVIEW_ATTRIBUTES`, strings shortened) and the names of its events. DataFusion
computes what the preview needs while it reads the row (`preview_select`, and `span_select` for a
whole span, which leaves out the JSON columns of a span over SPAN_VALUE_BYTES): the whole text of an
attributes or events column of at most PREVIEW_PARSE_BYTES, otherwise a short window of text after
each preview key's `"key":` and whether each failure event's name occurs. Python then parses those
few kilobytes (`preview_attributes`, `preview_events`), so a span with megabytes of attributes
costs the backend one decoded row inside DataFusion and nothing in Python.

A key found in compact JSON text is a real key: inside a JSON string every quote is escaped, so
`"key":` cannot occur there.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from backend.spans.limits import (
    JSON_COLUMNS,
    PREVIEW_ATTRIBUTES,
    PREVIEW_EVENTS,
    PREVIEW_PARSE_BYTES,
    PREVIEW_TEXT_CHARS,
    SPAN_VALUE_BYTES,
)

FAILURE_EVENTS = ("exception", "junjo.hook_error")
_SCALAR_UNITS = 1024
# The scalar at the start of a window: a string of at most _SCALAR_UNITS characters or escapes,
# a number, or a boolean, followed by the end of the member. Longer strings are left out.
_SCALAR = re.compile(rf'("(?:[^"\\]|\\.){{0,{_SCALAR_UNITS}}}"|-?[0-9][0-9.eE+-]{{0,30}}|true|false)[,}}]')
_WINDOW_CHARS = 2 * _SCALAR_UNITS + 40  # an escape is two characters; room for the number's end


def _head(column: str, limit: str, when: str) -> str:
    """SQL: the column's whole text when `when` holds and it has at most `limit` bytes, else "".

    A CASE picks the length, never the text: DataFusion evaluates a CASE branch on a filtered
    copy of the batch, which for a fat row would copy its megabytes.
    """
    return (
        f"substr({column}, 1, CASE WHEN {when} AND octet_length({column}) <= {limit} THEN {limit} ELSE 0 END)"
    )


def preview_select(when: str = "TRUE") -> tuple[str, dict[str, Any]]:
    """SQL expressions (with their parameters) for a row's preview columns; empty unless `when`."""
    small = "$preview_small"
    params: dict[str, Any] = {"preview_small": PREVIEW_PARSE_BYTES}
    columns = [
        f"{_head('attributes', small, f'({when})')} AS _attributes",
        f"{_head('events', small, f'({when})')} AS _events",
    ]
    large = f"({when}) AND octet_length(attributes) > {small}"
    for i, key in enumerate(PREVIEW_ATTRIBUTES):
        marker = f"{orjson.dumps(key).decode()}:"
        params[f"preview_key{i}"] = marker
        at = f"strpos(attributes, $preview_key{i})"
        columns.append(
            f"substr(attributes, {at} + {len(marker)}, "
            f"CASE WHEN {large} AND {at} > 0 THEN {_WINDOW_CHARS} ELSE 0 END) AS _attr{i}"
        )
    for i, name in enumerate(FAILURE_EVENTS):
        params[f"preview_event{i}"] = f'%"name":{orjson.dumps(name).decode()}%'
        columns.append(f"({when}) AND events LIKE $preview_event{i} AS _event{i}")
    return ", ".join(columns), params


_JSON_BYTES = " + ".join(f"COALESCE(octet_length({c}), 0)" for c in JSON_COLUMNS)


def span_select() -> tuple[str, dict[str, Any]]:
    """SQL expressions (with their parameters) for a whole span bounded by SPAN_VALUE_BYTES:
    `_json_bytes` (its JSON columns' size), the JSON columns when within the bound (else ""),
    and the preview columns when over it."""
    over = f"({_JSON_BYTES}) > $span_value_bytes"
    preview, params = preview_select(over)
    within = f"NOT ({over})"
    whole = ", ".join(f"{_head(c, '$span_value_bytes', within)} AS {c}" for c in JSON_COLUMNS)
    params["span_value_bytes"] = SPAN_VALUE_BYTES
    return f"{_JSON_BYTES} AS _json_bytes, {whole}, {preview}", params


def preview_text(value: str) -> str:
    return value if len(value) <= PREVIEW_TEXT_CHARS else value[:PREVIEW_TEXT_CHARS] + "…"


def _pick(attributes: Any) -> dict[str, Any]:
    if not isinstance(attributes, dict):
        return {}
    out: dict[str, Any] = {}
    for key in PREVIEW_ATTRIBUTES:
        value = attributes.get(key)
        if isinstance(value, str):
            out[key] = preview_text(value)
        elif isinstance(value, bool | int | float):
            out[key] = value
    return out


def preview_attributes(row: dict[str, Any]) -> dict[str, Any]:
    """The attributes a listing row needs, strings shortened; containers are left out."""
    text = row["_attributes"]
    if text:
        try:
            return _pick(orjson.loads(text))
        except orjson.JSONDecodeError:
            return {}
    picked: dict[str, Any] = {}
    for i, key in enumerate(PREVIEW_ATTRIBUTES):
        match = _SCALAR.match(row[f"_attr{i}"] or "")
        if match is None:
            continue
        try:
            picked[key] = orjson.loads(match.group(1))
        except orjson.JSONDecodeError:
            continue
    return _pick(picked)


def preview_events(row: dict[str, Any]) -> list[dict[str, Any]]:
    """At most PREVIEW_EVENTS events (failure events first, then in order), names and times only."""
    text = row["_events"]
    if not text:
        names = [name for i, name in enumerate(FAILURE_EVENTS) if row[f"_event{i}"]]
        return [{"name": name, "timeUnixNano": "", "attributes": {}} for name in names]
    try:
        events = orjson.loads(text)
    except orjson.JSONDecodeError:
        return []
    if not isinstance(events, list):
        return []
    named = [(i, e) for i, e in enumerate(events) if isinstance(e, dict) and isinstance(e.get("name"), str)]
    failures = [item for item in named if item[1]["name"] in FAILURE_EVENTS]
    others = [item for item in named if item[1]["name"] not in FAILURE_EVENTS]
    kept = sorted((failures + others)[:PREVIEW_EVENTS], key=lambda item: item[0])
    return [
        {
            "name": preview_text(e["name"]),
            "timeUnixNano": e.get("timeUnixNano") if isinstance(e.get("timeUnixNano"), str) else "",
            "attributes": {},
        }
        for _, e in kept
    ]
