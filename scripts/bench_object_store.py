"""Cold tier on object storage: query latency with the Parquet files in a bucket (a moto S3 server
on loopback) against the same files on local disk, and ingest throughput into the bucket with one
and with two ingesters.

`python scripts/bench_object_store.py [--spans N]` (or `make bench`). The spans are bench_query's
workload, sent over OTLP/gRPC by concurrent clients to real `python -m ingestion` processes whose
cold tier is the bucket; "acknowledged" is spans/s until the last Export answered, "uploaded" until
the flush-wal endpoint returned (every file uploaded and indexed). The one-ingester bucket is then
copied object by object to a local directory, and two backends (fresh indexes: one reading the
bucket, one the directory) answer the same queries over HTTP, sequentially; p50/p95 in ms. A third
backend reads the bucket through a proxy that counts the requests each query (warm: after a first
pass over the same queries) sends: footer reads (GETs of an object's last bytes), all GETs, HEADs.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import obstore

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from backend.index.cold import ObjectColdFiles  # noqa: E402
from scripts.bench_query import (  # noqa: E402
    SERVICES,
    SPANS_PER_REQUEST,
    RequestFactory,
    _percentile,
    _send_all,
    timed_gets,
)
from tests.support.api import OBS, ApiClient  # noqa: E402
from tests.support.s3 import MotoServer, service_env  # noqa: E402
from tests.support.s3_requests import RecordingS3Proxy  # noqa: E402
from tests.support.stack import Stack, start_backend, start_extra_ingester, start_ingestion  # noqa: E402

CLIENTS = 4


async def _send_spread(endpoints: list[str], key: str, factory: RequestFactory, requests: int) -> float:
    """Sends `requests` requests, the clients spread evenly over the ingesters' endpoints."""
    per_endpoint = CLIENTS // len(endpoints)
    shares = [requests // len(endpoints)] * len(endpoints)
    shares[0] += requests - sum(shares)
    offsets = [sum(shares[:i]) for i in range(len(shares))]

    class Shifted(RequestFactory):
        """The factory's requests from `offset` on (each ingester gets its own share)."""

        def __init__(self, offset: int) -> None:  # shares the factory's templates: no super().__init__
            self.offset = offset

        def build(self, index: int) -> Any:
            return factory.build(self.offset + index)

    started = time.monotonic()
    await asyncio.gather(
        *(
            _send_all(endpoint, key, Shifted(offset), share, per_endpoint)
            for endpoint, offset, share in zip(endpoints, offsets, shares, strict=True)
        )
    )
    return time.monotonic() - started


def _ingest(work: Path, moto: MotoServer, ingesters: int, spans: int) -> tuple[dict[str, Any], Any]:
    """One stack (ingesters on one bucket, a backend); returns the throughput and the factory."""
    config = moto.config(moto.create_bucket(), prefix="spans")
    stack = Stack(work, extra_env={"FLUSH_MAX_AGE_SECS": "3600", **service_env(config)})
    try:
        start_ingestion(stack, work / "logs")
        endpoints = [stack.otlp_endpoint]
        for i in range(1, ingesters):
            extra = start_extra_ingester(
                stack, f"ingestion-{i + 1}", work / "logs", env={"PARQUET_OUTPUT_DIR": str(work / f"p{i}")}
            )
            endpoints.append(extra.otlp_endpoint)
        stack.backend_env = {"INGESTION_TARGETS": stack.ingestion_targets, "HOT_TIER_TRANSFER": "stream"}
        start_backend(stack, work / "logs")
        api = ApiClient(stack.http_url, timeout=300)
        api.create_first_user()
        key = api.create_api_key("bench")
        requests = spans // SPANS_PER_REQUEST
        factory = RequestFactory(time.time_ns() - requests * 50_000_000)
        acknowledged = asyncio.run(_send_spread(endpoints, key, factory, requests))
        started = time.monotonic()
        flushed = api.http.post("/api/admin/flush-wal").json()
        uploaded = acknowledged + time.monotonic() - started
        api.close()
        if not flushed.get("success"):
            raise SystemExit(f"flush-wal failed: {flushed}")
        files = ObjectColdFiles(config).scan()
        return {
            "ingesters": ingesters,
            "spans": requests * SPANS_PER_REQUEST,
            "acknowledged_per_s": round(requests * SPANS_PER_REQUEST / acknowledged),
            "uploaded_per_s": round(requests * SPANS_PER_REQUEST / uploaded),
            "objects": len(files),
            "mb": round(sum(f.size_bytes for f in files) / 1e6, 1),
            "config": config,
        }, factory
    finally:
        stack.stop()


def _copy_bucket(config: Any, target: Path) -> None:
    """Every object, by its path under the prefix, into `target` (the same date partitions)."""
    client = config.client()
    for page in obstore.list(client):
        for meta in page:
            path = target / meta["path"]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(bytes(obstore.get(client, meta["path"]).bytes()))


def _latencies(api: ApiClient, paths: list[str], repeats: int) -> dict[str, float]:
    times = timed_gets(api, paths, repeats)
    return {"p50": round(statistics.median(times), 1), "p95": round(_percentile(times, 0.95), 1)}


def _query(work: Path, env: dict[str, str], traces: list[str], repeats: int) -> dict[str, dict[str, float]]:
    stack = Stack(work, extra_env={"INDEXER_POLL_INTERVAL": "3600", **env})
    try:
        start_ingestion(stack, work / "logs")
        start_backend(stack, work / "logs")
        api = ApiClient(stack.http_url, timeout=300)
        api.create_first_user()
        api.http.post("/api/admin/flush-wal")  # every file indexed before anything is measured
        service = SERVICES[0]
        results = {
            "one trace": _latencies(api, [f"{OBS}/traces/{t}/spans" for t in traces], repeats),
            "newest 50 root spans": _latencies(
                api, [f"{OBS}/services/{service}/spans/root?limit=50"], repeats
            ),
            "newest 50 spans": _latencies(api, [f"{OBS}/services/{service}/spans?limit=50"], repeats),
            "services": _latencies(api, [f"{OBS}/services"], repeats),
        }
        api.close()
        return results
    finally:
        stack.stop()


def _requests(work: Path, config: Any, moto: MotoServer, traces: list[str]) -> dict[str, dict[str, float]]:
    """Requests per query to the bucket, each query asked twice before (warm)."""
    proxy = RecordingS3Proxy(moto.port)
    env = {**service_env(config), "AWS_ENDPOINT_URL": proxy.endpoint}
    stack = Stack(work, extra_env={"INDEXER_POLL_INTERVAL": "3600", **env})
    sizes = {config.key(config.relative(f.location)): f.size_bytes for f in ObjectColdFiles(config).scan()}
    try:
        start_ingestion(stack, work / "logs")
        start_backend(stack, work / "logs")
        api = ApiClient(stack.http_url, timeout=300)
        api.create_first_user()
        api.http.post("/api/admin/flush-wal")
        service = SERVICES[0]
        queries = {
            "one trace": [f"{OBS}/traces/{t}/spans" for t in traces[:5]],
            "newest 50 root spans": [f"{OBS}/services/{service}/spans/root?limit=50"],
            "newest 50 spans": [f"{OBS}/services/{service}/spans?limit=50"],
        }
        counts = {}
        for name, paths in queries.items():
            for _ in range(2):
                for path in paths:
                    api.http.get(path).raise_for_status()
            proxy.take()
            for path in paths:
                api.http.get(path).raise_for_status()
            taken = proxy.take()
            footer = sum(r.reads_footer_of(k, n) for r in taken for k, n in sizes.items())
            counts[name] = {
                "footer GETs": footer / len(paths),
                "GETs": sum(r.method == "GET" for r in taken) / len(paths),
                "HEADs": sum(r.method == "HEAD" for r in taken) / len(paths),
            }
        api.close()
        return counts
    finally:
        stack.stop()
        proxy.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=40)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-objstore-"))
    moto = MotoServer(work / "moto.log").start()
    try:
        one, factory = _ingest(work / "one", moto, 1, args.spans)
        two, _ = _ingest(work / "two", moto, 2, args.spans)
        print("\n| ingesters | spans | acknowledged spans/s | uploaded + indexed spans/s | objects | MB |")
        print("|---|---|---|---|---|---|")
        for r in (one, two):
            print(
                f"| {r['ingesters']} | {r['spans']:,} | {r['acknowledged_per_s']:,} | "
                f"{r['uploaded_per_s']:,} | {r['objects']} | {r['mb']} |"
            )

        config = one["config"]
        local = work / "local"
        _copy_bucket(config, local / "spans" / "parquet")
        traces = factory.sample_traces
        on_disk = _query(local, {}, traces, args.repeats)
        in_bucket = _query(work / "bucket", service_env(config), traces, args.repeats)
        print(f"\nQueries over {one['spans']:,} spans ({one['objects']} files, {one['mb']} MB)")
        print("| query | local p50 | local p95 | bucket p50 | bucket p95 |\n|---|---|---|---|---|")
        for name, local_ms in on_disk.items():
            remote = in_bucket[name]
            print(f"| {name} | {local_ms['p50']} | {local_ms['p95']} | {remote['p50']} | {remote['p95']} |")
        counted = _requests(work / "counted", config, moto, traces)
        print("\nRequests to the bucket per query (warm)")
        print("| query | footer GETs | GETs | HEADs |\n|---|---|---|---|")
        for name, c in counted.items():
            print(f"| {name} | {c['footer GETs']:g} | {c['GETs']:g} | {c['HEADs']:g} |")
    finally:
        moto.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
