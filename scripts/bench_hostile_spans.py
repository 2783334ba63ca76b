"""Hostile-span benchmark: the backend's response time and peak RSS for the poison trace and for
list pages and trace pages over fat spans (budget: every request inside the backend's 384 MiB).

`python scripts/bench_hostile_spans.py` (or `make bench`, via scripts/bench.py calling `main()`).
A real `python -m backend` and `python -m ingestion` run on a fresh data directory under
`.dbdata/bench/hostile-spans/`; the spans are written as cold files (tests/query/hostile_data.py)
and indexed through the flush-wal endpoint. Each request is timed over HTTP; the backend's peak
resident size is reset before each phase, indexing the files included (`/proc/<pid>/clear_refs`),
and read from `VmHWM` after it.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.query.hostile_data import (  # noqa: E402  (scripts run from the repo root)
    BACKEND_MEMORY_LIMIT,
    SERVICE,
    MiB,
    fat_roots,
    peak_rss,
    poison_trace,
    reset_peak_rss,
    write_rows,
)
from tests.query.spanfiles import BASE_NS, cold_path, new_trace_id, span  # noqa: E402
from tests.support.api import OBS, ApiClient  # noqa: E402
from tests.support.stack import Stack, start_backend, start_ingestion  # noqa: E402


def _phase(api: ApiClient, pid: int, name: str, path: str, repeats: int) -> dict[str, object]:
    reset_peak_rss(pid)
    times, sizes = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        response = api.http.get(path)
        times.append((time.perf_counter() - t0) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{name}: {path} -> {response.status_code} {response.text[:300]}")
        sizes.append(len(response.content))
    return {
        "name": name,
        "p50_ms": round(statistics.median(times)),
        "max_ms": round(max(times)),
        "bytes": max(sizes),
        "peak_rss_mb": round(peak_rss(pid) / MiB),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fat-spans", type=int, default=30)
    parser.add_argument("--fat-mib", type=int, default=12)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)

    data = ROOT / ".dbdata" / "bench" / "hostile-spans"
    shutil.rmtree(data, ignore_errors=True)
    stack = Stack(data, extra_env={"INDEXER_POLL_INTERVAL": "3600"})
    parquet = data / "spans" / "parquet"
    try:
        start_backend(stack, data / "logs")
        start_ingestion(stack, data / "logs")
        assert stack.backend is not None and stack.backend.proc is not None
        pid = stack.backend.proc.pid
        api = ApiClient(stack.http_url, timeout=300)
        api.create_first_user()

        poison, rows = poison_trace()
        write_rows(cold_path(parquet, "poison"), iter(rows), len(rows))
        write_rows(
            cold_path(parquet, "fat-roots"), fat_roots(args.fat_spans, args.fat_mib * MiB), args.fat_spans
        )
        heavy = new_trace_id()
        blob = "y" * (3 * MiB)
        heavy_rows = [
            span(heavy, service=SERVICE, name=f"heavy {i}", start_ns=BASE_NS + 3 * 10**12 + i * 1000)
            | {"attributes": f'{{"blob":"{blob}","i":{i}}}'}
            for i in range(args.fat_spans)
        ]
        write_rows(cold_path(parquet, "heavy-trace"), iter(heavy_rows), len(heavy_rows))
        reset_peak_rss(pid)
        indexed = api.http.post("/api/admin/flush-wal").json()
        indexing = round(peak_rss(pid) / MiB)
        print(
            f"stored: poison trace, {args.fat_spans} roots with {args.fat_mib} MiB attributes, "
            f"a trace of {args.fat_spans} spans of 3 MiB ({indexed['message']}); "
            f"backend peak RSS while indexing them {indexing} MB"
        )

        reset_peak_rss(pid)
        time.sleep(0.5)
        idle = round(peak_rss(pid) / MiB)
        results = [
            _phase(
                api, pid, "poison trace: trace document", f"/api/v1/trace-document/{poison}", args.repeats
            ),
            _phase(api, pid, "poison trace: span list", f"{OBS}/traces/{poison}/spans", args.repeats),
            _phase(
                api,
                pid,
                "fat spans: workflows page (limit 250)",
                f"{OBS}/services/{SERVICE}/workflows?limit=250",
                args.repeats,
            ),
            _phase(
                api,
                pid,
                "fat spans: root spans page (limit 250)",
                f"{OBS}/services/{SERVICE}/spans/root?limit=250",
                args.repeats,
            ),
            _phase(
                api,
                pid,
                "fat spans: all spans page (limit 250)",
                f"{OBS}/services/{SERVICE}/spans?limit=250",
                args.repeats,
            ),
            _phase(
                api,
                pid,
                "fat trace: first trace-document page",
                f"/api/v1/trace-document/{heavy}",
                args.repeats,
            ),
        ]
        api.close()
    finally:
        stack.stop()

    print(f"\nbackend RSS idle {idle} MB; limit {BACKEND_MEMORY_LIMIT // MiB} MiB")
    print("| request | p50 ms | max ms | response bytes | peak RSS MB |\n|---|---|---|---|---|")
    for r in results:
        print(f"| {r['name']} | {r['p50_ms']} | {r['max_ms']} | {r['bytes']:,} | {r['peak_rss_mb']} |")
    over = [r for r in results if int(str(r["peak_rss_mb"])) * MiB >= BACKEND_MEMORY_LIMIT]
    return 1 if over or indexing * MiB >= BACKEND_MEMORY_LIMIT else 0


if __name__ == "__main__":
    raise SystemExit(main())
