"""A small real Junjo 0.69 workflow: a subflow, concurrent nodes, state updates and a failing node.

Used both to capture the SDK's real span output into a fixture (tests/query/capture_fixture.py)
and by the end-to-end tests that send it through the real ingestion service.
"""

from __future__ import annotations

from junjo import BaseState, BaseStore, Edge, Graph, Node, RunConcurrent, Subflow, Workflow


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


class SubState(BaseState):
    value: int = 0


class SubStore(BaseStore[SubState]):
    async def set_value(self, value: int) -> None:
        await self.set_state({"value": value})


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


class DoubleNode(Node[SubStore]):
    async def service(self, store: SubStore) -> None:
        state = await store.get_state()
        await store.set_value(state.value * 2)


class BoomNode(Node[DemoStore]):
    async def service(self, store: DemoStore) -> None:
        raise RuntimeError("boom in node")


class DoublerSubflow(Subflow[SubState, SubStore, DemoState, DemoStore]):
    async def pre_run_actions(self, parent_store: DemoStore, subflow_store: SubStore) -> None:
        parent = await parent_store.get_state()
        await subflow_store.set_value(parent.count or 0)

    async def post_run_actions(self, parent_store: DemoStore, subflow_store: SubStore) -> None:
        await parent_store.set_doubled((await subflow_store.get_state()).value)


def _subflow_graph() -> Graph:
    node = DoubleNode()
    return Graph(source=node, sinks=[node], edges=[])


def _graph() -> Graph:
    count = CountNode()
    parallel = RunConcurrent(name="parallel", items=[LeftNode(), RightNode()])
    sub = DoublerSubflow(
        graph_factory=_subflow_graph,
        store_factory=lambda: SubStore(initial_state=SubState()),
        name="doubler",
    )
    boom = BoomNode()
    return Graph(
        source=count,
        sinks=[boom],
        edges=[Edge(tail=count, head=parallel), Edge(tail=parallel, head=sub), Edge(tail=sub, head=boom)],
    )


def build_workflow(name: str = "demo_workflow") -> Workflow:
    return Workflow(
        graph_factory=_graph, store_factory=lambda: DemoStore(initial_state=DemoState()), name=name
    )


async def run_workflow(name: str = "demo_workflow") -> None:
    """Runs the workflow once; the failing node's error is expected and swallowed."""
    try:
        await build_workflow(name).execute()
    except Exception as exc:  # the workflow is built to fail in BoomNode
        if "boom in node" not in str(exc) and "boom in node" not in repr(exc.__cause__):
            raise
