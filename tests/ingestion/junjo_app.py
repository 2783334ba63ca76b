"""A tiny real Junjo (0.69) application exporting through JunjoOtelExporter; run as a subprocess.

Usage: python -m tests.ingestion.junjo_app <endpoint> <api_key> <service_name>
Prints the trace id (hex) of the workflow run on stdout. A subprocess keeps OpenTelemetry's
process-global tracer provider out of the test process.
"""

from __future__ import annotations

import asyncio
import sys

from junjo import BaseState, BaseStore, Edge, Graph, Node, Workflow
from junjo.telemetry.junjo_otel_exporter import JunjoOtelExporter
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider


class CountState(BaseState):
    count: int | None = None
    label: str | None = None


class CountStore(BaseStore[CountState]):
    async def set_count(self, payload: int) -> None:
        await self.set_state({"count": payload})

    async def set_label(self, payload: str) -> None:
        await self.set_state({"label": payload})


class CountNode(Node[CountStore]):
    async def service(self, store: CountStore) -> None:
        await store.set_count(3)


class LabelNode(Node[CountStore]):
    async def service(self, store: CountStore) -> None:
        state = await store.get_state()
        await store.set_label("odd" if (state.count or 0) % 2 else "even")


def make_graph() -> Graph:
    count, label = CountNode(), LabelNode()
    return Graph(source=count, sinks=[label], edges=[Edge(tail=count, head=label)])


async def run(endpoint: str, api_key: str, service: str) -> str:
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    exporter = JunjoOtelExporter(endpoint=endpoint, api_key=api_key, insecure=True)
    provider.add_span_processor(exporter.span_processor)
    trace.set_tracer_provider(provider)
    workflow = Workflow[CountState, CountStore](
        name="ingestion_probe_workflow", graph_factory=make_graph,
        store_factory=lambda: CountStore(initial_state=CountState()))
    tracer = trace.get_tracer("probe")
    with tracer.start_as_current_span("probe-root") as root:
        await workflow.execute()
        trace_id = format(root.get_span_context().trace_id, "032x")
    if not exporter.flush():
        raise SystemExit("flush failed")
    provider.shutdown()
    return trace_id


if __name__ == "__main__":
    print(asyncio.run(run(sys.argv[1], sys.argv[2], sys.argv[3])))
