"""The smallest real Junjo (0.69) application: two nodes, two state updates, one workflow span.

The ingestion service test asserts exactly these span types (a plain root span, the workflow,
two nodes) and set_state events, so it is kept apart from tests/support/junjo_demo.py's demo.
Sent with `python -m tests.support.junjo_demo ... --app tests.ingestion.junjo_app:run_probe`.
"""

from __future__ import annotations

from junjo import BaseState, BaseStore, Edge, Graph, Node, Workflow
from opentelemetry import trace


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


async def run_probe() -> None:
    """The workflow inside a plain `probe-root` span (an application's own span around Junjo)."""
    workflow = Workflow[CountState, CountStore](
        name="ingestion_probe_workflow",
        graph_factory=make_graph,
        store_factory=lambda: CountStore(initial_state=CountState()),
    )
    with trace.get_tracer("probe").start_as_current_span("probe-root"):
        await workflow.execute()
