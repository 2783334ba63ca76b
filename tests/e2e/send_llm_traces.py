"""Sends the browser tests' telemetry through real OTLP exporters, one run per process (the
OpenTelemetry tracer provider is process-global and Junjo uses the global one).

`python -m tests.e2e.send_traces junjo <endpoint> <api_key> <service>` runs a Junjo 0.69 workflow
(concurrent nodes, a subflow, conditional edges, state updates, a failing node) exported with the
SDK's JunjoOtelExporter; `... llm <endpoint> <api_key> <service>` exports a plain OpenTelemetry
trace whose child span is an OpenInference LLM call (`... llm ... <service> N` sends N such
traces). Both print `{"trace_id": <the last trace>, ...}`.
"""

from __future__ import annotations

import asyncio
import json
import sys

from junjo import BaseState, BaseStore, Condition, Edge, Graph, Node, RunConcurrent, Subflow, Workflow
from junjo.telemetry.junjo_otel_exporter import JunjoOtelExporter
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


class ChatState(BaseState):
    count: int = 0
    history: str | None = None
    contact: str | None = None
    doubled: int | None = None


class ChatStore(BaseStore[ChatState]):
    async def set_count(self, count: int) -> None:
        await self.set_state({"count": count})

    async def set_history(self, value: str) -> None:
        await self.set_state({"history": value})

    async def set_contact(self, value: str) -> None:
        await self.set_state({"contact": value})

    async def set_doubled(self, value: int) -> None:
        await self.set_state({"doubled": value})


class SubState(BaseState):
    value: int = 0


class SubStore(BaseStore[SubState]):
    async def set_value(self, value: int) -> None:
        await self.set_state({"value": value})


class CountNode(Node[ChatStore]):
    async def service(self, store: ChatStore) -> None:
        await store.set_count(21)


class LoadHistoryNode(Node[ChatStore]):
    async def service(self, store: ChatStore) -> None:
        await store.set_history("3 earlier messages")


class LoadContactNode(Node[ChatStore]):
    async def service(self, store: ChatStore) -> None:
        await store.set_contact("Ada")


class DoubleNode(Node[SubStore]):
    async def service(self, store: SubStore) -> None:
        await store.set_value((await store.get_state()).value * 2)


class ReplyNode(Node[ChatStore]):
    async def service(self, store: ChatStore) -> None:
        raise RuntimeError("reply model unavailable")


class SkippedNode(Node[ChatStore]):
    async def service(self, store: ChatStore) -> None:
        await store.set_count(0)


class IsPositive(Condition[ChatState]):
    def evaluate(self, state: ChatState) -> bool:
        return (state.doubled or 0) > 0


class IsZero(Condition[ChatState]):
    def evaluate(self, state: ChatState) -> bool:
        return (state.doubled or 0) == 0


class DoublerSubflow(Subflow[SubState, SubStore, ChatState, ChatStore]):
    async def pre_run_actions(self, parent_store: ChatStore, subflow_store: SubStore) -> None:
        await subflow_store.set_value((await parent_store.get_state()).count)

    async def post_run_actions(self, parent_store: ChatStore, subflow_store: SubStore) -> None:
        await parent_store.set_doubled((await subflow_store.get_state()).value)


def _subflow_graph() -> Graph:
    node = DoubleNode()
    return Graph(source=node, sinks=[node], edges=[])


def _graph() -> Graph:
    count = CountNode()
    load = RunConcurrent(name="InitialLoad", items=[LoadHistoryNode(), LoadContactNode()])
    sub = DoublerSubflow(
        graph_factory=_subflow_graph, store_factory=lambda: SubStore(initial_state=SubState()), name="Doubler"
    )
    reply, skipped = ReplyNode(), SkippedNode()
    return Graph(
        source=count,
        sinks=[reply, skipped],
        edges=[
            Edge(tail=count, head=load),
            Edge(tail=load, head=sub),
            Edge(tail=sub, head=reply, condition=IsPositive()),
            Edge(tail=sub, head=skipped, condition=IsZero()),
        ],
    )


async def _run_workflow() -> None:
    workflow = Workflow(
        graph_factory=_graph, store_factory=lambda: ChatStore(initial_state=ChatState()), name="HandleMessage"
    )
    try:
        await workflow.execute()
    except Exception as exc:  # ReplyNode fails on purpose
        if "reply model unavailable" not in f"{exc!r} {exc.__cause__!r}":
            raise


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


def main(mode: str, endpoint: str, api_key: str, service: str, count: str = "1") -> None:
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    seen = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(seen))
    if mode == "junjo":
        exporter = JunjoOtelExporter(endpoint=endpoint, api_key=api_key, insecure=True)
        provider.add_span_processor(exporter.span_processor)
        trace.set_tracer_provider(provider)
        asyncio.run(_run_workflow())
        if not exporter.flush():
            raise SystemExit("exporter flush failed")
    elif mode == "llm":
        otlp = OTLPSpanExporter(endpoint=endpoint, insecure=True, headers=(("x-junjo-api-key", api_key),))
        provider.add_span_processor(SimpleSpanProcessor(otlp))
        trace.set_tracer_provider(provider)
        for _ in range(int(count)):
            _llm_trace()
    else:
        raise SystemExit(f"unknown mode {mode!r}: use junjo or llm")
    spans = seen.get_finished_spans()
    provider.shutdown()
    trace_ids = [f"{s.get_span_context().trace_id:032x}" for s in spans]
    print(json.dumps({"trace_id": trace_ids[-1], "traces": len(set(trace_ids)), "spans": len(spans)}))


if __name__ == "__main__":
    main(*sys.argv[1:6])
