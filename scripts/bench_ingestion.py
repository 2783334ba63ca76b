"""Ingestion benchmark (budgets: docs/PERFORMANCE.md): sustained durably-acknowledged spans/s,
export latency, RSS and CPU of `python -m ingestion`, and the acknowledged → hot-snapshot-visible
delay.

`python scripts/bench_ingestion.py` (or `make bench`, via scripts/bench.py calling `main()`).
A real backend (API keys) and a real ingestion process run on loopback with a fresh data dir.
Client processes (separate from the service, so their CPU is not counted) each pre-serialize
their own 100-span requests of the standard workload (tests/ingestion/workload.py: ~2.2 KB per
span on the wire, 10 attributes incl. a 1-2 KB JSON state, 2 events) and send them over grpc.aio,
or as OTLP/HTTP protobuf (keep-alive HTTP/1.1 connections) in the `*_http` phases.
Phases, each bounded in time (1-3 once per transport of `--transports`):
0. pipeline: the service's work without gRPC (parse, convert, WAL append + fsync), in-process;
1. saturation: `--clients` processes x `--concurrency` requests in flight, `--seconds` long
   (what the service takes when pushed; backpressure may refuse some, as designed);
2. budget: `--budget-rate` spans/s offered (default 15,000, the budget), paced, for
   `--budget-seconds`: the budget is met when every request is acknowledged at that rate;
3. offered load: `--rate` spans/s paced (default 5,000) for `--paced-seconds`, with latency
   percentiles and, meanwhile, `--visibility-samples` probes of ack → visible in PrepareHotSnapshot.
Before each phase the WAL is flushed (FlushWAL), so no phase inherits another's backlog.
OTLP/HTTP's budget: >= 80 % of gRPC's spans per ingestion CPU-second (saturation phases).
Results are printed and written to `.dbdata/bench/ingestion.json`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing as mp
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import grpc
import psutil
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from junjo_common.internal_token import call_metadata  # noqa: E402
from junjo_common.proto_gen import ingestion_pb2, ingestion_pb2_grpc  # noqa: E402
from tests.ingestion.workload import make_request, span_ids  # noqa: E402
from tests.support.stack import Stack, internal_token, start_with_api_key  # noqa: E402

EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
SPANS = 100


class _HttpConnections:
    """OTLP/HTTP protobuf POSTs over a pool of keep-alive HTTP/1.1 connections, written with
    asyncio streams: a load generator as cheap per request as grpc's C core, so client processes
    do not take the CPU the measured service needs (httpx costs several times more)."""

    def __init__(self, url: str, key: str) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.head = (
            f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            f"Content-Type: application/x-protobuf\r\nx-junjo-api-key: {key}\r\nContent-Length: "
        ).encode()
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def post(self, payload: bytes) -> str:
        try:
            reader, writer = (
                self.idle.pop() if self.idle else await asyncio.open_connection(self.host, self.port)
            )
        except OSError as exc:
            return type(exc).__name__
        try:
            writer.write(self.head + str(len(payload)).encode() + b"\r\n\r\n" + payload)
            await writer.drain()
            head = (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)).lower()
            length = (
                int(head.split(b"content-length:", 1)[1].split(b"\r\n", 1)[0])
                if b"content-length:" in head
                else 0
            )
            await reader.readexactly(length)
        except (TimeoutError, OSError, asyncio.IncompleteReadError) as exc:
            writer.close()
            return type(exc).__name__
        status = head.split(b" ", 2)[1].decode()
        if b"connection: close" in head:
            writer.close()
        else:
            self.idle.append((reader, writer))
        return "OK" if status == "200" else f"HTTP_{status}"

    def close(self) -> None:
        for _, writer in self.idle:
            writer.close()


@contextlib.asynccontextmanager
async def _sender(endpoint: str, key: str) -> AsyncIterator[Callable[[bytes], Awaitable[str]]]:
    """Sends one export per payload and returns "OK" or what failed: OTLP/HTTP protobuf when
    `endpoint` is a URL, else OTLP/gRPC."""
    if endpoint.startswith("http://"):
        connections = _HttpConnections(endpoint, key)
        try:
            yield connections.post
        finally:
            connections.close()
        return
    async with grpc.aio.insecure_channel(endpoint) as channel:
        call = channel.unary_unary(EXPORT)
        metadata = (("x-junjo-api-key", key),)

        async def export(payload: bytes) -> str:
            try:
                await call(payload, metadata=metadata, timeout=30)
            except grpc.aio.AioRpcError as exc:
                return exc.code().name
            return "OK"

        yield export


def _client(
    endpoint: str,
    key: str,
    seed: int,
    concurrency: int,
    seconds: float,
    rate: float,
    requests_per_client: int,
    out: Any,
    ready: Any,
    go: Any,
) -> None:
    """One client process: returns [(start, end, status)] per export through `out` (a Queue)."""
    payloads = [
        make_request((seed * requests_per_client + i) * SPANS, SPANS).SerializeToString()
        for i in range(requests_per_client)
    ]

    async def run() -> list[tuple[float, float, str]]:
        results: list[tuple[float, float, str]] = []
        async with _sender(endpoint, key) as send:
            warm = await send(payloads[0])  # warm the connection and the key cache
            if warm != "OK":
                raise RuntimeError(f"warm-up export failed: {warm}")
            ready.put(seed)
            await asyncio.to_thread(go.wait)  # all clients start together, once their payloads exist
            deadline = time.monotonic() + seconds
            counter = iter(range(1 << 40))

            async def one() -> None:
                payload = payloads[next(counter) % len(payloads)]
                started = time.monotonic()
                status = await send(payload)
                results.append((started, time.monotonic(), status))

            if rate > 0:  # paced: one request every SPANS/rate seconds, whatever the latency
                interval, tasks, nxt = SPANS / rate, set(), time.monotonic()
                while nxt < deadline:
                    tasks.add(asyncio.ensure_future(one()))
                    nxt += interval
                    await asyncio.sleep(max(0.0, nxt - time.monotonic()))
                await asyncio.gather(*tasks)
            else:

                async def loop() -> None:
                    while time.monotonic() < deadline:
                        await one()

                await asyncio.gather(*(loop() for _ in range(concurrency)))
        return results

    out.put(asyncio.run(run()))


def _run_clients(
    endpoint: str,
    key: str,
    clients: int,
    concurrency: int,
    seconds: float,
    rate: float,
    requests_per_client: int,
    seed0: int,
    on_start: Any = None,
) -> list[tuple[float, float, str]]:
    """Runs the client processes; `on_start()` is called when all are ready, just before they send."""
    ctx = mp.get_context("spawn")
    queue, ready, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    procs = [
        ctx.Process(
            target=_client,
            args=(
                endpoint,
                key,
                seed0 + c,
                concurrency,
                seconds,
                rate / clients,
                requests_per_client,
                queue,
                ready,
                go,
            ),
        )
        for c in range(clients)
    ]
    for p in procs:
        p.start()
    for _ in procs:
        ready.get(timeout=600)
    if on_start is not None:
        on_start()
    go.set()
    results: list[tuple[float, float, str]] = []
    for _ in procs:
        results += queue.get(timeout=seconds + 300)
    for p in procs:
        p.join(30)
    return results


class Sampler:
    """Samples the ingestion process's RSS and CPU time every 0.25 s."""

    def __init__(self, pid: int) -> None:
        self.proc = psutil.Process(pid)
        self.rss: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.rss.append(self.proc.memory_info().rss)
            time.sleep(0.25)

    def start(self) -> None:
        self.cpu0, self.t0 = sum(self.proc.cpu_times()[:2]), time.monotonic()
        Path(f"/proc/{self.proc.pid}/clear_refs").write_text("5")  # restart VmHWM for this phase
        self._thread.start()

    def peak_mb(self) -> float:
        """The kernel's peak RSS of the phase (VmHWM): momentary peaks the 0.25 s samples miss."""
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        return round(int(status.split("VmHWM:")[1].split()[0]) / 1024, 1)

    def __enter__(self) -> Sampler:
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if not self._thread.is_alive():  # never started: the phase failed before sending
            self.cpu_seconds = self.cpu = 0.0
            return
        self._thread.join()
        self.cpu_seconds = sum(self.proc.cpu_times()[:2]) - self.cpu0
        self.cpu = self.cpu_seconds / (time.monotonic() - self.t0)


