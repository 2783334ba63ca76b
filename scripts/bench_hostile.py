"""Hostile-input benchmark: what attacks cost `python -m ingestion` and the exporters it serves.

`python scripts/bench_hostile.py` (or `make bench`, via scripts/bench.py calling `main()`).
A real backend (API keys) and a real ingestion process run on loopback with a fresh data dir.
1. gzip bomb: a request of `--bomb-mb` MiB of zeros sent gzip-compressed; peak RSS and status.
2. amplification: one ~14 MiB request with a 10 MiB resource attribute and 150,000 tiny spans;
   peak RSS of the service while it answers, and what it answered.
3. key flood: a valid exporter (this process, 100-span requests of the standard workload, at most
   `--in-flight` at a time) runs `--seconds` alone, then `--seconds` again while another process
   sends `--random-keys` requests with random well-formed API keys spread over that time; once
   paced at `--rate` spans/s (an exporter's steady load), once as fast as it can (saturating the
   service, so it measures the CPU the flood takes from it on a shared machine). The valid key's
   cache entry expires every second (JUNJO_API_KEY_CACHE_TTL_SECONDS=1), so it must revalidate
   during the flood. Reported: the rates and their ratio (the bar: >= 90 %).
Results are printed and written to `.dbdata/bench/hostile.json`.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import secrets
import string
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import grpc
import psutil
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.resource.v1 import resource_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.ingestion.workload import make_request  # noqa: E402
from tests.support.stack import Stack, start_with_api_key  # noqa: E402

EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
SPANS = 100
_ALPHANUMERIC = string.ascii_letters + string.digits


class PeakRss:
    """Samples a process's RSS every 5 ms while in the `with` block."""

    def __init__(self, pid: int) -> None:
        self.process, self.peak, self._done = psutil.Process(pid), 0, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._done.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.005)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._done.set()
        self._thread.join()

    @property
    def mb(self) -> float:
        return round(self.peak / 2**20, 1)


def _valid_exporter(
    endpoint: str, key: str, seconds: float, in_flight: int, seed: int, rate: float = 0
) -> dict[str, Any]:
    """Sends 100-span requests, at most `in_flight` at a time, paced at `rate` spans/s (0: as fast
    as answers come), for `seconds`; spans/s acknowledged."""
    payloads = [make_request((seed + i) * SPANS, SPANS).SerializeToString() for i in range(50)]
    metadata = (("x-junjo-api-key", key),)
    acked, refused = 0, 0
    with grpc.insecure_channel(endpoint) as channel:
        call = channel.unary_unary(EXPORT)
        call(payloads[0], metadata=metadata, timeout=30)  # warm the channel
        started = time.monotonic()
        deadline = started + seconds
        n = 0
        pending: list[grpc.Future] = []
        while time.monotonic() < deadline or pending:
            while len(pending) < in_flight and time.monotonic() < deadline:
                if rate and time.monotonic() < started + n * SPANS / rate:
                    break
                pending.append(call.future(payloads[n % len(payloads)], metadata=metadata, timeout=30))
                n += 1
            if not pending or (rate and not pending[0].done() and time.monotonic() < deadline):
                time.sleep(0.001)
                continue
            future = pending.pop(0)
            try:
                future.result()
                acked += SPANS
            except grpc.RpcError:
                refused += 1
        elapsed = time.monotonic() - started
    return {"spans_per_s": round(acked / elapsed), "refused_requests": refused, "seconds": round(elapsed, 1)}


def _key_flood(endpoint: str, requests: int, seconds: float, counts: Any) -> None:
    """Another process: `requests` exports with random well-formed keys, paced over `seconds`."""
    body = make_request(0, SPANS).SerializeToString()
    codes: dict[str, int] = {}
    with grpc.insecure_channel(endpoint) as channel:
        call = channel.unary_unary(EXPORT)
        started = time.monotonic()
        futures = []
        for i in range(requests):
            delay = started + i * seconds / requests - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            key = "".join(secrets.choice(_ALPHANUMERIC) for _ in range(64))
            futures.append(call.future(body, metadata=(("x-junjo-api-key", key),), timeout=30))
        for future in futures:
            try:
                future.result()
                codes["OK"] = codes.get("OK", 0) + 1
            except grpc.RpcError as exc:
                codes[exc.code().name] = codes.get(exc.code().name, 0) + 1
    counts.put(codes)


def _amplification_request() -> bytes:
    """One ResourceSpans: a 10 MiB resource attribute and 150,000 copies of a tiny span (~14 MiB),
    put together as wire bytes (building 150,000 span messages would be slow)."""
    resource = resource_pb2.Resource()
    resource.attributes.add(key="service.name").value.string_value = "amplifier"
    resource.attributes.add(key="blob").value.string_value = "r" * (10 << 20)
    span = trace_pb2.Span(trace_id=b"t" * 16, span_id=b"s" * 8, name="x").SerializeToString()
    scope = _field(0x12, b"".join(_field(0x12, span) for _ in range(150_000)))
    return _field(0x0A, _field(0x0A, resource.SerializeToString()) + scope)


