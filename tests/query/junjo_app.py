"""The Junjo 0.69 workflow behind tests/query/fixtures/junjo_069_workflow.json.

A subflow, concurrent nodes, state updates and a failing node, with the names and the five
state transitions that the trace-document tests (over the captured fixture) and the query
end-to-end tests (over a live run) assert. It is kept apart from tests/support/junjo_demo.py's
demo app because the fixture was captured from exactly this shape; it shares the demo's subflow.
Captured by tests/query/capture_fixture.py; sent live with
`python -m tests.support.junjo_demo ... --app tests.query.junjo_app:run_workflow`.
"""

from __future__ import annotations

from junjo import BaseState, BaseStore, Edge, Graph, Node, RunConcurrent, Subflow, Workflow

from tests.support.junjo_demo import SubState, SubStore, doubler_graph, run_failing

FAILURE = "boom in node"


class DemoState(BaseState):
    count: int | None = None
    left: str | None = None
    right: str | None = None
    doubled: int | None = None
    items: list[str] = ["laser", "coffee"]


class DemoStore(BaseStore[DemoState]):
    async def set_count(self, count: int) -> None:
        await self.set_state({"count": count})

    async def set_left(self, value: str) -> None:
        await self.set_state({"left": value})

    async def set_right(self, value: str) -> None:
        await self.set_state({"right": value})

    async def set_doubled(self, value: int) -> None:
        await self.set_state({"doubled": value})

    async def add_item(self, item: str) -> None:
        state = await self.get_state()
        await self.set_state({"items": [*state.items, item]})


class CountNode(Node[DemoStore]):
    async def service(self, store: DemoStore) -> None:
        await store.set_count(3)


class LeftNode(Node[DemoStore]):
    async def service(self, store: DemoStore) -> None:
        await store.set_left("left-done")


class RightNode(Node[DemoStore]):
    async def service(self, store: DemoStore) -> None:
        await store.set_right("right-done")
        await store.add_item("horse")


class BoomNode(Node[DemoStore]):
    async def service(self, store: DemoStore) -> None:
        raise RuntimeError(FAILURE)


class DoublerSubflow(Subflow[SubState, SubStore, DemoState, DemoStore]):
    async def pre_run_actions(self, parent_store: DemoStore, subflow_store: SubStore) -> None:
        parent = await parent_store.get_state()
        await subflow_store.set_value(parent.count or 0)

    async def post_run_actions(self, parent_store: DemoStore, subflow_store: SubStore) -> None:
        await parent_store.set_doubled((await subflow_store.get_state()).value)


def _graph() -> Graph:
    count = CountNode()
    parallel = RunConcurrent(name="parallel", items=[LeftNode(), RightNode()])
    sub = DoublerSubflow(
        graph_factory=doubler_graph,
        store_factory=lambda: SubStore(initial_state=SubState()),
        name="doubler",
    )
    boom = BoomNode()
    return Graph(
        source=count,
        sinks=[boom],
        edges=[Edge(tail=count, head=parallel), Edge(tail=parallel, head=sub), Edge(tail=sub, head=boom)],
    )


async def run_workflow() -> None:
    """Runs the workflow once; the failing node's error is expected and swallowed."""
    workflow = Workflow(
        graph_factory=_graph, store_factory=lambda: DemoStore(initial_state=DemoState()), name="demo_workflow"
    )
    await run_failing(workflow, FAILURE)
