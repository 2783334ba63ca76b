"""Telemetry with known tokens, models, errors and times, for the service overview and cost tests.

`python -m tests.support.usage_telemetry <endpoint> <api_key> <service> <base_ns>` exports, with
the Junjo SDK's exporter in one tracer provider:
- plain OpenTelemetry traces (`PLAIN_TRACES`) at fixed minutes after `base_ns` (a minute start): a
  root span, optionally failed, with one LLM child using OpenInference or gen_ai (new and older
  names) attributes, known or unknown models, and hostile token values;
- real Junjo 0.69 Agent runs (`AGENT_RUNS`, ScriptedModelDriver, no network) whose model requests
  name a priced provider and model, one of them failing;
- real Junjo Agent runs whose model driver calls its provider through an instrumented SDK
  (`INSTRUMENTED_RUNS`): the SDK's gen_ai or OpenInference span, below the model request
  (directly or under an HTTP span), records the same call's tokens again; in one run the model
  request itself reports no usage;
- real Junjo Workflows (`WORKFLOWS`), one of them failing.
It prints one JSON line: {"spans": [{trace_id, span_id, name, root, start_ns, end_ns, error,
attributes, parent_span_id}]}, every
span it exported, from which the test computes what the overview must say.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from contextlib import nullcontext
from typing import Any, NamedTuple

from junjo import BaseState, BaseStore, Edge, Graph, Node, Workflow
from junjo.agent import (
    Agent,
    AgentError,
    FinalOutputResponse,
    ModelDriverBinding,
    ModelDriverDescriptor,
    ModelRequest,
    ModelUsage,
    Tool,
    ToolCall,
    ToolCallsResponse,
)
from junjo.agent.testing import ScriptedModelDriver
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import Status, StatusCode
from pydantic import BaseModel

from tests.support.otel import add_junjo_exporter, add_recorder, span_id_hex, trace_id_hex

MINUTE_NS = 60 * 10**9
MS = 10**6

# name -> (minute offset, root duration ms, root failed, LLM child attributes or None)
PLAIN_TRACES: dict[str, tuple[int, int, bool, dict[str, Any] | None]] = {
    "openinference": (
        0,
        120,
        False,
        {
            "openinference.span.kind": "LLM",
            "llm.provider": "openai",
            "llm.model_name": "gpt-4o",
            "llm.token_count.prompt": 1200,
            "llm.token_count.completion": 300,
            "llm.token_count.total": 1500,
        },
    ),
    "gen_ai": (
        1,
        900,
        True,
        {
            "gen_ai.provider.name": "anthropic",
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": "claude-sonnet-4-5",
            "gen_ai.usage.input_tokens": 2000,
            "gen_ai.usage.output_tokens": 500,
        },
    ),
    "gen_ai_old_names": (
        1,
        40,
        False,
        {
            "gen_ai.system": "openai",
            "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.usage.prompt_tokens": 100,
            "gen_ai.usage.completion_tokens": 40,
        },
    ),
    "unknown_model": (
        2,
        3000,
        False,
        {
            "gen_ai.provider.name": "openai",
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": "acme-internal-7b",
            "gen_ai.usage.input_tokens": 10,
            "gen_ai.usage.output_tokens": 5,
        },
    ),
    "hostile_tokens": (
        3,
        7,
        False,
        {
            "openinference.span.kind": "LLM",
            "llm.provider": "openai",
            "llm.model_name": "gpt-4o",
            "llm.token_count.prompt": -5,
            "llm.token_count.completion": "12",
            "llm.token_count.total": 1e30,
        },
    ),
    "no_llm": (3, 15, True, None),
}

PRICED_PROVIDER, PRICED_MODEL = "openai", "gpt-4o-mini"
# name -> (model request usages (input, output), fails with a Tool error)
AGENT_RUNS: dict[str, tuple[list[tuple[int, int]], bool]] = {
    "agent_ok": ([(400, 50), (600, 80)], False),
    "agent_failed": ([(300, 20)], True),
}
WORKFLOWS = {"workflow_ok": False, "workflow_failed": True}


class Instrumented(NamedTuple):
    usages: list[tuple[int, int]]  # the provider's tokens (input, output) per model request
    sdk_span: str  # what the provider SDK's instrumentation records: "gen_ai" or "openinference"
    below_http: bool  # under an HTTP client span of its own, not straight below the model request
    reported: bool  # whether the driver reports the usage to Junjo (junjo.agent.model.usage)


INSTRUMENTED_RUNS: dict[str, Instrumented] = {
    "agent_sdk_gen_ai": Instrumented([(700, 70), (800, 90)], "gen_ai", False, True),
    "agent_sdk_via_http": Instrumented([(500, 40)], "openinference", True, True),
    "agent_sdk_unreported": Instrumented([(250, 25)], "gen_ai", False, False),
}


class Question(BaseModel):
    question: str


class Answer(BaseModel):
    answer: str


class CityInput(BaseModel):
    city: str


class Forecast(BaseModel):
    celsius: int


async def _forecast(input: CityInput, context: Any) -> Forecast:
    return Forecast(celsius=18)


async def _broken(input: CityInput, context: Any) -> Forecast:
    raise ConnectionError("weather service unreachable")


def _usage(inp: int, out: int) -> ModelUsage:
    return ModelUsage(input_tokens=inp, output_tokens=out, total_tokens=inp + out)


def _forecast_calls(usage: list[ModelUsage | None]) -> list[object]:
    """One model response per usage, each asking for a forecast."""
    return [
        ToolCallsResponse(
            tool_calls=[ToolCall(id=f"call_{i}", name="forecast", arguments={"city": "Paris"})], usage=u
        )
        for i, u in enumerate(usage)
    ]


def _weather_agent(name: str, descriptor: ModelDriverDescriptor, driver: object, service: Any) -> Agent:
    """An Agent answering weather questions with one `forecast` tool (served by `service`)."""
    return Agent(
        key=name,
        name=name,
        instructions="Answer weather questions.",
        input_type=Question,
        model=ModelDriverBinding(descriptor=descriptor, shared_driver=driver),
        tools=[
            Tool(
                name="forecast",
                description="Temperature of a city",
                input_type=CityInput,
                output_type=Forecast,
                shared_service=service,
            )
        ],
        output_type=Answer,
    )


async def _run_agent(name: str, usages: list[tuple[int, int]], fails: bool) -> None:
    steps = _forecast_calls([_usage(*usage) for usage in usages[:-1]])
    last = usages[-1]
    if fails:
        steps.append(
            ToolCallsResponse(
                tool_calls=[ToolCall(id="call_last", name="forecast", arguments={"city": "Rome"})],
                usage=_usage(*last),
            )
        )
    else:
        steps.append(FinalOutputResponse(output={"answer": "18°C"}, usage=_usage(*last)))
    descriptor = ModelDriverDescriptor(
        driver_key="scripted", provider=PRICED_PROVIDER, model=PRICED_MODEL, fixture=True
    )
    agent = _weather_agent(name, descriptor, ScriptedModelDriver(steps), _broken if fails else _forecast)
    try:
        await agent.execute(Question(question="Weather?"), dependencies=None)
    except AgentError:
        if not fails:
            raise


def _sdk_attributes(kind: str, inp: int, out: int) -> dict[str, Any]:
    if kind == "gen_ai":
        return {
            "gen_ai.provider.name": PRICED_PROVIDER,
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": PRICED_MODEL,
            "gen_ai.usage.input_tokens": inp,
            "gen_ai.usage.output_tokens": out,
        }
    return {
        "openinference.span.kind": "LLM",
        "llm.provider": PRICED_PROVIDER,
        "llm.model_name": PRICED_MODEL,
        "llm.token_count.prompt": inp,
        "llm.token_count.completion": out,
    }


class InstrumentedDriver:
    """A model driver that calls its provider through an instrumented SDK: each request records
    the SDK's own LLM span (inside Junjo's model request span, the current span), then answers."""

    def __init__(self, run: Instrumented, responses: list[object]) -> None:
        self.run, self.scripted = run, ScriptedModelDriver(responses)
        self.tracer = trace.get_tracer("provider-sdk")
        self.calls = 0

    async def request(self, request: ModelRequest) -> object:
        inp, out = self.run.usages[self.calls]
        self.calls += 1
        http = self.tracer.start_as_current_span("POST /v1/chat/completions") if self.run.below_http else None
        with http or nullcontext(), self.tracer.start_as_current_span(f"chat {PRICED_MODEL}") as span:
            span.set_attributes(_sdk_attributes(self.run.sdk_span, inp, out))
        return await self.scripted.request(request)


async def _run_instrumented(name: str, run: Instrumented) -> None:
    usage = [_usage(*u) if run.reported else None for u in run.usages]
    responses = _forecast_calls(usage[:-1])
    responses.append(FinalOutputResponse(output={"answer": "18°C"}, usage=usage[-1]))
    descriptor = ModelDriverDescriptor(
        driver_key="instrumented", provider=PRICED_PROVIDER, model=PRICED_MODEL
    )
    agent = _weather_agent(name, descriptor, InstrumentedDriver(run, responses), _forecast)
    await agent.execute(Question(question="Weather?"), dependencies=None)


class EmptyState(BaseState):
    done: bool = False


class EmptyStore(BaseStore[EmptyState]):
    async def finish(self) -> None:
        await self.set_state({"done": True})


class FinishNode(Node[EmptyStore]):
    async def service(self, store: EmptyStore) -> None:
        await store.finish()


class FailNode(Node[EmptyStore]):
    async def service(self, store: EmptyStore) -> None:
        raise ValueError("workflow node failed on purpose")


async def _run_workflow(name: str, fails: bool) -> None:
    node = FailNode() if fails else FinishNode()
    workflow = Workflow(
        graph_factory=lambda: Graph(source=node, sinks=[node], edges=list[Edge]()),
        store_factory=lambda: EmptyStore(initial_state=EmptyState()),
        name=name,
    )
    try:
        await workflow.execute()
    except Exception:
        if not fails:
            raise


def _send_plain(tracer: trace.Tracer, base_ns: int) -> None:
    for name, (minute, duration_ms, failed, llm) in PLAIN_TRACES.items():
        start = base_ns + minute * MINUTE_NS + 5 * 10**9
        root = tracer.start_span(name, start_time=start)
        if llm is not None:
            child = tracer.start_span(
                f"{name} call", context=trace.set_span_in_context(root), start_time=start + MS
            )
            child.set_attributes(llm)
            child.end(end_time=start + 2 * MS)
        if failed:
            root.set_status(Status(StatusCode.ERROR, "failed on purpose"))
        root.end(end_time=start + duration_ms * MS)


def send(endpoint: str, api_key: str, service: str, base_ns: int) -> dict[str, Any]:
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    exporter = add_junjo_exporter(provider, endpoint, api_key)
    seen = add_recorder(provider)
    trace.set_tracer_provider(provider)
    _send_plain(provider.get_tracer("usage-telemetry"), base_ns)
    for name, (usages, fails) in AGENT_RUNS.items():
        asyncio.run(_run_agent(name, usages, fails))
    for name, run in INSTRUMENTED_RUNS.items():
        asyncio.run(_run_instrumented(name, run))
    for name, fails in WORKFLOWS.items():
        asyncio.run(_run_workflow(name, fails))
    if not exporter.flush():
        raise SystemExit("exporter flush failed")
    spans = [
        {
            "trace_id": trace_id_hex(s),
            "span_id": span_id_hex(s),
            "name": s.name,
            "root": s.parent is None,
            "parent_span_id": f"{s.parent.span_id:016x}" if s.parent is not None else None,
            "start_ns": s.start_time,
            "end_ns": s.end_time,
            "error": s.status.status_code is StatusCode.ERROR,
            "attributes": dict(s.attributes or {}),
        }
        for s in seen.get_finished_spans()
    ]
    provider.shutdown()
    return {"spans": spans}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("endpoint")
    parser.add_argument("api_key")
    parser.add_argument("service")
    parser.add_argument("base_ns", type=int)
    args = parser.parse_args(argv)
    print(json.dumps(send(args.endpoint, args.api_key, args.service, args.base_ns)))


if __name__ == "__main__":
    main()
