"""Previews picked in SQL (backend/spans/preview.py), read through DataFusion as the API reads rows.

A fat span's JSON columns must never reach Python: only its preview (a few kilobytes) does, and the
preview says what a decode of the whole text would say for the values a list page reads.
"""

from __future__ import annotations

from typing import Any

import orjson

from backend.spans.limits import PREVIEW_PARSE_BYTES, SPAN_VALUE_BYTES
from backend.spans.preview import preview_select
from backend.spans.shape import OMITTED_ATTRIBUTE, span_preview, span_to_api
from tests.query.spanfiles import new_trace_id, read_back, span

MiB = 1024 * 1024
BLOB = "x" * (2 * MiB)


def _largest_text(row: dict[str, Any]) -> int:
    return max(len(v) for v in row.values() if isinstance(v, str))


def test_a_fat_rows_preview_matches_a_full_decode_and_stays_small() -> None:
    attributes = {
        "a.blob": BLOB,  # sorted first: the preview keys sit after two megabytes
        "error.type": 'quote " backslash \\ é \n' * 20,  # escapes; longer than a preview string
        "gen_ai.system": "s" * 3000,  # longer than a window: left out
        "junjo.cancelled": True,
        "junjo.span_type": "workflow",
        "junjo.workflow.node.count": -7.5e3,
        "note": '"junjo.span_type":"agent"',  # the key inside a string value is no key
        "openinference.span.kind": {"nested": "containers are left out"},
        "z.blob": BLOB,
    }
    events = [{"name": "start", "timeUnixNano": "1"}, {"name": "exception", "attributes": {"stack": BLOB}}]
    row = span(new_trace_id(), attributes=attributes, events=events)
    [read] = read_back([row], preview_select())
    assert _largest_text(read) <= 4096

    preview = span_preview(read)
    assert preview["attributes_json"] == {
        "error.type": ('quote " backslash \\ é \n' * 20)[:256] + "…",
        "junjo.cancelled": True,
        "junjo.span_type": "workflow",
        "junjo.workflow.node.count": -7500.0,
    }
    assert preview["events_json"] == [{"name": "exception", "timeUnixNano": "", "attributes": {}}]


def test_a_small_rows_preview_is_decoded_whole() -> None:
    events = [{"name": f"e{i}", "timeUnixNano": str(i)} for i in range(20)] + [{"name": "junjo.hook_error"}]
    row = span(
        new_trace_id(), attributes={"junjo.span_type": "node", "gen_ai.system": "s" * 3000}, events=events
    )
    [read] = read_back([row], preview_select())
    assert len(read["_attributes"]) < PREVIEW_PARSE_BYTES and read["_attr0"] == ""
    preview = span_preview(read)
    assert preview["attributes_json"] == {"junjo.span_type": "node", "gen_ai.system": "s" * 256 + "…"}
    names = [e["name"] for e in preview["events_json"]]
    assert names == [f"e{i}" for i in range(15)] + ["junjo.hook_error"]


def test_broken_or_missing_text_previews_as_empty() -> None:
    rows = [span(new_trace_id()) for _ in range(3)]
    rows[0]["attributes"], rows[0]["events"] = "not json" + "x" * PREVIEW_PARSE_BYTES, "[{]"
    rows[1]["attributes"], rows[1]["events"] = "", ""
    rows[2]["attributes"] = '{"junjo.span_type":' + "[" * 100_000
    for read in read_back(rows, preview_select()):
        preview = span_preview(read)
        assert (preview["attributes_json"], preview["events_json"]) == ({}, [])


def test_a_span_over_the_value_bound_is_read_as_its_preview_only() -> None:
    trace = new_trace_id()
    fat = span(trace, attributes={"junjo.span_type": "workflow", "blob": "b" * SPAN_VALUE_BYTES})
    thin = span(trace, attributes={"junjo.span_type": "node", "blob": "b" * 1000}, events=[{"name": "x"}])
    read_fat, read_thin = read_back([fat, thin])

    assert read_fat["_json_bytes"] > SPAN_VALUE_BYTES
    assert _largest_text(read_fat) <= 4096  # the columns themselves never reach Python
    shaped = span_to_api(read_fat)
    assert shaped["attributes_json"]["junjo.span_type"] == "workflow"
    assert "exceed" in shaped["attributes_json"][OMITTED_ATTRIBUTE]

    assert read_thin["_json_bytes"] == sum(
        len(thin[c]) for c in ("attributes", "events", "links", "resource_attributes")
    )
    shaped = span_to_api(read_thin)
    assert shaped["attributes_json"] == orjson.loads(thin["attributes"])
    assert shaped["events_json"] == [{"name": "x"}]
    assert shaped["resource_attributes_json"] == {"service.name": "svc"}
