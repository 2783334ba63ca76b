"""Hostile span rows for the tests and `scripts/bench_hostile_spans.py`: a poison trace, fat spans,
and a writer that stores them as a cold file the way data from before ingestion's limits (or from
another writer) would be stored."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from junjo_common.spanformat.v1 import SCHEMA, dumps_json, parquet_writer_options
from tests.query.spanfiles import BASE_NS, new_trace_id, span

MiB = 1024 * 1024
BACKEND_MEMORY_LIMIT = 384 * MiB  # docker-compose.yml mem_limit of the backend
SERVICE = "hostile"


def write_rows(path: Path, rows: Iterator[dict[str, Any]], count: int) -> None:
    """Writes rows (already in (service, start_time) order) in row groups of at most 4096 rows or
    32 MiB of text, so the test's own memory stays small however fat the spans are."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    group: list[dict[str, Any]] = []
    size = 0
    with pq.ParquetWriter(tmp, SCHEMA, **parquet_writer_options(count)) as writer:
        for row in rows:
            group.append(row)
            size += sum(len(row[c]) for c in ("attributes", "events", "resource_attributes"))
            if len(group) == 4096 or size > 32 * MiB:
                writer.write_table(pa.Table.from_pylist(group, schema=SCHEMA))
                group, size = [], 0
        if group:
            writer.write_table(pa.Table.from_pylist(group, schema=SCHEMA))
    tmp.rename(path)


def peak_rss(pid: int) -> int:
    """The process's peak resident size (`VmHWM`), in bytes."""
    status = Path(f"/proc/{pid}/status").read_text()
    line = next(x for x in status.splitlines() if x.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024


def reset_peak_rss(pid: int) -> None:
    """Starts a new `VmHWM` measurement (Linux: writing 5 to clear_refs resets the peak)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def workflow_span(trace_id: str, start_ns: int, store_id: str, **attrs: Any) -> dict[str, Any]:
    attributes = {
        "junjo.span_type": "workflow",
        "junjo.telemetry.contract_version": 3,
        "junjo.executable_runtime_id": f"wf-{store_id}",
        "junjo.workflow.store.id": store_id,
        "junjo.workflow.state.start": '{"n":0}',
        "junjo.workflow.state.end": '{"n":1}',
        "junjo.store.transition.start": 0,
        "junjo.store.transition.end": 1,
        "junjo.store.transition.count": 1,
        "junjo.store.revision.start": 0,
        "junjo.store.revision.end": 1,
        "junjo.workflow.execution_graph_snapshot": orjson.dumps(
            {"v": 2, "nodes": [{"nodeRuntimeId": f"node-{store_id}", "nodeLabel": "N"}], "edges": []}
        ).decode(),
        **attrs,
    }
    return span(
        trace_id, service=SERVICE, name=f"workflow {store_id}", start_ns=start_ns, attributes=attributes
    )


def node_span(trace_id: str, start_ns: int, parent: str, store_id: str, runtime_id: Any) -> dict[str, Any]:
    event = {
        "name": "set_state",
        "timeUnixNano": str(start_ns),
        "attributes": {
            "junjo.store.id": store_id,
            "junjo.store.transition.sequence": 1,
            "junjo.store.revision.before": 0,
            "junjo.store.revision.after": 1,
            "junjo.store.action": "set_n",
            "junjo.state_json_patch": '[{"op":"replace","path":"/n","value":1}]',
        },
    }
    attributes = {
        "junjo.span_type": "node",
        "junjo.telemetry.contract_version": 3,
        "junjo.executable_runtime_id": runtime_id,
    }
    return span(
        trace_id,
        service=SERVICE,
        name="node",
        start_ns=start_ns,
        parent=parent,
        attributes=attributes,
        events=[event],
    )


def nested(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


def poison_trace(start_ns: int = BASE_NS + 10**12) -> tuple[str, list[dict[str, Any]]]:
    """A trace whose workflows are: good, a 10**9-wide transition window, a state nested 500 levels,
    a list as runtime id; plus a span whose attributes nest 300 levels. Rows in start order."""
    trace = new_trace_id()
    t = start_ns
    rows = []
    cases: dict[str, dict[str, Any]] = {
        "good": {},
        "window": {"junjo.store.transition.end": 10**9, "junjo.store.transition.count": 10**9},
        "deep-state": {"junjo.workflow.state.start": nested(500)},
        "list-id": {},
    }
    for i, (store_id, attrs) in enumerate(cases.items()):
        wf = workflow_span(trace, t + i * 1000, store_id, **attrs)
        runtime_id: Any = ["not", "a", "string"] if store_id == "list-id" else f"node-{store_id}"
        rows += [wf, node_span(trace, t + i * 1000 + 1, wf["span_id"], store_id, runtime_id)]
    deep_attrs = span(trace, service=SERVICE, name="deep", start_ns=t + 9000, parent=rows[0]["span_id"])
    deep_attrs["attributes"] = '{"deep":' + nested(300) + "}"
    rows.append(deep_attrs)
    return trace, sorted(rows, key=lambda r: r["start_time"])


def fat_roots(
    count: int, blob_bytes: int, label: str = "fat workflow", start_ns: int = BASE_NS + 2 * 10**12
) -> Iterator[dict[str, Any]]:
    blob = "x" * blob_bytes
    for i in range(count):
        row = span(
            new_trace_id(),
            service=SERVICE,
            name=f"{label} {i}",
            start_ns=start_ns + i * 10**6,
            status=2 if i == 0 else 0,
        )
        row["attributes"] = dumps_json(
            {"junjo.span_type": "workflow", "junjo.workflow.node.count": 7, "blob": blob}
        ).decode()
        row["events"] = dumps_json(
            [{"name": "exception", "timeUnixNano": "1", "attributes": {"exception.stacktrace": blob}}]
        ).decode()
        row["resource_attributes"] = dumps_json({"service.name": SERVICE, "blob": blob}).decode()
        yield row
