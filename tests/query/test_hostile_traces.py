"""Hostile stored telemetry against the real backend and ingestion processes.

Span files are written straight into the data directory (as data stored before ingestion's limits,
or by another writer, would be) and indexed through the flush-wal endpoint. The backend must answer
every request with bounded work and stay inside its compose memory limit (384 MiB): its peak
resident size (`VmHWM`) is read from /proc after the requests.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from junjo_common.spanformat.v1 import SCHEMA, dumps_json, parquet_writer_options
from tests.query.spanfiles import BASE_NS, cold_path, new_span_id, new_trace_id, span
from tests.support.api import OBS, ApiClient
from tests.support.stack import Stack, start_backend, start_ingestion

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


def peak_rss(stack: Stack) -> int:
    assert stack.backend is not None and stack.backend.proc is not None
    status = Path(f"/proc/{stack.backend.proc.pid}/status").read_text()
    line = next(x for x in status.splitlines() if x.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024


class Env:
    def __init__(self, stack: Stack, api: ApiClient) -> None:
        self.stack, self.api = stack, api
        self.root = stack.data_dir / "spans" / "parquet"
        self.files = 0

    def store(self, rows: list[dict[str, Any]] | Iterator[dict[str, Any]], count: int) -> None:
        self.files += 1
        write_rows(cold_path(self.root, f"hostile-{self.files:03d}"), iter(rows), count)
        response = self.api.http.post("/api/admin/flush-wal")
        assert response.status_code == 200 and response.json()["files_indexed"] >= 1, response.text

    def get(self, path: str, **params: Any) -> Any:
        response = self.api.http.get(path, params=params)
        assert response.status_code == 200, f"{path} -> {response.status_code} {response.text[:500]}"
        return response


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    data = tmp_path_factory.mktemp("hostile")
    stack = Stack(data, extra_env={"INDEXER_POLL_INTERVAL": "3600"})
    try:
        start_backend(stack, data / "logs")
        start_ingestion(stack, data / "logs")
        api = ApiClient(stack.http_url, timeout=120.0)
        api.create_first_user()
        yield Env(stack, api)
        api.close()
    finally:
        stack.stop()


# --- the poison trace ---------------------------------------------------------------------------


def _workflow_span(trace_id: str, start_ns: int, store_id: str, **attrs: Any) -> dict[str, Any]:
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


def _node_span(trace_id: str, start_ns: int, parent: str, store_id: str, runtime_id: Any) -> dict[str, Any]:
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


def _nested(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


def test_poison_trace_answers_and_marks_only_the_bad_workflows(env: Env) -> None:
    trace = new_trace_id()
    t = BASE_NS + 10**12
    rows = []
    cases = {
        "good": {},
        "window": {"junjo.store.transition.end": 10**9, "junjo.store.transition.count": 10**9},
        "deep-state": {"junjo.workflow.state.start": _nested(500)},
        "list-id": {},
    }
    for i, (store_id, attrs) in enumerate(cases.items()):
        wf = _workflow_span(trace, t + i * 1000, store_id, **attrs)
        runtime_id: Any = ["not", "a", "string"] if store_id == "list-id" else f"node-{store_id}"
        rows += [wf, _node_span(trace, t + i * 1000 + 1, wf["span_id"], store_id, runtime_id)]
    deep_attrs = span(trace, service=SERVICE, name="deep", start_ns=t + 9000, parent=rows[0]["span_id"])
    deep_attrs["attributes"] = '{"deep":' + _nested(300) + "}"
    rows.append(deep_attrs)
    env.store(sorted(rows, key=lambda r: r["start_time"]), len(rows))

    doc = env.get(f"/api/v1/trace-document/{trace}").json()
    workflows = {w["name"].removeprefix("workflow "): w for w in doc["workflows"].values()}
    assert workflows["good"]["store"]["status"] == "verified", workflows["good"]["store"]
    assert workflows["good"]["store"]["transitions"][0]["after"] == {"n": 1}
    window = workflows["window"]["store"]
    assert window["status"] == "failed"
    assert any(
        "missing set_state transitions [2, 3" in r and "999999999 in all" in r for r in window["reasons"]
    )
    deep = workflows["deep-state"]["store"]
    assert deep["status"] != "verified" and any("nested deeper than" in r for r in deep["reasons"])
    assert workflows["list-id"]["node_spans"] == {}  # a list is no runtime id
    assert workflows["list-id"]["store"]["status"] == "verified"
    deep_span = next(s for s in doc["spans"] if s["name"] == "deep")
    assert "nested deeper than" in orjson.dumps(deep_span["attributes_json"]).decode()

    assert len(env.get(f"{OBS}/traces/{trace}/spans").json()) == len(rows)
    assert env.get(f"{OBS}/traces/{trace}/spans/{deep_attrs['span_id']}").json()["name"] == "deep"
    assert env.get("/health").status_code == 200
    assert peak_rss(env.stack) < BACKEND_MEMORY_LIMIT


# --- fat spans: listings and trace answers ----------------------------------------------------------


def _fat_roots(count: int, blob_bytes: int) -> Iterator[dict[str, Any]]:
    blob = "x" * blob_bytes
    for i in range(count):
        row = span(
            new_trace_id(),
            service=SERVICE,
            name=f"fat workflow {i}",
            start_ns=BASE_NS + 2 * 10**12 + i * 10**6,
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


def test_list_pages_over_fat_spans_are_previews_within_the_memory_limit(env: Env) -> None:
    env.store(_fat_roots(30, 12 * MiB), 30)
    for path in ("workflows", "spans/root", "spans"):
        response = env.get(f"{OBS}/services/{SERVICE}/{path}", limit=250)
        rows = [r for r in response.json() if r["name"].startswith("fat workflow")]
        assert len(rows) == 30, path
        assert len(response.content) < 1 * MiB
        first = next(r for r in rows if r["name"] == "fat workflow 0")
        assert first["attributes_json"] == {"junjo.span_type": "workflow", "junjo.workflow.node.count": 7}
        assert [e["name"] for e in first["events_json"]] == ["exception"]
        assert first["resource_attributes_json"] == {"service.name": SERVICE}

    fat = next(r for r in rows if r["name"] == "fat workflow 3")
    one = env.get(f"{OBS}/traces/{fat['trace_id']}/spans/{fat['span_id']}").json()
    assert "junjo.studio.values_omitted" in one["attributes_json"]
    assert env.get(f"/api/v1/trace-document/{fat['trace_id']}").json()["truncated"] is None
    assert peak_rss(env.stack) < BACKEND_MEMORY_LIMIT


def test_trace_answers_are_bounded_by_bytes_and_spans_and_page_through(env: Env) -> None:
    heavy, many = new_trace_id(), new_trace_id()
    blob = "y" * (3 * MiB)  # under the per-span bound: each is answered in full, one per page
    root = new_span_id()
    heavy_rows = [
        span(
            heavy,
            service=SERVICE,
            name=f"heavy {i}",
            start_ns=BASE_NS + 3 * 10**12 + i * 1000,
            span_id=root if i == 0 else None,
            parent=None if i == 0 else root,
            attributes={"blob": blob, "i": i},
        )
        for i in range(10)
    ]
    env.store(iter(heavy_rows), len(heavy_rows))
    many_rows = [
        span(many, service=SERVICE, name=f"small {i}", start_ns=BASE_NS + 4 * 10**12 + i * 1000)
        for i in range(2500)
    ]
    env.store(many_rows, len(many_rows))

    doc = env.get(f"/api/v1/trace-document/{heavy}").json()
    assert [s["name"] for s in doc["spans"]] == ["heavy 0"]
    assert doc["spans"][0]["attributes_json"]["blob"] == blob
    assert doc["truncated"]["more_spans"] == 9
    assert doc["truncated"]["message"] == "trace truncated, 9 more spans"
    seen, cursor = [], None
    for _ in range(20):
        response = env.get(f"{OBS}/traces/{heavy}/spans", **({"cursor": cursor} if cursor else {}))
        assert len(response.content) < 8 * MiB
        seen += [s["name"] for s in response.json()]
        cursor = response.headers.get("X-Next-Cursor")
        if cursor is None:
            assert "X-Junjo-More-Spans" not in response.headers
            break
        assert int(response.headers["X-Junjo-More-Spans"]) == 10 - len(seen)
    assert seen == [f"heavy {i}" for i in range(10)]

    first = env.get(f"/api/v1/trace-document/{many}").json()
    assert len(first["spans"]) == 2000 and first["truncated"]["more_spans"] == 500
    rest = env.get(f"/api/v1/trace-document/{many}", cursor=first["truncated"]["next_cursor"]).json()
    assert len(rest["spans"]) == 500 and rest["truncated"] is None
    names = [s["name"] for s in first["spans"] + rest["spans"]]
    assert names == [f"small {i}" for i in range(2500)]
    bad = env.api.http.get(f"/api/v1/trace-document/{many}", params={"cursor": "!!"})
    assert bad.status_code == 422
    assert peak_rss(env.stack) < BACKEND_MEMORY_LIMIT
