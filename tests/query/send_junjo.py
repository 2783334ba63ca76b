"""Runs the sample Junjo workflow once and exports it with the SDK's own JunjoOtelExporter.

`python -m tests.query.send_junjo <endpoint> <api_key> <service_name>` prints
`{"trace_id": ..., "span_ids": [...]}` after the exporter has flushed. A separate process, because
the OpenTelemetry tracer provider is process-global and Junjo uses the global one.
"""

from __future__ import annotations

import asyncio
import json
import sys

from junjo.telemetry.junjo_otel_exporter import JunjoOtelExporter
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.query.junjo_app import run_workflow


def main(endpoint: str, api_key: str, service: str) -> None:
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    exporter = JunjoOtelExporter(endpoint=endpoint, api_key=api_key, insecure=True)
    provider.add_span_processor(exporter.span_processor)
    seen = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(seen))
    trace.set_tracer_provider(provider)
    asyncio.run(run_workflow())
    if not exporter.flush():
        raise SystemExit("exporter flush failed")
    spans = seen.get_finished_spans()
    provider.shutdown()
    trace_ids = {f"{s.get_span_context().trace_id:032x}" for s in spans}
    assert len(trace_ids) == 1, trace_ids
    print(
        json.dumps(
            {"trace_id": trace_ids.pop(), "span_ids": [f"{s.get_span_context().span_id:016x}" for s in spans]}
        )
    )


if __name__ == "__main__":
    main(*sys.argv[1:4])
