"""Query benchmark (budgets: docs/PERFORMANCE.md): 1,000,000 spans stored through the real
ingestion path, then p50/p95 of the span API and the backend's RSS.

`python scripts/bench_query.py` (or `make bench`, via scripts/bench.py calling `main()`).
The data set is generated once by sending OTLP requests of 100 spans (10 traces x 10 spans,
~1.5-3 KB each: 10 attributes incl. a 1-2 KB JSON state, 2 events; 5 services) from concurrent
clients to a real `python -m ingestion`, then flushed and indexed through the backend. Half the
traces are Junjo Agent runs (an Agent owner span, three model requests, two Tool calls): 50,000
Agent executions in 1,000,000 spans. It is kept in `.dbdata/bench/query-agents-<N>/` and reused
by later runs (delete the directory to regenerate).
Latencies are measured over HTTP against a real `python -m backend`, signed in, sequentially.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import random
import secrets
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

import grpc
import psutil
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.resource.v1 import resource_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.api import DEFAULT_EMAIL, DEFAULT_PASSWORD, ApiClient  # noqa: E402  (scripts run from the repo root)
from tests.support.stack import Stack, start_backend, start_ingestion  # noqa: E402

SERVICES = [f"bench-service-{i}" for i in range(5)]
SPANS_PER_REQUEST = 100
SPANS_PER_TRACE = 10
WORDS = [
    "alpha",
    "beta",
    "gamma",
    "delta",
    "epsilon",
    "zeta",
    "eta",
    "theta",
    "iota",
    "kappa",
    "lambda",
    "sigma",
    "omega",
]
OBS = "/api/v1/observability"
AGENT_KEYS = ["support-triage", "weather-assistant", "trip-planner", "invoice-reader"]


def _kv(key: str, value: Any) -> common_pb2.KeyValue:
    if isinstance(value, bool):
        return common_pb2.KeyValue(key=key, value=common_pb2.AnyValue(bool_value=value))
    if isinstance(value, int):
        return common_pb2.KeyValue(key=key, value=common_pb2.AnyValue(int_value=value))
    if isinstance(value, float):
        return common_pb2.KeyValue(key=key, value=common_pb2.AnyValue(double_value=value))
    return common_pb2.KeyValue(key=key, value=common_pb2.AnyValue(string_value=str(value)))


def _state(rng: random.Random) -> str:
    messages = [
        {"role": rng.choice(["user", "assistant"]), "content": " ".join(rng.choices(WORDS, k=25))}
        for _ in range(rng.randint(6, 12))
    ]
    return json.dumps({"messages": messages, "step": rng.randint(0, 99)}, separators=(",", ":"))


def _agent_attributes(rng: random.Random, s: int) -> list[common_pb2.KeyValue]:
    """Contract-v3 Agent telemetry: the owner span (s == 0), model requests (1-3), Tool calls (4-5)."""
    key = rng.choice(AGENT_KEYS)
    run = secrets.token_urlsafe(15)
    common = [
        _kv("junjo.telemetry.contract_version", 3),
        _kv("junjo.agent.key", key),
        _kv("junjo.agent.runtime_id", run),
    ]
    if s == 0:
        failed = rng.random() < 0.1
        inp, out = rng.randint(100, 4000), rng.randint(10, 800)
        usage = {
            "v": 1,
            "modelResponses": 3,
            "fields": {
                "inputTokens": {"sum": inp, "observations": 3},
                "outputTokens": {"sum": out, "observations": 3},
                "totalTokens": {"sum": inp + out, "observations": 3},
            },
        }
        return [
            *common,
            _kv("junjo.span_type", "agent"),
            _kv("junjo.executable_runtime_id", run),
            _kv("junjo.executable_definition_id", secrets.token_urlsafe(15)),
            _kv("junjo.executable_structural_id", f"agent_sha256:{secrets.token_hex(32)}"),
            _kv("junjo.agent.name", key.replace("-", " ").title()),
            _kv("junjo.agent.limit.model_requests", 8),
            _kv("junjo.agent.limit.tool_calls", 32),
            _kv("junjo.agent.operation.count", 5),
            _kv("junjo.agent.model_request.count", 3),
            *(
                _kv(f"junjo.agent.tool_call.{stage}_count", 2)
                for stage in ("requested", "admitted", "started")
            ),
            _kv("junjo.agent.tool_call.completed_count", 1 if failed else 2),
            _kv("junjo.agent.usage", json.dumps(usage, separators=(",", ":"))),
            _kv("junjo.agent.outcome", "failed" if failed else "completed"),
            _kv("junjo.agent.termination_reason", "tool_error" if failed else "final_output"),
            _kv("junjo.agent.input", json.dumps({"question": " ".join(rng.choices(WORDS, k=12))})),
            _kv("junjo.agent.input.mode", "full"),
        ]
    if s <= 3:
        request = {
            "v": 1,
            "agentKey": key,
            "ordinal": s,
            "instructions": "Answer briefly.",
            "messages": [{"type": "agent_input", "input": {"q": " ".join(rng.choices(WORDS, k=20))}}],
            "tools": [],
            "outputSchema": {"type": "object"},
        }
        return [
            *common,
            _kv("junjo.agent.operation_type", "model_request"),
            _kv("junjo.agent.operation.sequence", s),
            _kv("junjo.agent.model_request.ordinal", s),
            _kv("junjo.agent.model.request", json.dumps(request, separators=(",", ":"))),
            _kv("junjo.agent.model.request.mode", "full"),
        ]
    return [
        *common,
        _kv("junjo.agent.operation_type", "tool"),
        _kv("junjo.agent.operation.sequence", s),
        _kv("junjo.agent.tool.name", "lookup"),
    ]


class RequestFactory:
    """OTLP requests of 10 traces x 10 spans of one service, advancing time per request.

    A few dozen requests are built in full once; each request sent is a copy of one of them
    with fresh trace/span ids and timestamps (building from scratch would be slower than ingestion).
    """

    TEMPLATES = 20

    def __init__(self, start_ns: int, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        self.states = [_state(self.rng) for _ in range(64)]
        self.start_ns = start_ns
        self.sample_traces: list[str] = []
        self.sample_agent_traces: list[str] = []
        self.templates = [self._template(i) for i in range(self.TEMPLATES)]

    def _template(self, index: int) -> trace_service_pb2.ExportTraceServiceRequest:
        rng = self.rng
        spans = []
        for t in range(SPANS_PER_REQUEST // SPANS_PER_TRACE):
            for s in range(SPANS_PER_TRACE):
                attrs = [
                    _kv("junjo.workflow.state", rng.choice(self.states)),
                    _kv("http.method", "POST"),
                    _kv("http.route", f"/api/items/{rng.randint(1, 500)}"),
                    _kv("user.id", f"user-{rng.randint(1, 10_000)}"),
                    _kv("retry.count", rng.randint(0, 3)),
                    _kv("score", rng.random()),
                    _kv("cache.hit", rng.random() < 0.5),
                    _kv("region", rng.choice(["eu-west-1", "us-east-1", "ap-south-1"])),
                    _kv("request.bytes", rng.randint(100, 100_000)),
                ]
                if t % 2 == 1:
                    attrs.extend(_agent_attributes(rng, s))
                elif s == 0:
                    attrs.append(_kv("junjo.span_type", "workflow"))
                elif s == 5 and t % 5 == 0:
                    attrs.append(_kv("gen_ai.provider.name", "openai"))
                else:
                    attrs.append(_kv("component", "worker"))
                events = [
                    trace_pb2.Span.Event(name="set_state", attributes=[_kv("junjo.store.action", "update")]),
                    trace_pb2.Span.Event(name="checkpoint", attributes=[_kv("n", s), _kv("ok", True)]),
                ]
                agent_name = "agent run" if s == 0 else f"model request {s}" if s <= 3 else f"tool step {s}"
                spans.append(
                    trace_pb2.Span(
                        name=agent_name if t % 2 == 1 else "workflow run" if s == 0 else f"step {s}",
                        kind=trace_pb2.Span.SPAN_KIND_INTERNAL,
                        attributes=attrs,
                        events=events,
                        status=trace_pb2.Status(
                            code=trace_pb2.Status.STATUS_CODE_ERROR
                            if rng.random() < 0.02
                            else trace_pb2.Status.STATUS_CODE_UNSET
                        ),
                    )
                )
        service = SERVICES[index % len(SERVICES)]
        resource = resource_pb2.Resource(
            attributes=[_kv("service.name", service), _kv("service.version", "1")]
        )
        return trace_service_pb2.ExportTraceServiceRequest(
            resource_spans=[
                trace_pb2.ResourceSpans(resource=resource, scope_spans=[trace_pb2.ScopeSpans(spans=spans)])
            ]
        )

    def build(self, index: int) -> trace_service_pb2.ExportTraceServiceRequest:
        request = trace_service_pb2.ExportTraceServiceRequest()
        request.CopyFrom(self.templates[index % self.TEMPLATES])
        base = self.start_ns + index * 50_000_000  # 50 ms of "time" per request
        ids = secrets.token_bytes(SPANS_PER_REQUEST * 8 + SPANS_PER_REQUEST // SPANS_PER_TRACE * 16)
        trace_id = root_id = b""
        for k, span in enumerate(request.resource_spans[0].scope_spans[0].spans):
            t, s = divmod(k, SPANS_PER_TRACE)
            span.span_id = ids[k * 8 : k * 8 + 8]
            if s == 0:
                offset = SPANS_PER_REQUEST * 8 + t * 16
                trace_id, root_id = ids[offset : offset + 16], span.span_id
                if index % 97 == 0 and t == 0:
                    self.sample_traces.append(trace_id.hex())
                if index % 97 == 0 and t == 1:
                    self.sample_agent_traces.append(f"{trace_id.hex()}/{span.span_id.hex()}")
            else:
                span.parent_span_id = root_id
            span.trace_id = trace_id
            start = base + t * 4_000_000 + s * 200_000
            span.start_time_unix_nano = start
            span.end_time_unix_nano = start + 150_000 + (k * 7919) % 1_000_000
            span.events[0].time_unix_nano = start + 1000
            span.events[1].time_unix_nano = start + 2000
        return request


def sign_in_or_create(api: ApiClient) -> None:
    """Signs in to a kept data set's stack; one written straight to Parquet has no account yet."""
    if api.http.post("/sign-in", json={"email": DEFAULT_EMAIL, "password": DEFAULT_PASSWORD}).is_error:
        api.create_first_user()


