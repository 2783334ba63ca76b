"""Service overview benchmark: indexer cost per span with and without rollups, the overview API's
latency, and the overview page's first content in headless Debian Chromium, over N stored spans.

`python scripts/bench_overview.py [--spans N] [--files F] [--runs R]` writes N spans (traces of ten:
a root, a Junjo workflow span in one trace of five, a gen_ai LLM call with tokens and a model, and
plain spans carrying a ~1 KB JSON state, 3 % of roots failed) into F span files of the current
format spread over the last seven days, five services. It times `summarize` on one file with the
rollups and with them switched off, indexes every file in-process, then starts the real backend
on that data and measures GET /api/v1/observability/overview for the last hour, day and week, and
the home page from navigation start until the services table and the first chart canvas are shown.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from backend.index import summary as summary_module  # noqa: E402
from backend.index.cold import LocalColdFiles  # noqa: E402
from backend.index.indexer import Indexer  # noqa: E402
from backend.index.store import MetadataIndex  # noqa: E402
from junjo_common.spanformat import CURRENT  # noqa: E402
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, DIST, ensure_built  # noqa: E402
from tests.support.api import ApiClient  # noqa: E402
from tests.support.procs import free_port  # noqa: E402
from tests.support.stack import Stack, start_backend, start_static_ui  # noqa: E402

EMAIL = "bench@example.com"
PASSWORD = "correct horse battery"  # noqa: S105 - a throwaway account on a loopback test stack
SERVICES = [f"shop-{name}" for name in ("api", "search", "billing", "agent", "batch")]
MODELS = [
    ("openai", "gpt-4o"),
    ("openai", "gpt-4o-mini"),
    ("anthropic", "claude-sonnet-4-5"),
    ("acme", "house-7b"),
]
TRACE_SPANS = 10
WEEK_NS = 7 * 86_400 * 10**9
FIRST_CONTENT = (
    "() => document.querySelector('table[aria-label=Services] tbody tr')"
    " && document.querySelector('figure.chart canvas') ? performance.now() : null"
)
STATE = '{"state":{"cart":[' + ",".join(f'{{"sku":"SKU-{i:04d}","qty":{i % 5}}}' for i in range(40)) + "]}}"


def _attributes(kind: int, model: int, tokens_in: int, tokens_out: int) -> str:
    if kind == 1:
        return '{"junjo.span_type":"workflow","junjo.workflow.state.start":' + STATE + "}"
    if kind == 2:
        provider, name = MODELS[model]
        return (
            f'{{"gen_ai.operation.name":"chat","gen_ai.provider.name":"{provider}",'
            f'"gen_ai.request.model":"{name}","gen_ai.usage.input_tokens":{tokens_in},'
            f'"gen_ai.usage.output_tokens":{tokens_out}}}'
        )
    return '{"app.step":"work","app.state":' + STATE + "}"


def _file(path: Path, rows: int, start_ns: int, width_ns: int, rng: random.Random) -> None:
    """One span file of `rows` spans (whole traces) starting within [start, start + width)."""
    columns: dict[str, list[object]] = {name: [] for name in CURRENT.SCHEMA.names}
    traces = max(1, rows // TRACE_SPANS)
    for t, trace_start in enumerate(
        sorted(rng.randrange(start_ns, start_ns + width_ns) for _ in range(traces))
    ):
        trace_id = f"{rng.getrandbits(128):032x}"
        service = rng.choice(SERVICES)
        root_id = f"{rng.getrandbits(64):016x}"
        failed = rng.random() < 0.03
        for position in range(TRACE_SPANS):
            # kind: 0 plain, 1 workflow (one trace in five), 2 LLM call
            kind = 2 if position == 2 else 1 if position == 1 and t % 5 == 0 else 0
            start = trace_start + position * 1_000_000
            duration = int(rng.lognormvariate(4.5, 1.0) * 1e6) if position == 0 else 1_000_000
            columns["span_id"].append(root_id if position == 0 else f"{rng.getrandbits(64):016x}")
            columns["trace_id"].append(trace_id)
            columns["parent_span_id"].append(None if position == 0 else root_id)
            columns["service_name"].append(service)
            columns["name"].append("root" if position == 0 else f"step-{position}")
            columns["span_kind"].append(1)
            columns["start_time"].append(start)
            columns["end_time"].append(start + duration)
            columns["duration_ns"].append(duration)
            columns["status_code"].append(2 if failed and position == 0 else 0)
            columns["status_message"].append(None)
            columns["attributes"].append(
                _attributes(
                    kind, rng.randrange(len(MODELS)), rng.randrange(100, 4000), rng.randrange(10, 800)
                )
            )
            columns["events"].append("[]")
            columns["links"].append("[]")
            columns["trace_flags"].append(1)
            columns["trace_state"].append(None)
            columns["resource_attributes"].append(f'{{"service.name":"{service}"}}')
            for name in (
                "dropped_attributes_count",
                "dropped_events_count",
                "dropped_links_count",
                "resource_dropped_attributes_count",
            ):
                columns[name].append(0)
    plain = pa.schema(
        [
            pa.field(f.name, pa.string(), f.nullable) if pa.types.is_dictionary(f.type) else f
            for f in CURRENT.SCHEMA
        ]
    )
    table = pa.Table.from_pydict(columns, schema=plain)
    table = table.sort_by([("service_name", "ascending"), ("start_time", "ascending")]).cast(CURRENT.SCHEMA)
    path.parent.mkdir(parents=True, exist_ok=True)
    with pq.ParquetWriter(path, CURRENT.SCHEMA, **CURRENT.parquet_writer_options(table.num_rows)) as writer:
        writer.write_table(table, row_group_size=4096)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _summarize_us_per_span(path: Path, rows: int, reps: int = 3) -> float:
    best = float("inf")
    for _ in range(reps):
        started = time.perf_counter()
        summary_module.summarize(path)
        best = min(best, time.perf_counter() - started)
    return best / rows * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--files", type=int, default=84)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args(argv)
    ensure_built()
    work = Path(tempfile.mkdtemp(prefix="bench-overview-"))
    parquet = work / "spans" / "parquet"
    rng = random.Random(7)
    now = time.time_ns()
    per_file = args.spans // args.files
    width = WEEK_NS // args.files
    started = time.monotonic()
    paths = []
    for i in range(args.files):
        path = parquet / "year=2026" / "month=01" / "day=01" / f"bench-{i:05d}.parquet"
        _file(path, per_file, now - WEEK_NS + i * width, width, rng)
        paths.append(path)
    print(f"wrote {args.files} files of {per_file:,} spans in {time.monotonic() - started:.0f}s", flush=True)

    with_rollups = _summarize_us_per_span(paths[0], per_file)
    real_rollups = summary_module.add_rollups
    summary_module.add_rollups = lambda *a: None
    try:
        without_rollups = _summarize_us_per_span(paths[0], per_file)
    finally:
        summary_module.add_rollups = real_rollups

    index = MetadataIndex(work / "sqlite" / "metadata.db")
    started = time.monotonic()
    indexer = Indexer(index, LocalColdFiles(parquet), poll_interval=3600)
    while indexer.run_pass().indexed:
        pass
    indexed_secs = time.monotonic() - started
    stats = index.stats()
    index.close()

    ui_port = free_port()
    ui_url = f"http://127.0.0.1:{ui_port}"
    stack = Stack(work, extra_env={"JUNJO_ALLOW_ORIGINS": ui_url, "INDEXER_POLL_INTERVAL": "3600"})
    api_ms: dict[str, list[float]] = {}
    page_ms: list[float] = []
    try:
        start_backend(stack, work / "logs")
        start_static_ui(stack, ui_port, DIST, work / "logs")
        with ApiClient(stack.http_url, origin=ui_url) as api:
            api.create_first_user(EMAIL, PASSWORD)
            for label, seconds in (("last hour", 3600), ("last day", 86_400), ("last week", 7 * 86_400)):
                end = time.time()
                params = {
                    "start_time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(end - seconds)),
                    "end_time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(end)),
                }
                times = api_ms.setdefault(label, [])
                for _ in range(args.runs):
                    t0 = time.perf_counter()
                    response = api.http.get("/api/v1/observability/overview", params=params, timeout=60)
                    times.append((time.perf_counter() - t0) * 1000)
                    assert response.status_code == 200, response.text
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.goto(f"{ui_url}/sign-in")
            page.get_by_label("Email").fill(EMAIL)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign In").click()
            page.wait_for_url(f"{ui_url}/")
            for _ in range(max(5, args.runs // 3)):
                page.goto(f"{ui_url}/?range=7d")
                page_ms.append(float(page.wait_for_function(FIRST_CONTENT, timeout=60_000).json_value()))
            browser.close()
    finally:
        stack.stop()

    print(
        f"\nService overview over {stats['spans']:,} spans in {stats['files']} files"
        f" ({len(SERVICES)} services)"
    )
    print(
        f"indexing all files in-process: {indexed_secs:.0f}s"
        f" ({indexed_secs / stats['spans'] * 1e6:.1f} µs/span)"
    )
    print("| measure | value |\n|---|---|")
    print(f"| summarize, rollups off | {without_rollups:.2f} µs/span |")
    print(f"| summarize, rollups on | {with_rollups:.2f} µs/span (+{with_rollups - without_rollups:.2f}) |")
    for label, times in api_ms.items():
        print(
            f"| overview API, {label} | p50 {_percentile(times, 0.5):.0f} ms,"
            f" p95 {_percentile(times, 0.95):.0f} ms |"
        )
    print(
        f"| overview page first content (last week) | median {statistics.median(page_ms):.0f} ms,"
        f" max {max(page_ms):.0f} ms |"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