def _pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))]


def _summary(results: list[tuple[float, float, str]], cpu_seconds: float) -> dict[str, Any]:
    ok = [r for r in results if r[2] == "OK"]
    failed = Counter(r[2] for r in results if r[2] != "OK")
    if not ok:
        return {"acked_requests": 0, "failed": dict(failed)}
    span = max(e for _, e, _ in ok) - min(s for s, _, _ in ok)
    lat = [(e - s) * 1000 for s, e, _ in ok]
    return {
        "acked_requests": len(ok),
        "failed": dict(failed),
        "spans_per_s": round(len(ok) * SPANS / span),
        "spans_per_ingestion_cpu_second": round(len(ok) * SPANS / cpu_seconds) if cpu_seconds else None,
        "p50_ms": round(_pct(lat, 50), 1),
        "p95_ms": round(_pct(lat, 95), 1),
        "p99_ms": round(_pct(lat, 99), 1),
    }


def _flush_wal(stack: Stack) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{stack.internal_port}") as internal:
        ingestion_pb2_grpc.InternalIngestionServiceStub(internal).FlushWAL(
            ingestion_pb2.FlushWALRequest(), metadata=call_metadata(internal_token(stack)), timeout=300
        )


def _visibility_probe(stack: Stack, key: str, samples: int, stop_at: float) -> list[float]:
    """Ack → visible in PrepareHotSnapshot (or a recent cold file), in ms, under the paced load."""
    token = internal_token(stack)
    delays: list[float] = []
    with (
        grpc.insecure_channel(stack.otlp_endpoint) as otlp,
        grpc.insecure_channel(f"127.0.0.1:{stack.internal_port}") as internal,
    ):
        export = otlp.unary_unary(EXPORT)
        snap = ingestion_pb2_grpc.InternalIngestionServiceStub(internal)
        for n in range(samples):
            if time.monotonic() > stop_at:
                break
            first = 900_000_000 + n * SPANS
            try:
                export(
                    make_request(first, SPANS).SerializeToString(),
                    metadata=(("x-junjo-api-key", key),),
                    timeout=30,
                )
            except grpc.RpcError:  # e.g. RESOURCE_EXHAUSTED under backpressure: probe again later
                time.sleep(0.5)
                continue
            acked = time.monotonic()
            wanted = span_ids(first)[1].hex()
            while time.monotonic() - acked < 10:
                reply = snap.PrepareHotSnapshot(
                    ingestion_pb2.PrepareHotSnapshotRequest(), metadata=call_metadata(token), timeout=30
                )
                paths = ([reply.snapshot_path] if reply.snapshot_path else []) + list(reply.recent_cold_paths)
                if any(
                    pq.read_table(p, columns=["span_id"], filters=[("span_id", "=", wanted)]).num_rows
                    for p in paths
                ):
                    delays.append((time.monotonic() - acked) * 1000)
                    break
                time.sleep(0.02)
            time.sleep(0.5)
    return delays


