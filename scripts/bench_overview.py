"""Service overview benchmark: the indexer's CPU per span (base summary, + attribute index, + rollups),
the overview API's latency and the overview page's first content in headless Debian Chromium, over N
stored spans.

`python scripts/bench_overview.py [--spans N] [--files F] [--runs R]` writes N spans (traces of ten:
a root, a Junjo workflow span in one trace of five, an LLM call with tokens and a model: gen_ai, or
in one trace of ten a Junjo Agent model request with the provider SDK's gen_ai span below it; plain
spans carrying a ~1 KB JSON state; 3 % of roots failed) into F span files of the current format over
seven days, five services. The files are built column by column with Arrow (no ingestion: at 10M
spans that would take hours) and kept, indexed, in `.dbdata/bench/overview-<N>/` for later runs
(delete it to regenerate). It times `summarize` (CPU time, best of two) on three files with the
attribute index (the indexed attributes' values and the per-file attribute filter, one pass) and the
rollups switched off and on; indexing every file in-process is timed when
the index is built. Then the real backend serves that data and GET /api/v1/observability/overview is
timed for the data set's last hour, day and week, and the home page over its week from navigation
start until the services table and the first chart canvas are shown.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from backend.index import summary as summary_module  # noqa: E402
from backend.index.attribute_filter import PairCollector  # noqa: E402
from backend.index.cold import LocalColdFiles  # noqa: E402
from backend.index.indexer import Indexer  # noqa: E402
from backend.index.store import MetadataIndex  # noqa: E402
from junjo_common.spanformat import CURRENT  # noqa: E402
from junjo_common.spanformat.v1 import PARQUET_ROW_GROUP_SIZE, SORT_COLUMNS, TIMESTAMP  # noqa: E402
from tests.e2e.conftest import DIST, ensure_built  # noqa: E402
from tests.support.api import ApiClient  # noqa: E402
from tests.support.chromium import launch_chromium  # noqa: E402
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
# A workflow state as Junjo records it: JSON text in one string attribute (~1 KB).
STATE = json.dumps(
    json.dumps({"cart": [{"sku": f"SKU-{i:04d}", "qty": i % 5} for i in range(40)]}, separators=(",", ":"))
)


def _hex_ids(count: int, width: int) -> pa.StringArray:
    """`count` random lowercase hex ids of `width` characters, built straight into Arrow buffers."""
    data = os.urandom(count * width // 2).hex().encode()
    offsets = pa.array(range(0, count * width + 1, width), pa.int32())
    return pa.StringArray.from_buffers(count, offsets.buffers()[1], pa.py_buffer(data))


def _llm_attributes(rng: random.Random, trace: int) -> str:
    provider, name = MODELS[rng.randrange(len(MODELS))]
    tokens_in, tokens_out = rng.randrange(100, 4000), rng.randrange(10, 800)
    if trace % 10 == 3:  # a Junjo Agent model request, its provider call nested below it
        usage = f'{{\\"inputTokens\\":{tokens_in},\\"outputTokens\\":{tokens_out}}}'
        return (
            f'{{"junjo.agent.key":"helper","junjo.agent.model.name":"{name}",'
            f'"junjo.agent.model.provider":"{provider}","junjo.agent.model.usage":"{usage}",'
            f'"junjo.agent.operation_type":"model_request"}}'
        )
    return (
        f'{{"gen_ai.operation.name":"chat","gen_ai.provider.name":"{provider}",'
        f'"gen_ai.request.model":"{name}","gen_ai.usage.input_tokens":{tokens_in},'
        f'"gen_ai.usage.output_tokens":{tokens_out}}}'
    )


def _file(path: Path, rows: int, start_ns: int, width_ns: int, rng: random.Random) -> None:
    """One span file of `rows` spans (whole traces) starting within [start, start + width), built
    column by column with Arrow compute (a Python loop per span would take minutes at 10M)."""
    traces = max(1, rows // TRACE_SPANS)
    rows = traces * TRACE_SPANS
    trace_start = [rng.randrange(start_ns, start_ns + width_ns) for _ in range(traces)]
    root_ns = [int(rng.lognormvariate(4.5, 1.0) * 1e6) for _ in range(traces)]
    failed = [rng.random() < 0.03 for _ in range(traces)]
    service = [rng.randrange(len(SERVICES)) for _ in range(traces)]
    llm = [_llm_attributes(rng, t) for t in range(traces)]
    row = pa.array(range(rows), pa.int64())
    trace = pc.divide(row, TRACE_SPANS)
    position = pc.subtract(row, pc.multiply(trace, TRACE_SPANS))
    is_root = pc.equal(position, 0)
    junjo = pc.equal(pc.subtract(trace, pc.multiply(pc.divide(trace, 10), 10)), 3)
    span_id = _hex_ids(rows, 16)
    root_id = pc.take(span_id, pc.multiply(trace, TRACE_SPANS))
    # position 3 of a Junjo trace is the provider call inside the model request at position 2
    nested = pc.and_(junjo, pc.equal(position, 3))
    parent = pc.if_else(nested, pc.take(span_id, pc.add(pc.multiply(trace, TRACE_SPANS), 2)), root_id)
    parent = pc.if_else(is_root, pa.scalar(None, pa.string()), parent)
    start = pc.add(pc.take(pa.array(trace_start, pa.int64()), trace), pc.multiply(position, 1_000_000))
    duration = pc.if_else(is_root, pc.take(pa.array(root_ns, pa.int64()), trace), 1_000_000)
    plain = '{"app.step":"work","app.state":' + STATE + "}"
    workflow = '{"junjo.span_type":"workflow","junjo.workflow.state.start":' + STATE + "}"
    nested_llm = (
        '{"gen_ai.operation.name":"chat","gen_ai.provider.name":"openai","gen_ai.request.model":"gpt-4o",'
        '"gen_ai.usage.input_tokens":900,"gen_ai.usage.output_tokens":90}'
    )
    is_workflow = pc.and_(
        pc.equal(position, 1), pc.equal(pc.subtract(trace, pc.multiply(pc.divide(trace, 5), 5)), 0)
    )
    attributes = pc.if_else(
        pc.equal(position, 2),
        pc.take(pa.array(llm, pa.string()), trace),
        pc.if_else(is_workflow, workflow, pc.if_else(nested, nested_llm, plain)),
    )
    service_names = pc.take(pa.array([SERVICES[s] for s in service], pa.string()), trace)
    status = pc.if_else(pc.and_(is_root, pc.take(pa.array(failed), trace)), 2, 0)
    names = pc.if_else(
        is_root, "root", pc.binary_join_element_wise("step-", pc.cast(position, pa.string()), "")
    )
    zeros = pa.repeat(pa.scalar(0, pa.uint32()), rows)
    columns = {
        "span_id": span_id,
        "trace_id": pc.take(_hex_ids(traces, 32), trace),
        "parent_span_id": parent,
        "service_name": service_names,
        "name": names,
        "span_kind": pa.repeat(pa.scalar(1, pa.int8()), rows),
        "start_time": pc.cast(start, TIMESTAMP),
        "end_time": pc.cast(pc.add(start, duration), TIMESTAMP),
        "duration_ns": duration,
        "status_code": pc.cast(status, pa.int8()),
        "status_message": pa.nulls(rows, pa.string()),
        "attributes": attributes,
        "events": pa.repeat("[]", rows),
        "links": pa.repeat("[]", rows),
        "trace_flags": pa.repeat(pa.scalar(1, pa.uint32()), rows),
        "trace_state": pa.nulls(rows, pa.string()),
        "dropped_attributes_count": zeros,
        "dropped_events_count": zeros,
        "dropped_links_count": zeros,
        "resource_attributes": pc.binary_join_element_wise('{"service.name":"', service_names, '"}', ""),
        "resource_dropped_attributes_count": zeros,
    }
    table = pa.table(columns).sort_by(list(SORT_COLUMNS)).cast(CURRENT.SCHEMA)
    path.parent.mkdir(parents=True, exist_ok=True)
    with pq.ParquetWriter(path, CURRENT.SCHEMA, **CURRENT.parquet_writer_options(rows)) as writer:
        writer.write_table(table, row_group_size=PARQUET_ROW_GROUP_SIZE)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _summarize_us_per_span(paths: list[Path], attributes: bool, rollups: bool) -> float:
    """CPU µs per span of `summarize` over `paths` (best of two), parts switched off as asked."""
    real = PairCollector.add_batch, summary_module.add_rollups
    if not attributes:
        PairCollector.add_batch = lambda *a: None  # type: ignore[method-assign]
    if not rollups:
        summary_module.add_rollups = lambda *a: None
    try:
        best = float("inf")
        for _ in range(2):
            started, rows = time.process_time(), 0
            for path in paths:
                rows += summary_module.summarize(path).row_count
            best = min(best, (time.process_time() - started) / rows * 1e6)
        return best
    finally:
        PairCollector.add_batch, summary_module.add_rollups = real  # type: ignore[method-assign]


def _data_set(cache: Path, spans: int, files: int) -> dict[str, Any]:
    """The kept data set's manifest; generates the files and builds the index when missing."""
    manifest_path = cache / "manifest.json"
    parquet = cache / "spans" / "parquet"
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
        print(f"reusing {manifest['spans']:,} spans in {manifest['files']} files in {cache}", flush=True)
    else:
        if cache.exists():
            shutil.rmtree(cache)  # an interrupted run's leftovers
        rng = random.Random(7)
        end_ns = time.time_ns()
        per_file, width = spans // files, WEEK_NS // files
        started = time.monotonic()
        for i in range(files):
            path = parquet / "year=2026" / "month=01" / "day=01" / f"bench-{i:05d}.parquet"
            _file(path, per_file, end_ns - WEEK_NS + i * width, width, rng)
        print(f"wrote {files} files of {per_file:,} spans in {time.monotonic() - started:.0f}s", flush=True)
        manifest = {"spans": per_file * files, "files": files, "end_ns": end_ns}
    index = MetadataIndex(cache / "sqlite" / "metadata.db")
    try:
        indexer = Indexer(index, LocalColdFiles(parquet), poll_interval=3600)
        wall, cpu, indexed = time.monotonic(), time.process_time(), 0
        while batch := len(
            indexer.run_pass().indexed
        ):  # files an older index schema must summarise again too
            indexed += batch
        if indexed == manifest["files"]:  # a whole index built: what indexing all the data costs
            manifest["index_wall_us_per_span"] = (time.monotonic() - wall) / manifest["spans"] * 1e6
            manifest["index_cpu_us_per_span"] = (time.process_time() - cpu) / manifest["spans"] * 1e6
        manifest["stats"] = index.stats()
    finally:
        index.close()
    manifest_path.write_text(json.dumps(manifest))
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--files", type=int, default=0, help="default: one file per 50,000 spans")
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args(argv)
    ensure_built()
    cache = ROOT / ".dbdata" / "bench" / f"overview-{args.spans}"
    manifest = _data_set(cache, args.spans, args.files or max(1, args.spans // 50_000))
    paths = sorted((cache / "spans" / "parquet").rglob("*.parquet"))
    sample = [paths[0], paths[len(paths) // 2], paths[-1]]
    base = _summarize_us_per_span(sample, attributes=False, rollups=False)
    with_attributes = _summarize_us_per_span(sample, attributes=True, rollups=False)
    with_rollups = _summarize_us_per_span(sample, attributes=True, rollups=True)

    end_ns = manifest["end_ns"]
    ui_port = free_port()
    ui_url = f"http://127.0.0.1:{ui_port}"
    logs = cache / "logs"
    stack = Stack(cache, extra_env={"JUNJO_ALLOW_ORIGINS": ui_url, "INDEXER_POLL_INTERVAL": "3600"})
    api_ms: dict[str, list[float]] = {}
    page_ms: list[float] = []
    try:
        start_backend(stack, logs)
        start_static_ui(stack, ui_port, DIST, logs)
        with ApiClient(stack.http_url, origin=ui_url) as api:
            if api.http.get("/users/db-has-users").json().get("users_exist"):
                api.sign_in(EMAIL, PASSWORD)
            else:
                api.create_first_user(EMAIL, PASSWORD)
            for label, seconds in (("last hour", 3600), ("last day", 86_400), ("last week", 7 * 86_400)):
                params = {"start_time": _iso(end_ns - seconds * 10**9), "end_time": _iso(end_ns)}
                times = api_ms.setdefault(label, [])
                for _ in range(args.runs):
                    t0 = time.perf_counter()
                    response = api.http.get("/api/v1/observability/overview", params=params, timeout=60)
                    times.append((time.perf_counter() - t0) * 1000)
                    assert response.status_code == 200, response.text
        with sync_playwright() as p:
            browser = launch_chromium(p)
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.goto(f"{ui_url}/sign-in")
            page.get_by_label("Email").fill(EMAIL)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign In").click()
            page.wait_for_url(f"{ui_url}/")
            week = urlencode({"from": _iso(end_ns - WEEK_NS), "to": _iso(end_ns)})
            for _ in range(max(5, args.runs // 3)):
                page.goto(f"{ui_url}/?{week}")
                page_ms.append(float(page.wait_for_function(FIRST_CONTENT, timeout=60_000).json_value()))
            browser.close()
    finally:
        stack.stop()

    stats = manifest["stats"]
    print(
        f"\nService overview over {stats['spans']:,} spans in {stats['files']} files"
        f" ({len(SERVICES)} services), {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}"
    )
    print("| measure | value |\n|---|---|")
    print(f"| summarize, base (CPU) | {base:.2f} µs/span |")
    print(
        f"| summarize, + attribute index (values, filter) | {with_attributes:.2f} µs/span"
        f" (+{with_attributes - base:.2f}) |"
    )
    print(f"| summarize, + rollups | {with_rollups:.2f} µs/span (+{with_rollups - with_attributes:.2f}) |")
    if "index_wall_us_per_span" in manifest:
        print(
            f"| indexing every file in-process (when built) |"
            f" {manifest['index_wall_us_per_span']:.1f} µs/span wall,"
            f" {manifest['index_cpu_us_per_span']:.1f} CPU |"
        )
    for label, times in api_ms.items():
        print(
            f"| overview API, {label} | p50 {_percentile(times, 0.5):.0f} ms,"
            f" p95 {_percentile(times, 0.95):.0f} ms |"
        )
    print(
        f"| overview page first content (week) | median {statistics.median(page_ms):.0f} ms,"
        f" max {max(page_ms):.0f} ms |"
    )
    return 0


def _iso(ns: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ns / 1e9))


if __name__ == "__main__":
    raise SystemExit(main())
