"""A real junjo 0.69 evaluation harness for `junjo eval --harness tests.support.junjo_eval_harness:harness`.

The application greets people: a one-node Workflow (`GreetWorkflow`) and its Node (`GreetNode`)
are the two targets; an evaluator checks that the greeting contains the expected text. Each
`junjo eval` process exports its spans with Junjo's own OTLP exporter to the ingestion service
named by the environment, so attempts are bound to executions Studio really received:

- `JUNJO_EVAL_OTLP_ENDPOINT`, `JUNJO_EVAL_API_KEY`: ingestion's OTLP/gRPC endpoint and API key;
- `JUNJO_EVAL_SERVICE`: the OpenTelemetry service.name (service.namespace stays empty);
- `JUNJO_EVAL_VARIANT=candidate`: greet "Hi" instead of "Hello" (a regression for cases that
  expect "Hello"); the name "crash" makes the node raise (an `error` attempt).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from junjo import BaseState, BaseStore, Graph, Node, Workflow
from junjo.evaluation import (
    BooleanPredicateEvaluator,
    EvaluationHarness,
    ExecutionServiceIdentity,
    NodeInvocation,
    NodeTarget,
    WorkflowInvocation,
    WorkflowTarget,
)
from opentelemetry import trace
from pydantic import BaseModel

from tests.support.otel import add_junjo_exporter, service_provider

APPLICATION_KEY = "greeter"


class GreetInput(BaseModel):
    name: str


class Contains(BaseModel):
    text: str


class GreetState(BaseState):
    name: str = ""
    greeting: str | None = None


class GreetStore(BaseStore[GreetState]):
    async def set_greeting(self, greeting: str) -> None:
        await self.set_state({"greeting": greeting})


class GreetNode(Node[GreetStore]):
    async def service(self, store: GreetStore) -> None:
        name = (await store.get_state()).name
        if name == "crash":
            raise RuntimeError("cannot greet a crash")
        word = "Hi" if os.environ.get("JUNJO_EVAL_VARIANT") == "candidate" else "Hello"
        await store.set_greeting(f"{word}, {name}!")


def _store(value: GreetInput) -> GreetStore:
    return GreetStore(initial_state=GreetState(name=value.name))


def _workflow(value: GreetInput, _context: Any, _resources: Any) -> WorkflowInvocation:
    def graph() -> Graph:
        node = GreetNode()
        return Graph(source=node, sinks=[node], edges=[])

    return WorkflowInvocation(
        workflow=Workflow(graph_factory=graph, store_factory=lambda: _store(value), name="GreetWorkflow")
    )


def _node(value: GreetInput, _context: Any, _resources: Any) -> NodeInvocation[GreetState]:
    return NodeInvocation(node=GreetNode(), store=_store(value))


def _greeting(result: Any, _value: Any, _context: Any, _resources: Any) -> str:
    return str(result.state.greeting)


def _contains(subject: object, expectation: Contains, _context: Any, _resources: Any) -> bool:
    return isinstance(subject, str) and expectation.text in subject


@asynccontextmanager
async def _telemetry() -> AsyncIterator[None]:
    provider = service_provider(os.environ["JUNJO_EVAL_SERVICE"])
    exporter = add_junjo_exporter(
        provider, os.environ["JUNJO_EVAL_OTLP_ENDPOINT"], os.environ["JUNJO_EVAL_API_KEY"]
    )
    trace.set_tracer_provider(provider)
    try:
        yield None
    finally:
        exporter.flush()
        provider.shutdown()


harness = EvaluationHarness(
    application_key=APPLICATION_KEY,
    service_identity=ExecutionServiceIdentity(
        service_namespace="", service_name=os.environ.get("JUNJO_EVAL_SERVICE", "greeter")
    ),
    targets=(
        WorkflowTarget(
            key="greet-workflow",
            name="GreetWorkflow",
            input_version=1,
            input_type=GreetInput,
            factory=_workflow,
            projector=_greeting,
        ),
        NodeTarget(
            key="greet-node",
            name="GreetNode",
            input_version=1,
            input_type=GreetInput,
            factory=_node,
            projector=_greeting,
        ),
    ),
    evaluators=(
        BooleanPredicateEvaluator(
            key="greeting.contains",
            version=1,
            expectation_type=Contains,
            predicate=_contains,
            passed_reason="The greeting contains the expected text.",
            failed_reason="The greeting lacks the expected text.",
        ),
    ),
    runtime_context=_telemetry,
)