def _pipeline(requests: int = 300) -> dict[str, Any]:
    """The service's own work without gRPC, in this process: parse + convert + durable WAL append
    (group commit of 8 concurrent writers, fsync each group). CPU-seconds are the robust figure
    on a shared machine; wall time also counts waiting for the CPU."""
    from ingestion.convert import convert_request
    from ingestion.wal import Wal

    payloads = [make_request(i * SPANS, SPANS).SerializeToString() for i in range(requests)]

    async def run(directory: Path) -> tuple[float, float]:
        wal = Wal(directory, 4 * 2**20)
        wal.recover()
        wal.start(asyncio.get_running_loop())
        queue = iter(payloads)

        async def writer() -> None:
            for payload in queue:
                await wal.append(convert_request(payload).batches)

        wall0, cpu0 = time.monotonic(), time.process_time()
        await asyncio.gather(*(writer() for _ in range(8)))
        wall, cpu = time.monotonic() - wall0, time.process_time() - cpu0
        wal.stop()
        wal.release_dir()
        return wall, cpu

    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmp:
        wall, cpu = asyncio.run(run(Path(tmp)))
    spans = requests * SPANS
    return {
        "spans": spans,
        "spans_per_s_wall": round(spans / wall),
        "spans_per_cpu_second": round(spans / cpu),
    }


