"""Captures the real Junjo 0.69 SDK output of tests/query/junjo_app.py into a JSON fixture.

Run once (`python -m tests.query.capture_fixture`); the trace-document unit tests read the result.
Spans are written in the REST API span shape (what the backend returns), through the same
conversion the backend uses, so the fixture is exactly what the trace document sees in production.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan

from backend.spans.shape import span_to_api
from junjo_common.spanformat.v1 import dumps_json
from tests.query.junjo_app import run_workflow
from tests.query.spanfiles import read_back
from tests.support.otel import add_recorder, service_provider

FIXTURE = Path(__file__).parent / "fixtures" / "junjo_069_workflow.json"


def _attrs(attributes: Any) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in (attributes or {}).items()}


def readable_to_row(span: ReadableSpan) -> dict[str, Any]:
    """One OTel SDK span as a span-format v1 row (ints for times, JSON text columns)."""
    ctx = span.get_span_context()
    events = [
        {
            "attributes": _attrs(e.attributes),
            "droppedAttributesCount": 0,
            "name": e.name,
            "timeUnixNano": str(e.timestamp),
        }
        for e in span.events
    ]
    return {
        "span_id": f"{ctx.span_id:016x}",
        "trace_id": f"{ctx.trace_id:032x}",
        "parent_span_id": f"{span.parent.span_id:016x}" if span.parent else None,
        "service_name": str(span.resource.attributes.get("service.name", "")),
        "name": span.name,
        "span_kind": span.kind.value + 1 if span.kind.value >= 0 else 0,
        "start_time": span.start_time,
        "end_time": span.end_time,
        "duration_ns": (span.end_time or 0) - (span.start_time or 0),
        "status_code": span.status.status_code.value,
        "status_message": span.status.description,
        "attributes": dumps_json(_attrs(span.attributes)).decode(),
        "events": dumps_json(events).decode(),
        "links": "[]",
        "trace_flags": int(ctx.trace_flags),
        "trace_state": None,
        "dropped_attributes_count": 0,
        "dropped_events_count": 0,
        "dropped_links_count": 0,
        "resource_attributes": dumps_json(_attrs(span.resource.attributes)).decode(),
        "resource_dropped_attributes_count": 0,
    }


def capture() -> list[dict[str, Any]]:
    provider = service_provider("junjo-fixture")
    exporter = add_recorder(provider)
    trace.set_tracer_provider(provider)
    asyncio.run(run_workflow())
    provider.force_flush()
    rows = read_back([readable_to_row(s) for s in exporter.get_finished_spans()])
    return [span_to_api(row) for row in rows]


if __name__ == "__main__":
    spans = capture()
    FIXTURE.write_text(json.dumps({"sdk": "junjo 0.69.0", "spans": spans}, indent=1, sort_keys=True) + "\n")
    print(f"wrote {len(spans)} spans to {FIXTURE}")