def _field(tag: int, payload: bytes) -> bytes:
    length, n = bytearray(), len(payload)
    while True:
        byte, n = n & 0x7F, n >> 7
        length.append(byte | (0x80 if n else 0))
        if not n:
            return bytes([tag]) + bytes(length) + payload


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each exporter phase")
    parser.add_argument("--in-flight", type=int, default=4, help="valid exporter's requests in flight")
    parser.add_argument("--rate", type=float, default=5000.0, help="valid exporter's paced spans/s")
    parser.add_argument("--random-keys", type=int, default=1000, help="random-key requests in the flood")
    parser.add_argument("--bomb-mb", type=int, default=1024, help="decompressed size of the gzip bomb")
    args = parser.parse_args(argv)
    report: dict[str, Any] = {"args": vars(args)}
    with tempfile.TemporaryDirectory(prefix="bench-hostile-") as tmp:
        stack = Stack(Path(tmp), extra_env={"JUNJO_API_KEY_CACHE_TTL_SECONDS": "1"})
        try:
            key, proc = start_with_api_key(stack, Path(tmp) / "logs")
            assert proc.proc is not None
            pid = proc.proc.pid
            endpoint = stack.otlp_endpoint
            report["idle_rss_mb"] = round(psutil.Process(pid).memory_info().rss / 2**20, 1)

            bomb = b"\x00" * (args.bomb_mb << 20)
            options = [("grpc.max_send_message_length", -1)]
            with grpc.insecure_channel(endpoint, options=options) as channel, PeakRss(pid) as rss:
                try:
                    channel.unary_unary(EXPORT)(
                        bomb,
                        metadata=(("x-junjo-api-key", key),),
                        compression=grpc.Compression.Gzip,
                        timeout=120,
                    )
                    status = "OK"
                except grpc.RpcError as exc:
                    status = f"{exc.code().name}: {exc.details()}"
            report["gzip_bomb"] = {
                "decompressed_mb": args.bomb_mb,
                "answer": status,
                "ingestion_peak_rss_mb": rss.mb,
            }
            print("gzip_bomb:", json.dumps(report["gzip_bomb"]), flush=True)
            del bomb

            amplification = _amplification_request()
            with grpc.insecure_channel(endpoint) as channel, PeakRss(pid) as rss:
                reply = trace_service_pb2.ExportTraceServiceResponse.FromString(
                    channel.unary_unary(EXPORT)(
                        amplification, metadata=(("x-junjo-api-key", key),), timeout=120
                    )
                )
            report["amplification"] = {
                "request_mb": round(len(amplification) / 2**20, 1),
                "rejected_spans": reply.partial_success.rejected_spans,
                "message": reply.partial_success.error_message[:200],
                "ingestion_peak_rss_mb": rss.mb,
            }
            print("amplification:", json.dumps(report["amplification"]), flush=True)
            del amplification

            for name, rate in (("key_flood_paced", args.rate), ("key_flood_saturating", 0.0)):
                alone = _valid_exporter(endpoint, key, args.seconds, args.in_flight, 0, rate)
                counts: Any = mp.get_context("spawn").Queue()
                flood = mp.get_context("spawn").Process(
                    target=_key_flood, args=(endpoint, args.random_keys, args.seconds, counts)
                )
                flood.start()
                with PeakRss(pid) as rss:
                    loaded = _valid_exporter(endpoint, key, args.seconds, args.in_flight, 1000, rate)
                flood.join(120)
                report[name] = {
                    **({"offered_spans_per_s": rate} if rate else {}),
                    "alone": alone,
                    "during_flood": loaded,
                    "ratio": round(loaded["spans_per_s"] / max(alone["spans_per_s"], 1), 3),
                    "random_key_answers": counts.get(timeout=10),
                    "ingestion_peak_rss_mb": rss.mb,
                }
                print(f"{name}:", json.dumps(report[name]), flush=True)
        finally:
            stack.stop()
    out = ROOT / ".dbdata" / "bench" / "hostile.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    flood_ratio = report["key_flood_paced"]["ratio"]
    print(
        f"hostile: valid exporter at {args.rate:.0f} spans/s keeps {flood_ratio:.0%} of its rate during "
        f"{args.random_keys} random-key "
        f"requests ({'meets' if flood_ratio >= 0.9 else 'does not meet'} the 90 % bar); "
        "amplification peak RSS "
        f"{report['amplification']['ingestion_peak_rss_mb']} MB; gzip bomb peak RSS "
        f"{report['gzip_bomb']['ingestion_peak_rss_mb']} MB; results in {out.relative_to(ROOT)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
