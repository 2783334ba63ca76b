"""Span search benchmark (docs/PERFORMANCE.md): p50/p95 of `search=` on the span list at the
query benchmark's data set, and the indexer's cost per span with and without the attribute index.

`python scripts/bench_search.py [--spans N]` (or `make bench`). The data set is bench_query's
(`.dbdata/bench/query-agents-<N>/`, 5 services, `user.id` drawn from 10,000 values); when it is
missing, bench_query builds it first. Searches run over HTTP against a real `python -m backend`,
signed in, sequentially, for the first page (50 rows) of one service. Each searched value is taken
from the oldest file, so a search that cannot use the index reads the whole service. A search
that hits the backend's time budget answers a partial page: the count of those is printed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any
from unittest import mock

import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from backend.index import summary  # noqa: E402
from scripts import bench_query  # noqa: E402
from tests.support.api import ApiClient  # noqa: E402
from tests.support.stack import Stack, start_backend, start_ingestion  # noqa: E402

OBS = "/api/v1/observability"
SERVICE = bench_query.SERVICES[0]


def _indexer_cost(files: list[Path]) -> dict[str, Any]:
    """CPU microseconds per span of `summarize` (process time: the machine may be shared), with the
    attribute index and with it switched off."""
    spans = sum(pq.read_metadata(f).num_rows for f in files)

    def timed() -> float:
        started = time.process_time()
        for path in files:
            summary.summarize(path)
        return time.process_time() - started

    timed()  # warm the page cache
    with_index = min(timed() for _ in range(2))
    with mock.patch.object(summary, "_add_attribute_values", lambda *_: None):
        without = min(timed() for _ in range(2))
    return {
        "files": len(files),
        "spans": spans,
        "us_per_span_with_attribute_index": round(with_index / spans * 1e6, 2),
        "us_per_span_without": round(without / spans * 1e6, 2),
    }


def _oldest_values(files: list[Path]) -> dict[str, str]:
    """A user.id, a request.bytes and an http.route of SERVICE in the oldest file."""
    table = pq.read_table(files[0], columns=["service_name", "attributes"])
    for service, text in zip(
        table.column("service_name").to_pylist(), table.column("attributes").to_pylist(), strict=True
    ):
        attributes = json.loads(text)
        if service == SERVICE and "user.id" in attributes:
            return {
                "user": attributes["user.id"],
                "bytes": str(attributes["request.bytes"]),
                "route": attributes["http.route"],
            }
    raise SystemExit(f"no span of {SERVICE} with user.id in {files[0]}")


def _measure(api: ApiClient, name: str, search: str, repeats: int) -> dict[str, Any]:
    path = f"{OBS}/services/{SERVICE}/spans"
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

    cache = ROOT / ".dbdata" / "bench" / f"query-agents-{args.spans}"
    if not (cache / "manifest.json").exists():
        bench_query.main(["--spans", str(args.spans), "--repeats", "5"])
    files = sorted((cache / "spans" / "parquet").rglob("*.parquet"), key=lambda p: p.stat().st_mtime)
    indexer = _indexer_cost(files[:20])
    print(json.dumps({"indexer": indexer}))

    stack = Stack(cache)
    try:
        start_backend(stack, cache / "logs")
        start_ingestion(stack, cache / "logs")
        api = ApiClient(stack.http_url, timeout=1800)  # the first run summarises every file again
        api.sign_in()
        started = time.monotonic()
        print(f"  {api.http.post('/api/admin/flush-wal').json()['message']}", flush=True)
        print(f"  indexed in {time.monotonic() - started:.1f}s ({len(files)} files)")
        values = _oldest_values(files)
        results = [
            _measure(api, "indexed attribute, rare value", f"user.id = {values['user']}", args.repeats),
            _measure(
                api, "non-indexed attribute, rare value", f"request.bytes = {values['bytes']}", args.repeats
            ),
            _measure(
                api, "non-indexed attribute, common value", f'http.route = "{values["route"]}"', args.repeats
            ),
            _measure(api, "free text, rare", f'"{values["user"]}"', args.repeats),
            _measure(api, "free text, common", "omega", args.repeats),
        ]
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