FILE_REQUESTS = 50
"""Requests per file when a data set is written directly (5,000 spans, about what a flush holds)."""


def _write_files(job: tuple[Path, int, int, int]) -> tuple[list[str], list[str]]:
    """Files `first`..`last - 1` of a directly written data set (FILE_REQUESTS requests each,
    request i at `start_ns + i * 50 ms`); returns its sample trace ids and Agent runs."""
    from ingestion.convert import convert_request
    from junjo_common.spanformat import CURRENT

    directory, first, last, start_ns = job
    factory = RequestFactory(start_ns)
    plain = pa.schema(
        [
            pa.field(f.name, pa.string(), f.nullable) if f.name in CURRENT.DICTIONARY_COLUMNS else f
            for f in CURRENT.SCHEMA
        ]
    )
    for number in range(first, last):
        batches = []
        for i in range(number * FILE_REQUESTS, (number + 1) * FILE_REQUESTS):
            batches += convert_request(factory.build(i).SerializeToString()).batches
        table = pa.Table.from_batches(batches)
        columns = [
            pc.run_end_decode(table.column(f.name).combine_chunks())
            if f.name in CURRENT.DICTIONARY_COLUMNS
            else table.column(f.name)
            for f in CURRENT.SCHEMA
        ]
        table = (
            pa.Table.from_arrays(columns, schema=plain)
            .sort_by(list(CURRENT.SORT_COLUMNS))
            .cast(CURRENT.SCHEMA)
        )
        path = directory / f"bench_{number:06d}.parquet"
        with pq.ParquetWriter(
            path, CURRENT.SCHEMA, **CURRENT.parquet_writer_options(table.num_rows)
        ) as writer:
            writer.write_table(table, row_group_size=CURRENT.PARQUET_ROW_GROUP_SIZE)
    return factory.sample_traces, factory.sample_agent_traces


