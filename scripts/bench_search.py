"""Span search benchmark (docs/PERFORMANCE.md): p50/p95 of `search=` on the span list at the
query benchmark's data set, and the indexer's cost per span with and without the attribute index
and the attribute filters.

`python scripts/bench_search.py [--spans N]` (or `make bench`); the "traces:" searches run on the
trace list (the roots of the traces holding a match). The data set is bench_query's
(`.dbdata/bench/query-agents-<N>/`, 5 services, `user.id` drawn from 10,000 values); when it is
missing, it is written straight to Parquet (bench_query.write_dataset: the same requests, turned
into rows by ingestion's converter), and indexed here in worker processes, once: later runs reuse
both. Searches run over HTTP against a real `python -m backend`, signed in, sequentially, for the
first page (50 rows) of one service. The data set repeats its attribute values in every file, so
"common" searches fill a page from the newest files; for the "rare" ones a few needle spans with
unique values are sent, older than everything else, so a search that cannot skip files reads the
whole service before it finds them (or stops at the backend's time budget with a partial page:
the count of those is printed).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import sys
import time
from pathlib import Path
from typing import Any
from unittest import mock

import grpc
import pyarrow.parquet as pq
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.resource.v1 import resource_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from backend.index import attribute_filter, summary  # noqa: E402
from backend.index.store import MetadataIndex  # noqa: E402
from scripts import bench_query  # noqa: E402
from tests.support.api import ApiClient  # noqa: E402
from tests.support.stack import Stack, start_backend, start_ingestion  # noqa: E402

OBS = "/api/v1/observability"
SERVICE = bench_query.SERVICES[0]


def _indexer_cost(files: list[Path]) -> dict[str, Any]:
    """CPU microseconds per span of `summarize` (process time: the machine may be shared): in full,
    and without the attribute pass (the filters and the indexed attributes' values)."""
    spans = sum(pq.read_metadata(f).num_rows for f in files)

    def timed() -> float:
        started = time.process_time()
        for path in files:
            summary.summarize(path)
        return time.process_time() - started

    timed()  # warm the page cache
    full = min(timed() for _ in range(2))
    with mock.patch.object(attribute_filter.PairCollector, "add_batch", lambda *_: None):
        without = min(timed() for _ in range(2))
    return {
        "files": len(files),
        "spans": spans,
        "us_per_span": round(full / spans * 1e6, 2),
        "us_per_span_without_attribute_pass": round(without / spans * 1e6, 2),
    }


def _index(cache: Path, files: list[Path]) -> None:
    """Indexes the files the data set's index lacks (or must summarise again after a schema
    upgrade) in two worker processes, before the backend starts."""
    index = MetadataIndex(cache / "sqlite" / "metadata.db")
    known = index.indexed_paths()
    due = [str(f) for f in files if str(f) not in known] + index.paths_without_keys()
    if due:
        started = time.monotonic()
        with multiprocessing.get_context("spawn").Pool(2) as pool:
            for done, result in enumerate(pool.imap(summary.summarize, due, chunksize=4), 1):
                index.add_file(result)
                if done % 200 == 0:
                    print(f"  indexed {done}/{len(due)} files", flush=True)
        print(f"  indexed {len(due)} files in {time.monotonic() - started:.0f}s", flush=True)
    index.close()


def _send_needles(stack: Stack, key: str, oldest_ns: int, marker: str) -> None:
    """Ten spans of SERVICE with unique values, an hour older than the oldest stored span."""
    spans = [
        trace_pb2.Span(
            trace_id=bytes.fromhex(f"{i + 1:032x}"),
            span_id=bytes.fromhex(f"{i + 1:016x}"),
            name="needle",
            start_time_unix_nano=oldest_ns - 3600 * 10**9 + i,
            end_time_unix_nano=oldest_ns - 3600 * 10**9 + i + 1000,
            attributes=[
                bench_query._kv("user.id", marker),
                bench_query._kv("request.bytes", 987_654_321),
                bench_query._kv("input.value", f"find the {marker} phrase"),
            ],
        )
        for i in range(10)
    ]
    resource = resource_pb2.Resource(attributes=[bench_query._kv("service.name", SERVICE)])
    request = trace_service_pb2.ExportTraceServiceRequest(
        resource_spans=[
            trace_pb2.ResourceSpans(resource=resource, scope_spans=[trace_pb2.ScopeSpans(spans=spans)])
        ]
    )
    with grpc.insecure_channel(stack.otlp_endpoint) as channel:
        trace_service_pb2_grpc.TraceServiceStub(channel).Export(
            request, metadata=(("x-junjo-api-key", key),), timeout=60
        )


def _oldest_values(files: list[Path]) -> dict[str, str]:
    """A user.id, a request.bytes and an http.route of SERVICE in the first file that has one (the
    needles' file, which may sort first by name, has none)."""
    for path in files:
        table = pq.read_table(path, columns=["service_name", "attributes"])
        for service, text in zip(
            table.column("service_name").to_pylist(), table.column("attributes").to_pylist(), strict=True
        ):
            attributes = json.loads(text)
            if service == SERVICE and "http.route" in attributes:
                return {
                    "user": attributes["user.id"],
                    "bytes": str(attributes["request.bytes"]),
                    "route": attributes["http.route"],
                }
    raise SystemExit(f"no span of {SERVICE} with http.route in the data set")


def _min_start(path: Path) -> int:
    column = pq.read_table(path, columns=["start_time"]).column("start_time")
    return int(min(column.cast("int64").to_pylist()))


def _page_rows(api: ApiClient, search: str) -> int:
    response = api.http.get(f"{OBS}/services/{SERVICE}/spans", params={"search": search, "limit": 50})
    return len(response.json()) if response.status_code == 200 else 0


def _measure(api: ApiClient, name: str, search: str, repeats: int) -> dict[str, Any]:
    """`name` starting with "traces:" measures the trace list (roots of traces holding a match)."""
    path = f"{OBS}/services/{SERVICE}/" + ("spans/root" if name.startswith("traces:") else "spans")
    params: dict[str, str | int] = {"search": search, "limit": 50}
    api.http.get(path, params=params)  # warm-up
    times, partial, rows = [], 0, 0
    for _ in range(repeats):
        started = time.perf_counter()
        response = api.http.get(path, params=params)
        times.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{name}: {response.status_code} {response.text[:300]}")
        partial += response.headers.get("X-Junjo-Search-Partial") is not None
        rows = len(response.json())
    return {
        "search": name,
        "query": search,
        "n": repeats,
        "rows": rows,
        "partial_pages": partial,
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(bench_query._percentile(times, 0.95), 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args(argv)

    cache = bench_query.data_set_dir(args.spans)
    if not (cache / "manifest.json").exists():
        print(f"writing {args.spans:,} spans to {cache} ...", flush=True)
        started = time.monotonic()
        manifest = bench_query.write_dataset(cache, args.spans)
        (cache / "manifest.json").write_text(json.dumps(manifest))
        print(f"  written in {time.monotonic() - started:.0f}s", flush=True)
    files = sorted((cache / "spans" / "parquet").rglob("*.parquet"), key=lambda p: p.name)
    _index(cache, files)
    indexer = _indexer_cost(files[:10])
    print(json.dumps({"indexer": indexer}), flush=True)

    stack = Stack(cache)
    try:
        start_backend(stack, cache / "logs")
        start_ingestion(stack, cache / "logs")
        api = ApiClient(stack.http_url, timeout=1800)
        bench_query.sign_in_or_create(api)
        print(f"  {api.http.post('/api/admin/flush-wal').json()['message']}", flush=True)
        values = _oldest_values(files)
        marker = "needle-7f3a"
        if not _page_rows(api, f"user.id = {marker}"):
            oldest = min(_min_start(f) for f in files)
            _send_needles(stack, api.create_api_key("bench-search"), oldest, marker)
            api.http.post("/api/admin/flush-wal")
        phrase = f"find the {marker} phrase"
        searches = {
            "indexed attribute, common value": f"user.id = {values['user']}",
            "indexed attribute, rare value": f"user.id = {marker}",
            "non-indexed attribute, common value": f'http.route = "{values["route"]}"',
            "non-indexed attribute, rare value": "request.bytes = 987654321",
            "non-indexed attributes ANDed, rare": f'request.bytes = 987654321 AND input.value = "{phrase}"',
            "free text, common": "omega",
            "free text, rare": f'"{marker} phrase"',
            "traces: indexed attribute, common value": f"user.id = {values['user']}",
            "traces: indexed attribute, rare value": f"user.id = {marker}",
            "traces: non-indexed attribute, rare value": "request.bytes = 987654321",
            "traces: free text, common": "omega",
            "traces: free text, rare": f'"{marker} phrase"',
        }
        results = [_measure(api, name, search, args.repeats) for name, search in searches.items()]
    finally:
        stack.stop()
    print(f"{'search':40} {'rows':>5} {'partial':>8} {'p50 ms':>9} {'p95 ms':>9}")
    for r in results:
        print(f"{r['search']:40} {r['rows']:5} {r['partial_pages']:8} {r['p50_ms']:9} {r['p95_ms']:9}")
    (cache / "search-results.json").write_text(
        json.dumps({"indexer": indexer, "searches": results}, indent=2)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
