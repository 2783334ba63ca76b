"""The demo Junjo 0.69 application the end-to-end tests send, and the process that sends it.

`run_demo()` executes one workflow that uses every feature the trace views must render: a
concurrent group, a subflow, conditional edges (one taken, one not), state updates in the workflow
and in the subflow, and a node that fails (so the workflow fails). Tests whose assertions are
coupled to another workflow's shape (the captured fixture's app in tests/query, the minimal
ingestion probe) pass it as `--app`.

`python -m tests.support.junjo_demo <endpoint> <api_key> <service> [--app module:function]`
runs the app once in its own process (the OpenTelemetry tracer provider is process-global and
Junjo uses the global one), exports it with the SDK's JunjoOtelExporter, waits for the flush and
prints `{"trace_id": ..., "span_ids": [...], "traces": 1, "spans": N}`.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
from collections.abc import Awaitable, Callable

from junjo import BaseState, BaseStore, Condition, Edge, Graph, Node, RunConcurrent, Subflow, Workflow
from opentelemetry import trace

from tests.support.otel import add_junjo_exporter, add_recorder, service_provider, span_id_hex, trace_id_hex

FAILURE = "reply model unavailable"


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


class DoubleNode(Node[SubStore]):
    async def service(self, store: SubStore) -> None:
        await store.set_value((await store.get_state()).value * 2)


def doubler_graph() -> Graph:
    """The subflow's graph: one node doubling the value it was given."""
    node = DoubleNode()
    return Graph(source=node, sinks=[node], edges=[])


class CountNode(Node[ChatStore]):
    async def service(self, store: ChatStore) -> None:
        await store.set_count(21)


class LoadHistoryNode(Node[ChatStore]):
    async def service(self, store: ChatStore) -> None:
        await store.set_history("3 earlier messages")


class LoadContactNode(Node[ChatStore]):
    async def service(self, store: ChatStore) -> None:
        await store.set_contact("Ada")


class ReplyNode(Node[ChatStore]):
    async def service(self, store: ChatStore) -> None:
        raise RuntimeError(FAILURE)


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


def _graph() -> Graph:
    count = CountNode()
    load = RunConcurrent(name="InitialLoad", items=[LoadHistoryNode(), LoadContactNode()])
    sub = DoublerSubflow(
        graph_factory=doubler_graph, store_factory=lambda: SubStore(initial_state=SubState()), name="Doubler"
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


async def run_failing(workflow: Workflow, failure: str) -> None:
    """Executes `workflow`, which is built to fail with `failure`; any other error propagates."""
    try:
        await workflow.execute()
    except Exception as exc:
        if failure not in f"{exc} {exc!r} {exc.__cause__!r}":
            raise


async def run_demo() -> None:
    workflow = Workflow(
        graph_factory=_graph, store_factory=lambda: ChatStore(initial_state=ChatState()), name="HandleMessage"
    )
    await run_failing(workflow, FAILURE)


def load_app(spec: str) -> Callable[[], Awaitable[None]]:
    """`module:function` -> the coroutine function to run."""
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)


def send(endpoint: str, api_key: str, service: str, app: Callable[[], Awaitable[None]]) -> dict[str, object]:
    """Runs `app` once under a provider exporting through JunjoOtelExporter; returns what was sent."""
    provider = service_provider(service)
    exporter = add_junjo_exporter(provider, endpoint, api_key)
    seen = add_recorder(provider)
    trace.set_tracer_provider(provider)
    asyncio.run(app())
    if not exporter.flush():
        raise SystemExit("exporter flush failed")
    spans = seen.get_finished_spans()
    provider.shutdown()
    trace_ids = {trace_id_hex(s) for s in spans}
    if len(trace_ids) != 1:
        raise SystemExit(f"expected one trace, got {sorted(trace_ids)}")
    return {
        "trace_id": trace_ids.pop(),
        "span_ids": [span_id_hex(s) for s in spans],
        "traces": 1,
        "spans": len(spans),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("endpoint")
    parser.add_argument("api_key")
    parser.add_argument("service")
    parser.add_argument("--app", default=f"{__name__}:run_demo", help="module:function (async, no args)")
    args = parser.parse_args(argv)
    print(json.dumps(send(args.endpoint, args.api_key, args.service, load_app(args.app))))


if __name__ == "__main__":
    main()