def write_dataset(cache: Path, spans: int, processes: int = 2) -> dict[str, Any]:
    """Writes `spans` spans of the same requests as the ingestion path straight to Parquet files
    (ingestion's converter turns each request into rows; files hold FILE_REQUESTS requests, sorted
    like a flush), in `processes` worker processes; returns the manifest. For data sets too large
    to send through ingestion on a shared machine in reasonable time."""
    requests = spans // SPANS_PER_REQUEST
    files = -(-requests // FILE_REQUESTS)
    start_ns = time.time_ns() - requests * 50_000_000
    directory = cache / "spans" / "parquet" / time.strftime("year=%Y/month=%m/day=%d")
    directory.mkdir(parents=True, exist_ok=True)
    step = -(-files // (processes * 8))  # a few jobs per process: even progress, bounded memory
    jobs = [(directory, first, min(first + step, files), start_ns) for first in range(0, files, step)]
    manifest: dict[str, Any] = {
        "spans": files * FILE_REQUESTS * SPANS_PER_REQUEST,
        "sample_traces": [],
        "sample_agents": [],
    }
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        for done, (traces, agents) in enumerate(pool.imap(_write_files, jobs), 1):
            manifest["sample_traces"] += traces
            manifest["sample_agents"] += agents
            print(f"  wrote files {done}/{len(jobs)} jobs", flush=True)
    return manifest


async def _send_all(endpoint: str, key: str, factory: RequestFactory, requests: int, clients: int) -> float:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(requests):
        queue.put_nowait(i)
    started = time.monotonic()
    async with grpc.aio.insecure_channel(
        endpoint, options=[("grpc.max_send_message_length", 64 << 20)]
    ) as ch:
        stub = trace_service_pb2_grpc.TraceServiceStub(ch)

        async def client() -> None:
            while not queue.empty():
                request = factory.build(queue.get_nowait())
                for attempt in range(200):
                    try:
                        await stub.Export(request, metadata=(("x-junjo-api-key", key),), timeout=60)
                        break
                    except grpc.aio.AioRpcError as exc:
                        if exc.code() not in (
                            grpc.StatusCode.RESOURCE_EXHAUSTED,
                            grpc.StatusCode.UNAVAILABLE,
                        ):
                            raise
                        await asyncio.sleep(min(0.05 * (attempt + 1), 1.0))

        await asyncio.gather(*(client() for _ in range(clients)))
    return time.monotonic() - started


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


class RssSampler(threading.Thread):
    """Peak RSS of a process, overall and per named phase (`phase` is set by the measuring loop)."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.proc = psutil.Process(pid)
        self.peak = 0
        self.phase = "idle"
        self.phase_peaks: dict[str, int] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            rss = self.proc.memory_info().rss
            self.peak = max(self.peak, rss)
            self.phase_peaks[self.phase] = max(self.phase_peaks.get(self.phase, 0), rss)
            time.sleep(0.02)


def timed_gets(api: ApiClient, paths: list[str], repeats: int) -> list[float]:
    """Milliseconds of `repeats` GETs taking `paths` in turn, after a warm-up GET of the first
    three; an error or empty answer ends the benchmark."""
    for path in paths[:3]:
        api.http.get(path)
    times = []
    for i in range(repeats):
        path = paths[i % len(paths)]
        t0 = time.perf_counter()
        response = api.http.get(path)
        times.append((time.perf_counter() - t0) * 1000)
        if response.status_code != 200 or not response.json():
            raise SystemExit(f"{path} -> {response.status_code} {response.text[:300]}")
    return times


def _measure(
    api: ApiClient, sampler: RssSampler, name: str, paths: list[str], repeats: int
) -> dict[str, Any]:
    sampler.phase = name
    times = timed_gets(api, paths, repeats)
    return {
        "query": name,
        "n": repeats,
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(_percentile(times, 0.95), 1),
        "max_ms": round(max(times), 1),
    }


def _ack_to_queryable(
    api: ApiClient, sampler: RssSampler, endpoint: str, key: str, samples: int
) -> dict[str, Any]:
    """Export one request, then poll its first trace until all 10 spans come back."""
    sampler.phase = "acknowledged -> queryable"
    factory = RequestFactory(time.time_ns(), seed=11)
    times = []
    with grpc.insecure_channel(endpoint) as channel:
        stub = trace_service_pb2_grpc.TraceServiceStub(channel)
        for i in range(samples):
            request = factory.build(i)
            trace_id = request.resource_spans[0].scope_spans[0].spans[0].trace_id.hex()
            stub.Export(request, metadata=(("x-junjo-api-key", key),), timeout=30)
            t0 = time.perf_counter()
            while len(api.http.get(f"{OBS}/traces/{trace_id}/spans").json()) < SPANS_PER_TRACE:
                if time.perf_counter() - t0 > 30:
                    raise SystemExit(f"trace {trace_id} not queryable after 30 s")
                time.sleep(0.005)
            times.append((time.perf_counter() - t0) * 1000)
    return {
        "query": "acknowledged -> queryable",
        "n": samples,
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(_percentile(times, 0.95), 1),
        "max_ms": round(max(times), 1),
    }


def data_set_dir(spans: int) -> Path:
    """Where the data set of `spans` spans is kept between runs: a data directory (the stack's
    files) with `manifest.json` (span count, sample trace ids and Agent runs)."""
    return ROOT / ".dbdata" / "bench" / f"query-agents-{spans}"


def data_set(spans: int) -> tuple[Path, dict[str, Any]]:
    """The data set of `spans` spans (`data_set_dir`) and its manifest; when it is missing, this
    benchmark runs first (one repeat per query) to build it."""
    cache = data_set_dir(spans)
    if not (cache / "manifest.json").exists():
        main(["--spans", str(spans), "--repeats", "1"])
    return cache, json.loads((cache / "manifest.json").read_text())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=100)
    args = parser.parse_args(argv)

    cache = data_set_dir(args.spans)
    manifest_path = cache / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else None
    stack = Stack(cache)
    logs = cache / "logs"
    try:
        start_backend(stack, logs)
        start_ingestion(stack, logs)
        api = ApiClient(stack.http_url, timeout=120)
        if manifest is None:
            cache.mkdir(parents=True, exist_ok=True)
            api.create_first_user()
            key = api.create_api_key("bench")
            factory = RequestFactory(time.time_ns() - args.spans // SPANS_PER_REQUEST * 50_000_000)
            requests = args.spans // SPANS_PER_REQUEST
            print(f"generating {requests * SPANS_PER_REQUEST:,} spans through ingestion ...", flush=True)
            secs = asyncio.run(_send_all(stack.otlp_endpoint, key, factory, requests, args.clients))
            print(f"  sent in {secs:.1f}s ({requests * SPANS_PER_REQUEST / secs:,.0f} spans/s acknowledged)")
            flushed = api.http.post("/api/admin/flush-wal").json()
            print(f"  {flushed['message']}")
            manifest = {
                "spans": requests * SPANS_PER_REQUEST,
                "sample_traces": factory.sample_traces,
                "sample_agents": factory.sample_agent_traces,
            }
            manifest_path.write_text(json.dumps(manifest))
        else:
            sign_in_or_create(api)
            print(f"reusing {manifest['spans']:,} spans in {cache}")
            # Flushes what the last run left unflushed and indexes everything (e.g. files an older
            # index schema must summarise again) before anything is measured.
            print(f"  {api.http.post('/api/admin/flush-wal').json()['message']}")
        files = sorted((cache / "spans" / "parquet").rglob("*.parquet"))
        size_mb = sum(f.stat().st_size for f in files) / 1e6
        print(f"  {len(files)} Parquet files, {size_mb:.0f} MB")

        assert stack.backend is not None and stack.backend.proc is not None
        sampler = RssSampler(stack.backend.proc.pid)
        sampler.start()
        traces = manifest["sample_traces"]
        service = SERVICES[0]
        results = [
            _measure(api, sampler, "GET /health (HTTP baseline)", ["/health"], args.repeats),
            _measure(
                api,
                sampler,
                "one trace (all spans)",
                [f"{OBS}/traces/{t}/spans" for t in traces],
                args.repeats,
            ),
            _measure(
                api, sampler, "trace document", [f"/api/v1/trace-document/{t}" for t in traces], args.repeats
            ),
            _measure(
                api,
                sampler,
                "newest 50 root spans",
                [f"{OBS}/services/{service}/spans/root?limit=50"],
                args.repeats,
            ),
            _measure(
                api,
                sampler,
                "newest 50 workflows",
                [f"{OBS}/services/{service}/workflows?limit=50"],
                args.repeats,
            ),
            _measure(
                api,
                sampler,
                "newest 50 LLM roots",
                [f"{OBS}/services/{service}/spans/root?limit=50&has_llm=true"],
                args.repeats,
            ),
            _measure(api, sampler, "services", [f"{OBS}/services"], args.repeats),
            _measure(
                api, sampler, "newest 50 Agent runs", ["/api/v1/agent-executions?limit=50"], args.repeats
            ),
            _measure(
                api,
                sampler,
                "newest 50 Agent runs, filtered",
                [
                    f"/api/v1/agent-executions?limit=50&service_name={service}&agent_key={AGENT_KEYS[1]}",
                    f"/api/v1/agent-executions?limit=50&outcome=failed&service_name={service}",
                    "/api/v1/agent-executions?limit=50&name=triage&errors_only=true",
                ],
                args.repeats,
            ),
            _measure(
                api,
                sampler,
                "Agent run detail",
                [f"/api/v1/agent-executions/{a}" for a in manifest["sample_agents"]],
                args.repeats,
            ),
            _measure(
                api,
                sampler,
                "Agent trace evidence (detail page)",
                [f"/api/v1/trace-evidence/{a.split('/')[0]}" for a in manifest["sample_agents"]],
                args.repeats,
            ),
            _ack_to_queryable(api, sampler, stack.otlp_endpoint, api.create_api_key("bench-latency"), 20),
        ]
        sampler.stop.set()
        sampler.join()
        rss_mb = psutil.Process(stack.backend.proc.pid).memory_info().rss / 2**20
        print(f"\nQuery benchmark over {manifest['spans']:,} spans ({len(files)} files, {size_mb:.0f} MB)")
        print("| query | p50 ms | p95 ms | max ms |\n|---|---|---|---|")
        for r in results:
            print(f"| {r['query']} | {r['p50_ms']} | {r['p95_ms']} | {r['max_ms']} |")
        print(f"\nbackend RSS: peak {sampler.peak / 2**20:.0f} MB during queries, {rss_mb:.0f} MB after")
        print(
            "peak RSS by phase (MB): "
            + ", ".join(f"{k} {v / 2**20:.0f}" for k, v in sampler.phase_peaks.items())
        )
        (cache / "results.json").write_text(
            json.dumps(
                {
                    "results": results,
                    "rss_peak_mb": round(sampler.peak / 2**20),
                    "rss_peak_mb_by_phase": {k: round(v / 2**20) for k, v in sampler.phase_peaks.items()},
                    "files": len(files),
                },
                indent=1,
            )
        )
        api.close()
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