def _cpu_pressure() -> str:
    """Linux PSI: the share of time runnable tasks waited for a CPU (machine contention)."""
    try:
        return Path("/proc/pressure/cpu").read_text().splitlines()[0]
    except OSError:
        return "n/a"


def _machine() -> dict[str, Any]:
    load1, load5, _ = psutil.getloadavg()
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "?",
    )
    return {
        "cpus": psutil.cpu_count(),
        "cpu_model": cpu,
        "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": sys.version.split()[0],
        "loadavg_1m_5m_at_start": [round(load1, 2), round(load5, 2)],
        "cpu_pressure_at_start": _cpu_pressure(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--clients", type=int, default=4, help="client processes")
    parser.add_argument("--concurrency", type=int, default=4, help="requests in flight per client")
    parser.add_argument("--seconds", type=float, default=30.0, help="saturation phase length")
    parser.add_argument("--rate", type=float, default=5000.0, help="offered spans/s in the paced phase")
    parser.add_argument("--paced-seconds", type=float, default=20.0)
    parser.add_argument("--visibility-samples", type=int, default=15)
    parser.add_argument("--requests-per-client", type=int, default=100)
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra ingestion setting, e.g. FLUSH_MAX_MB=100 (repeatable)",
    )
    parser.add_argument(
        "--budget-rate", type=float, default=15_000.0, help="offered spans/s in the budget phase"
    )
    parser.add_argument("--budget-seconds", type=float, default=30.0, help="0 skips the budget phase")
    parser.add_argument("--skip-paced", action="store_true", help="no 5,000 spans/s phase")
    parser.add_argument(
        "--transports", default="grpc,http", help="OTLP transports whose phases run: grpc, http or both"
    )
    args = parser.parse_args(argv)
    extra_env = dict(item.split("=", 1) for item in args.env)

    report: dict[str, Any] = {"machine": _machine(), "args": vars(args)}
    report["pipeline_without_grpc"] = _pipeline()
    print("pipeline_without_grpc:", json.dumps(report["pipeline_without_grpc"]), flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-ingestion-") as tmp:
        stack = Stack(Path(tmp), extra_env=extra_env)
        try:
            key, proc = start_with_api_key(stack, Path(tmp) / "logs")
            assert proc.proc is not None
            pid = proc.proc.pid
            report["idle_rss_mb"] = round(psutil.Process(pid).memory_info().rss / 2**20, 1)

            def phase(
                name: str,
                endpoint: str,
                concurrency: int,
                seconds: float,
                rate: float,
                seed0: int,
                with_probe: bool = False,
            ) -> None:
                _flush_wal(stack)
                delays: list[float] = []
                probe = threading.Thread(
                    target=lambda: delays.extend(
                        _visibility_probe(stack, key, args.visibility_samples, time.monotonic() + seconds)
                    )
                )

                def on_start() -> None:
                    sampler.start()
                    if with_probe:
                        probe.start()

                with Sampler(pid) as sampler:
                    results = _run_clients(
                        endpoint,
                        key,
                        args.clients,
                        concurrency,
                        seconds,
                        rate,
                        args.requests_per_client,
                        seed0,
                        on_start,
                    )
                    if with_probe:
                        probe.join()
                report[name] = {
                    **({"offered_spans_per_s": rate} if rate else {}),
                    **_summary(results, sampler.cpu_seconds),
                    "ingestion_cpu_cores": round(sampler.cpu, 2),
                    "rss_max_mb": round(max(sampler.rss) / 2**20, 1),
                    "rss_peak_hwm_mb": sampler.peak_mb(),
                    "rss_median_mb": round(statistics.median(sampler.rss) / 2**20, 1),
                }
                print(f"{name}:", json.dumps(report[name]), flush=True)
                if with_probe:
                    report["ack_to_visible_ms"] = {
                        "samples": len(delays),
                        "median": round(statistics.median(delays), 1) if delays else None,
                        "max": round(max(delays), 1) if delays else None,
                    }
                    print("ack_to_visible_ms:", json.dumps(report["ack_to_visible_ms"]), flush=True)

            endpoints = {"grpc": stack.otlp_endpoint, "http": stack.otlp_http_url}
            for transport in args.transports.split(","):
                suffix, endpoint = ("" if transport == "grpc" else f"_{transport}"), endpoints[transport]
                phase(f"saturation{suffix}", endpoint, args.concurrency, args.seconds, 0, 0)
                if args.budget_seconds > 0:
                    phase(f"budget{suffix}", endpoint, 0, args.budget_seconds, args.budget_rate, 50)
                if not args.skip_paced:  # the visibility probe exports over gRPC: once is enough
                    phase(f"paced{suffix}", endpoint, 0, args.paced_seconds, args.rate, 100, not suffix)
            if "saturation" in report and "saturation_http" in report:
                # Saturation: the same bounded concurrency for both and nothing refused, so CPU per
                # acknowledged span compares the transports (refusals cost CPU but store nothing).
                grpc_rate = report["saturation"].get("spans_per_ingestion_cpu_second") or 0
                http_rate = report["saturation_http"].get("spans_per_ingestion_cpu_second") or 0
                report["otlp_http_vs_grpc"] = {
                    "spans_per_cpu_second_ratio": round(http_rate / grpc_rate, 3) if grpc_rate else None,
                    "saturation_spans_per_s": [
                        report.get(p, {}).get("spans_per_s") for p in ("saturation", "saturation_http")
                    ],
                    "paced_p95_ms": [report.get(p, {}).get("p95_ms") for p in ("paced", "paced_http")],
                }
                print("otlp_http_vs_grpc:", json.dumps(report["otlp_http_vs_grpc"]), flush=True)
            t0 = time.monotonic()
            report["sigterm_exit_code"] = proc.stop(timeout=120)
            report["shutdown_flush_seconds"] = round(time.monotonic() - t0, 2)
            report["machine"]["loadavg_1m_5m_at_end"] = [round(x, 2) for x in psutil.getloadavg()[:2]]
            report["machine"]["cpu_pressure_at_end"] = _cpu_pressure()
        finally:
            stack.stop()
    out = ROOT / ".dbdata" / "bench" / "ingestion.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    comparison = report.get("otlp_http_vs_grpc", {})
    if comparison.get("spans_per_cpu_second_ratio") is not None:
        ratio = comparison["spans_per_cpu_second_ratio"]
        print(
            f"otlp/http: {ratio:.0%} of gRPC's spans per ingestion CPU-second at saturation "
            f"({'meets' if ratio >= 0.8 else 'does not meet'} the 80 % budget)"
        )
    budget = report.get("budget", {})
    met = (
        budget.get("offered_spans_per_s", 0) >= 15_000
        and not budget.get("failed")
        and budget.get("spans_per_s", 0) >= 0.98 * budget.get("offered_spans_per_s", 0)
    )
    print(
        f"ingestion: saturation {report['saturation'].get('spans_per_s')} spans/s acknowledged; "
        f"{budget.get('spans_per_s')} of {budget.get('offered_spans_per_s')} offered spans/s acknowledged "
        f"with {sum(budget.get('failed', {}).values())} refused "
        f"({'meets' if met else 'does not meet'} the 15,000 budget); results in {out.relative_to(ROOT)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
