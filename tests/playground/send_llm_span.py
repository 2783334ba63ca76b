"""Exports one OpenInference LLM call (an OpenAI chat completion) through a real OTLP/gRPC exporter.

`python -m tests.playground.send_llm_span <endpoint> <api_key> <service>` prints
`{"trace_id": ..., "span_id": ...}` of the LLM span. Run as its own process: the OpenTelemetry
tracer provider is process-global.
"""

from __future__ import annotations

import json
import sys

from tests.support.otel import exporting_provider, span_id_hex, trace_id_hex

PROMPT = [
    {"role": "system", "content": "You answer in one short sentence."},
    {"role": "user", "content": "What should I pack for Lisbon in May?"},
]
RECORDED_ANSWER = "Light layers and a thin rain jacket."


def main(endpoint: str, api_key: str, service: str) -> None:
    provider = exporting_provider(service, endpoint, api_key)
    tracer = provider.get_tracer("travel-app")
    with (
        tracer.start_as_current_span("answer_question"),
        tracer.start_as_current_span("ChatCompletion") as span,
    ):
        span.set_attributes(
            {
                "openinference.span.kind": "LLM",
                "llm.provider": "openai",
                "llm.system": "openai",
                "llm.model_name": "gpt-4o-mini",
                "llm.invocation_parameters": json.dumps({"temperature": 0.3, "max_tokens": 120}),
                "input.mime_type": "application/json",
                "input.value": json.dumps({"model": "gpt-4o-mini", "messages": PROMPT}),
                "output.mime_type": "application/json",
                "output.value": json.dumps(
                    {"choices": [{"index": 0, "message": {"role": "assistant", "content": RECORDED_ANSWER}}]}
                ),
                "llm.token_count.prompt": 24,
                "llm.token_count.completion": 9,
            }
        )
        ids = {"trace_id": trace_id_hex(span), "span_id": span_id_hex(span)}
    if not provider.force_flush(30_000):
        raise SystemExit("OTLP export did not complete")
    provider.shutdown()
    print(json.dumps(ids))


if __name__ == "__main__":
    main(*sys.argv[1:4])
