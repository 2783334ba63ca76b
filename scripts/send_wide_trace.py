"""Exports one trace of N spans (default 5,000) through the real OTLP/gRPC exporter, for the trace
page benchmark: a root with 50 groups of (N-1)/50 children, one of them ("step 5.7") 250 ms long.

`python scripts/send_wide_trace.py <endpoint> <api_key> <service> [N]` prints `{"trace_id": …}`.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from tests.support.otel import API_KEY_HEADER, service_provider, trace_id_hex

MS = 1_000_000
SLOW_STEP = (5, 7)  # early enough to be on the trace's first page (the API's first 2,000 spans)


def main() -> None:
    endpoint, api_key, service = sys.argv[1:4]
    total = int(sys.argv[4]) if len(sys.argv) > 4 else 5_000
    provider = service_provider(service)
    exporter = OTLPSpanExporter(endpoint=endpoint, insecure=True, headers=((API_KEY_HEADER, api_key),))
    # A queue for every span: the default (2,048) drops spans made faster than they are exported.
    provider.add_span_processor(BatchSpanProcessor(exporter, max_queue_size=total, max_export_batch_size=500))
    tracer = provider.get_tracer("bench")
    t0 = time.time_ns() - 60_000 * MS
    root = tracer.start_span("wide trace", start_time=t0)
    ctx = trace.set_span_in_context(root)
    per_group = max(1, (total - 1 - 50) // 50)
    at = t0
    made = 1
    for g in range(50):
        group = tracer.start_span(f"group {g}", context=ctx, start_time=at)
        gctx = trace.set_span_in_context(group)
        made += 1
        for i in range(per_group):
            length = 250 * MS if (g, i) == SLOW_STEP else MS
            child = tracer.start_span(f"step {g}.{i}", context=gctx, start_time=at)
            child.set_attribute("step.index", i)
            child.end(end_time=at + length)
            at += length
            made += 1
        group.end(end_time=at)
    while made < total:
        extra = tracer.start_span(f"tail {made}", context=ctx, start_time=at)
        extra.end(end_time=at + MS)
        at += MS
        made += 1
    root.end(end_time=at)
    provider.force_flush()
    provider.shutdown()
    print(json.dumps({"trace_id": trace_id_hex(root), "spans": made}))


if __name__ == "__main__":
    main()
