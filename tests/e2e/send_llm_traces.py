"""Sends the browser tests' plain OpenTelemetry LLM traces through a real OTLP exporter.

`python -m tests.e2e.send_llm_traces <endpoint> <api_key> <service> [N]` exports N (default 1)
traces whose child span is an OpenInference LLM call (a chat completion that asks for a tool
call) and prints `{"trace_id": <the last trace>, "traces": N, "spans": 2N}`. Its own process,
because the OpenTelemetry tracer provider is process-global. The Junjo workflow the browser tests
send is tests/support/junjo_demo.py.
"""

from __future__ import annotations

import json
import sys

from opentelemetry import trace

from tests.support.otel import add_recorder, exporting_provider, trace_id_hex


def _llm_trace() -> None:
    tracer = trace.get_tracer("chat-app")
    messages = [
        {"role": "system", "content": "You are a concise travel assistant."},
        {"role": "user", "content": "What is the weather in Paris?"},
    ]
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
    }
    reply = {"role": "assistant", "content": None, "tool_calls": [call]}
    response = {"choices": [{"index": 0, "message": reply}]}
    with (
        tracer.start_as_current_span("handle_request", kind=trace.SpanKind.SERVER),
        tracer.start_as_current_span("ChatCompletion") as span,
    ):
        span.set_attribute("openinference.span.kind", "LLM")
        span.set_attribute("llm.provider", "openai")
        span.set_attribute("llm.model_name", "gpt-4o-mini")
        span.set_attribute("llm.token_count.prompt", 31)
        span.set_attribute("llm.token_count.completion", 12)
        span.set_attribute("input.mime_type", "application/json")
        span.set_attribute("input.value", json.dumps({"model": "gpt-4o-mini", "messages": messages}))
        span.set_attribute("output.value", json.dumps(response))


def main(endpoint: str, api_key: str, service: str, count: str = "1") -> None:
    provider = exporting_provider(service, endpoint, api_key)
    seen = add_recorder(provider)
    trace.set_tracer_provider(provider)
    for _ in range(int(count)):
        _llm_trace()
    spans = seen.get_finished_spans()
    provider.shutdown()
    trace_ids = [trace_id_hex(s) for s in spans]
    print(json.dumps({"trace_id": trace_ids[-1], "traces": len(set(trace_ids)), "spans": len(spans)}))


if __name__ == "__main__":
    main(*sys.argv[1:5])
