"""Real Junjo 0.69 Agent runs (driven by the SDK's ScriptedModelDriver, no network) and the process
that exports them.

Five scenarios, one trace each: a successful run with three model requests and three Tool calls
(two in one batch), a Tool that fails, a model-request limit exceeded, an input that fails
validation, and an Agent run inside a Workflow node whose Tool updates the Workflow's Store.

`python -m tests.support.junjo_agents <endpoint> <api_key> <service> [--namespace NS]` runs them
all in its own process (the tracer provider is process-global), exports them with the SDK's
JunjoOtelExporter and prints one JSON line: scenario -> {trace_id, runtime_id, span_ids}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from junjo import BaseState, BaseStore, Edge, Graph, Node, Workflow
from junjo.agent import (
    Agent,
    AgentError,
    AgentLimits,
    AgentRunContext,
    FinalOutputResponse,
    ModelDriverBinding,
    ModelDriverDescriptor,
    ModelUsage,
    Tool,
    ToolCall,
    ToolCallsResponse,
)
from junjo.agent.testing import ScriptedModelDriver
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from pydantic import BaseModel

from tests.support.otel import add_junjo_exporter, add_recorder, span_id_hex, trace_id_hex

AGENT_KEY = "weather-assistant"
AGENT_NAME = "Weather assistant"
TOOL_FAILURE = "weather service unreachable"


class Question(BaseModel):
    question: str
    city_count: int = 1


class Answer(BaseModel):
    answer: str


class CityInput(BaseModel):
    city: str


class Forecast(BaseModel):
    city: str
    celsius: int


class NoteInput(BaseModel):
    note: str


class NoteResult(BaseModel):
    saved: bool


class TripState(BaseState):
    notes: list[str] = []
    planned: bool = False


class TripStore(BaseStore[TripState]):
    async def add_note(self, note: str) -> None:
        state = await self.get_state()
        await self.set_state({"notes": [*state.notes, note]})

    async def mark_planned(self) -> None:
        await self.set_state({"planned": True})


FORECASTS = {"Paris": 18, "Oslo": 4, "Lima": 22}


async def get_weather(input: CityInput, context: AgentRunContext[None, Any]) -> Forecast:
    return Forecast(city=input.city, celsius=FORECASTS.get(input.city, 15))


async def broken_weather(input: CityInput, context: AgentRunContext[None, Any]) -> Forecast:
    raise ConnectionError(TOOL_FAILURE)


async def save_note(input: NoteInput, context: AgentRunContext[None, TripStore]) -> NoteResult:
    await context.store.add_note(input.note)
    return NoteResult(saved=True)


def _tool(name: str, service: Any, input_type: type, output_type: type, description: str) -> Tool:
    return Tool(
        name=name,
        description=description,
        input_type=input_type,
        output_type=output_type,
        shared_service=service,
    )


def _agent(
    steps: list[object],
    tools: list[Tool],
    limits: AgentLimits | None = None,
    key: str = AGENT_KEY,
    name: str = AGENT_NAME,
    store_factory: Any = None,
) -> Agent:
    binding = ModelDriverBinding(
        descriptor=ModelDriverDescriptor(
            driver_key="scripted", provider="junjo", model="scripted-weather-1", fixture=True
        ),
        shared_driver=ScriptedModelDriver(steps),
    )
    return Agent(
        key=key,
        name=name,
        instructions="Answer weather questions. Use get_weather for every city you mention.",
        input_type=Question,
        model=binding,
        tools=tools,
        output_type=Answer,
        limits=limits,
        store_factory=store_factory,
    )


def _usage(inp: int, out: int) -> ModelUsage:
    return ModelUsage(input_tokens=inp, output_tokens=out, total_tokens=inp + out)


def _weather_tool(service: Any = get_weather) -> Tool:
    return _tool("get_weather", service, CityInput, Forecast, "Current temperature of a city")


async def run_success() -> str:
    """Three model requests, three Tool calls (a batch of two, then one), then the final answer."""
    agent = _agent(
        [
            ToolCallsResponse(
                tool_calls=[
                    ToolCall(id="call_1", name="get_weather", arguments={"city": "Paris"}),
                    ToolCall(id="call_2", name="get_weather", arguments={"city": "Oslo"}),
                ],
                assistant_text="Checking two cities.",
                usage=_usage(120, 30),
            ),
            ToolCallsResponse(
                tool_calls=[ToolCall(id="call_3", name="get_weather", arguments={"city": "Lima"})],
                usage=_usage(180, 20),
            ),
            FinalOutputResponse(output={"answer": "Paris 18°C, Oslo 4°C, Lima 22°C"}, usage=_usage(240, 40)),
        ],
        [_weather_tool()],
    )
    result = await agent.execute(
        Question(question="Weather in Paris, Oslo and Lima?", city_count=3), dependencies=None
    )
    return result.run_id


async def _run_failing(agent: Agent, value: object) -> str:
    try:
        await agent.execute(value, dependencies=None)
    except AgentError as exc:
        run_id = getattr(exc, "run_id", None)
        return str(run_id) if run_id else ""
    raise AssertionError("the agent was expected to fail")


async def run_tool_failure() -> str:
    agent = _agent(
        [
            ToolCallsResponse(
                tool_calls=[ToolCall(id="call_1", name="get_weather", arguments={"city": "Rome"})]
            )
        ],
        [_weather_tool(broken_weather)],
        key="weather-broken",
        name="Broken weather assistant",
    )
    return await _run_failing(agent, Question(question="Weather in Rome?"))


async def run_limit_exceeded() -> str:
    agent = _agent(
        [
            ToolCallsResponse(
                tool_calls=[ToolCall(id="call_1", name="get_weather", arguments={"city": "Paris"})]
            ),
            FinalOutputResponse(output={"answer": "never reached"}),
        ],
        [_weather_tool()],
        limits=AgentLimits(model_requests=1, tool_calls=4),
        key="weather-limited",
        name="Limited weather assistant",
    )
    return await _run_failing(agent, Question(question="Weather in Paris?"))


async def run_input_rejected() -> str:
    agent = _agent([], [_weather_tool()], key="weather-strict", name="Strict weather assistant")
    return await _run_failing(agent, {"question": 42, "unexpected": True})


def _rejected_batch(calls: list[ToolCall], limits: AgentLimits | None = None) -> Agent:
    return _agent(
        [ToolCallsResponse(tool_calls=calls)],
        [_weather_tool()],
        limits=limits,
        key="weather-rejected",
        name="Rejected batch",
    )


async def run_unknown_tool() -> str:
    """A batch whose second call names a Tool the Agent does not declare: nothing is admitted."""
    calls = [
        ToolCall(id="call_1", name="get_weather", arguments={"city": "Paris"}),
        ToolCall(id="call_2", name="get_tides", arguments={"port": "Brest"}),
    ]
    return await _run_failing(_rejected_batch(calls), Question(question="Weather and tides?"))


async def run_invalid_tool_arguments() -> str:
    """A batch whose second call has invalid arguments: only that call gets a (failed) Tool span."""
    calls = [
        ToolCall(id="call_1", name="get_weather", arguments={"city": "Paris"}),
        ToolCall(id="call_2", name="get_weather", arguments={"town": 7}),
        ToolCall(id="call_3", name="get_weather", arguments={"city": "Lima"}),
    ]
    return await _run_failing(_rejected_batch(calls), Question(question="Weather in three cities?"))


async def run_tool_limit_exceeded() -> str:
    """A batch of three calls against a Tool-call limit of two: the whole batch is rejected."""
    calls = [ToolCall(id=f"call_{i}", name="get_weather", arguments={"city": "Oslo"}) for i in (1, 2, 3)]
    agent = _rejected_batch(calls, AgentLimits(model_requests=4, tool_calls=2))
    return await _run_failing(agent, Question(question="Weather, three times?"))


# Runs whose requested Tool calls are not admitted, one per reason (not part of the exported set)
ADMISSION_SCENARIOS = {
    "unknown_tool": run_unknown_tool,
    "invalid_tool_arguments": run_invalid_tool_arguments,
    "tool_limit_exceeded": run_tool_limit_exceeded,
}


PLANNER_RUN: dict[str, str] = {}


class PlanTripNode(Node[TripStore]):
    async def service(self, store: TripStore) -> None:
        agent = _agent(
            [
                ToolCallsResponse(
                    tool_calls=[
                        ToolCall(id="call_1", name="save_note", arguments={"note": "pack an umbrella"})
                    ],
                    usage=_usage(90, 15),
                ),
                FinalOutputResponse(output={"answer": "Trip planned"}, usage=_usage(110, 10)),
            ],
            [_tool("save_note", save_note, NoteInput, NoteResult, "Saves a note on the trip")],
            key="trip-planner",
            name="Trip planner",
        )
        result = await agent.execute(Question(question="Plan my trip"), dependencies=None, store=store)
        PLANNER_RUN["runtime_id"] = result.run_id
        await store.mark_planned()


def _trip_graph() -> Graph:
    node = PlanTripNode()
    return Graph(source=node, sinks=[node], edges=list[Edge]())


async def run_in_workflow() -> str:
    workflow = Workflow(
        graph_factory=_trip_graph, store_factory=lambda: TripStore(initial_state=TripState()), name="PlanTrip"
    )
    await workflow.execute()
    return PLANNER_RUN["runtime_id"]


SCENARIOS = {
    "success": run_success,
    "tool_failure": run_tool_failure,
    "limit_exceeded": run_limit_exceeded,
    "input_rejected": run_input_rejected,
    "in_workflow": run_in_workflow,
}


async def run_all() -> dict[str, str]:
    return {name: await scenario() for name, scenario in SCENARIOS.items()}


def send(endpoint: str, api_key: str, service: str, namespace: str) -> dict[str, Any]:
    attributes = {"service.name": service, "service.version": "1.4.2"}
    if namespace:
        attributes["service.namespace"] = namespace
    provider = TracerProvider(resource=Resource.create(attributes))
    exporter = add_junjo_exporter(provider, endpoint, api_key)
    seen = add_recorder(provider)
    trace.set_tracer_provider(provider)
    out: dict[str, Any] = {}
    for name, scenario in SCENARIOS.items():
        before = len(seen.get_finished_spans())
        runtime_id = asyncio.run(scenario())
        spans = seen.get_finished_spans()[before:]
        trace_ids = {trace_id_hex(s) for s in spans}
        if len(trace_ids) != 1:
            raise SystemExit(f"{name}: expected one trace, got {sorted(trace_ids)}")
        agent_spans = [s for s in spans if (s.attributes or {}).get("junjo.span_type") == "agent"]
        out[name] = {
            "trace_id": trace_ids.pop(),
            "runtime_id": runtime_id,
            "agent_span_id": span_id_hex(agent_spans[0]) if agent_spans else None,
            "span_ids": [span_id_hex(s) for s in spans],
        }
    if not exporter.flush():
        raise SystemExit("exporter flush failed")
    provider.shutdown()
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("endpoint")
    parser.add_argument("api_key")
    parser.add_argument("service")
    parser.add_argument("--namespace", default="")
    args = parser.parse_args(argv)
    print(json.dumps(send(args.endpoint, args.api_key, args.service, args.namespace)))


if __name__ == "__main__":
    main()
