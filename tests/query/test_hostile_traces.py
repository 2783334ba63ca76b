"""Hostile stored telemetry against the real backend and ingestion processes.

Span files are written straight into the data directory (as data stored before ingestion's limits,
or by another writer, would be) and indexed through the flush-wal endpoint. The backend must answer
every request with bounded work and stay inside its compose memory limit (384 MiB): its peak
resident size (`VmHWM`) is read from /proc after the requests.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson
import pytest

from tests.query.hostile_data import (
    BACKEND_MEMORY_LIMIT,
    SERVICE,
    MiB,
    fat_roots,
    peak_rss,
    poison_trace,
    write_rows,
)
from tests.query.spanfiles import BASE_NS, cold_path, new_span_id, new_trace_id, span
from tests.support.api import OBS, ApiClient
from tests.support.stack import Stack, signed_in_stack


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

    def peak_rss(self) -> int:
        assert self.stack.backend is not None and self.stack.backend.proc is not None
        return peak_rss(self.stack.backend.proc.pid)

    def get(self, path: str, **params: Any) -> Any:
        response = self.api.http.get(path, params=params)
        assert response.status_code == 200, f"{path} -> {response.status_code} {response.text[:500]}"
        return response


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    with signed_in_stack(tmp_path_factory.mktemp("hostile"), api_timeout=120.0) as (stack, api):
        yield Env(stack, api)


def test_poison_trace_answers_and_marks_only_the_bad_workflows(env: Env) -> None:
    trace, rows = poison_trace()
    env.store(rows, len(rows))

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
    assert env.get(f"/api/v1/trace-evidence/{trace}").json()["trace_id"] == trace  # junjo's evidence
    assert env.get(f"{OBS}/traces/{trace}/spans/{deep_span['span_id']}").json()["name"] == "deep"
    assert env.get("/health").status_code == 200
    assert env.peak_rss() < BACKEND_MEMORY_LIMIT


# --- fat spans: listings and trace answers ----------------------------------------------------------


def test_list_pages_over_fat_spans_are_previews_within_the_memory_limit(env: Env) -> None:
    env.store(fat_roots(30, 12 * MiB), 30)
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
    assert env.peak_rss() < BACKEND_MEMORY_LIMIT


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
    assert env.peak_rss() < BACKEND_MEMORY_LIMIT


def test_fat_reads_beside_the_indexer_stay_within_the_memory_limit(env: Env) -> None:
    """The two query slots open fat spans while the indexer summarises a file of fat spans: each of
    these decodes megabytes per span, and all at once would pass the memory limit."""
    start = BASE_NS + 5 * 10**12
    env.store(fat_roots(8, 12 * MiB, label="open fat", start_ns=start), 8)
    listed = env.get(f"{OBS}/services/{SERVICE}/workflows", limit=250).json()
    opened = sorted((r for r in listed if r["name"].startswith("open fat")), key=lambda r: r["name"])
    assert len(opened) == 8
    env.files += 1
    write_rows(
        cold_path(env.root, f"hostile-{env.files:03d}"),
        fat_roots(8, 12 * MiB, label="indexed fat", start_ns=start + 10**12),
        8,
    )

    def flush() -> int:
        response = env.api.http.post("/api/admin/flush-wal")
        assert response.status_code == 200, response.text
        return int(response.json()["files_indexed"])

    def read_while(flushing: Any, paths: list[str]) -> int:
        reads = 0
        while not flushing.done() or not reads:  # at least one pass; the flush takes seconds
            for path in paths:
                env.get(path)
                reads += 1
            if reads >= 40:
                break
        return reads

    with ThreadPoolExecutor(3) as pool:
        flushing = pool.submit(flush)
        one_span = [f"{OBS}/traces/{r['trace_id']}/spans/{r['span_id']}" for r in opened[:4]]
        documents = [f"/api/v1/trace-document/{r['trace_id']}" for r in opened[4:]]
        readers = [pool.submit(read_while, flushing, paths) for paths in (one_span, documents)]
        assert flushing.result() >= 1
        assert all(reader.result() > 0 for reader in readers)
    indexed = env.get(f"{OBS}/services/{SERVICE}/workflows", limit=250).json()
    assert sum(r["name"].startswith("indexed fat") for r in indexed) == 8
    assert env.peak_rss() < BACKEND_MEMORY_LIMIT
