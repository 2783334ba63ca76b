"""Sends the everyday data that breaks naive trace UIs, through a real OTLP exporter.

`python -m tests.e2e.send_real_data <endpoint> <api_key> <service>` exports, with explicit
timestamps:
- a "batch import" trace of 301 spans: a root of 1 s, 299 short steps and one `slow_lookup` of
  250 ms in the middle (the span to find: most self time, on the critical path);
- in that trace, a span with a 100,000-character attribute value without spaces, and one whose
  name and values carry a right-to-left override character;
- a second trace whose root has a 300-character name.
Prints `{"batch": <trace id>, "long_name": <trace id>, "slow": <span id>, "fat": <span id>,
"bidi": <span id>}`.
"""

from __future__ import annotations

import json
import sys
import time

from opentelemetry import trace

from tests.support.otel import add_recorder, exporting_provider, span_id_hex, trace_id_hex

MS = 1_000_000
LONG_NAME = "reconcile_" + "ledger_entries_" * 19 + "x" * 5
BIDI_NAME = "invoice \u202egnp.exe"
FAT_VALUE = "0123456789abcdef" * 6250  # 100,000 characters, no spaces


def main() -> None:
    endpoint, api_key, service = sys.argv[1:4]
    provider = exporting_provider(service, endpoint, api_key)
    recorder = add_recorder(provider)
    tracer = provider.get_tracer("real-data")
    t0 = time.time_ns() - 5_000 * MS
    ids: dict[str, str] = {}

    root = tracer.start_span("batch import", start_time=t0)
    ctx = trace.set_span_in_context(root)
    at = t0 + 1 * MS
    for i in range(299):
        if i == 150:
            slow = tracer.start_span("slow_lookup", context=ctx, start_time=at)
            slow.end(end_time=at + 250 * MS)
            ids["slow"] = span_id_hex(slow)
            at += 251 * MS
        step = tracer.start_span(f"step {i:03d}", context=ctx, start_time=at)
        if i == 10:
            step.set_attribute("payload.blob", FAT_VALUE)
            ids["fat"] = span_id_hex(step)
        step.end(end_time=at + 2 * MS)
        at += 2 * MS + 500_000
    bidi = tracer.start_span(BIDI_NAME, context=ctx, start_time=at)
    bidi.set_attribute("file.name", "report\u202excod.js")
    bidi.end(end_time=at + 1 * MS)
    ids["bidi"] = span_id_hex(bidi)
    root.end(end_time=max(at + 2 * MS, t0 + 1000 * MS))
    ids["batch"] = trace_id_hex(root)

    long_root = tracer.start_span(LONG_NAME, start_time=t0 + 2000 * MS)
    long_root.end(end_time=t0 + 2010 * MS)
    ids["long_name"] = trace_id_hex(long_root)

    provider.force_flush()
    provider.shutdown()
    assert len(recorder.get_finished_spans()) == 303
    print(json.dumps(ids))


if __name__ == "__main__":
    main()
