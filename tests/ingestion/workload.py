"""The standard OTLP workload (docs/PERFORMANCE.md) shared by ingestion tests and `make bench`.

Requests of 100 spans; each span ~1.5-3 KB: 10 attributes including a 1-2 KB JSON state, 2 events,
a status and a parent; one resource per request with a handful of attributes. Span ids come from a
counter so every span is unique and can be found again after a crash.
"""

from __future__ import annotations

import json
import random
import time

from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.resource.v1 import resource_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

WORDS = (
    "alpha",
    "bravo",
    "charlie",
    "delta",
    "echo",
    "foxtrot",
    "golf",
    "hotel",
    "india",
    "juliet",
    "kilo",
    "lima",
    "mike",
    "november",
    "oscar",
    "papa",
    "quebec",
    "romeo",
    "sierra",
    "tango",
    "uniform",
    "victor",
    "whiskey",
    "xray",
    "yankee",
    "zulu",
)


def kv(key: str, value: object) -> common_pb2.KeyValue:
    any_value = common_pb2.AnyValue()
    if isinstance(value, bool):
        any_value.bool_value = value
    elif isinstance(value, int):
        any_value.int_value = value
    elif isinstance(value, float):
        any_value.double_value = value
    elif isinstance(value, bytes):
        any_value.bytes_value = value
    else:
        any_value.string_value = str(value)
    return common_pb2.KeyValue(key=key, value=any_value)


def span_ids(seq: int) -> tuple[bytes, bytes]:
    """(trace_id, span_id) for span number `seq`: 10 spans per trace."""
    return (seq // 10 + 1).to_bytes(16, "big"), (seq + 1).to_bytes(8, "big")


def make_span(seq: int, rng: random.Random, now_ns: int) -> trace_pb2.Span:
    trace_id, span_id = span_ids(seq)
    root = seq % 10 == 0
    state = json.dumps(
        {
            "messages": [
                {
                    "role": rng.choice(("user", "assistant")),
                    "content": " ".join(rng.choices(WORDS, k=rng.randint(12, 24))),
                }
                for _ in range(rng.randint(8, 14))
            ],
            "step": seq % 10,
        }
    )
    start = now_ns - rng.randint(1_000_000, 5_000_000_000)
    span = trace_pb2.Span(
        trace_id=trace_id,
        span_id=span_id,
        parent_span_id=b"" if root else span_ids(seq - seq % 10)[1],
        name=f"node-{seq % 10}",
        kind=trace_pb2.Span.SPAN_KIND_INTERNAL,
        start_time_unix_nano=start,
        end_time_unix_nano=start + rng.randint(1000, 90_000_000),
        attributes=[
            kv("junjo.span_type", "workflow" if root else "node"),
            kv("junjo.executable_runtime_id", f"rt{seq:019d}"),
            kv("junjo.workflow.state.start", state),
            kv("junjo.telemetry.contract_version", 3),
            kv("llm.token_count", rng.randint(1, 4000)),
            kv("temperature", rng.random()),
            kv("cached", rng.random() < 0.5),
            kv("http.route", "/v1/" + rng.choice(WORDS)),
            kv("user.id", f"user-{rng.randint(1, 500)}"),
            kv("note", " ".join(rng.choices(WORDS, k=6))),
        ],
        events=[
            trace_pb2.Span.Event(
                time_unix_nano=start + 10,
                name="set_state",
                attributes=[
                    kv("junjo.store.action", "set_count"),
                    kv("junjo.state_json_patch", '[{"op":"replace","path":"/count","value":3}]'),
                ],
            ),
            trace_pb2.Span.Event(time_unix_nano=start + 20, name="checkpoint", attributes=[kv("seq", seq)]),
        ],
    )
    if seq % 7 == 3:
        span.status.code = trace_pb2.Status.STATUS_CODE_ERROR
        span.status.message = "boom"
    return span


def make_request(
    first_seq: int, count: int = 100, service: str = "bench-service", seed: int | None = None
) -> trace_service_pb2.ExportTraceServiceRequest:
    rng = random.Random(first_seq if seed is None else seed)
    now_ns = time.time_ns()
    resource = resource_pb2.Resource(
        attributes=[
            kv("service.name", service),
            kv("service.version", "1.0.0"),
            kv("telemetry.sdk.language", "python"),
            kv("telemetry.sdk.name", "opentelemetry"),
            kv("host.name", "bench-host"),
        ]
    )
    return trace_service_pb2.ExportTraceServiceRequest(
        resource_spans=[
            trace_pb2.ResourceSpans(
                resource=resource,
                scope_spans=[
                    trace_pb2.ScopeSpans(spans=[make_span(first_seq + i, rng, now_ns) for i in range(count)])
                ],
            )
        ]
    )
