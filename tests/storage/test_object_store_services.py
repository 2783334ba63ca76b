"""The cold tier on object storage with real processes: two ingesters and two backends sharing a
bucket on a moto server, one PostgreSQL (users, sessions, keys, the file index) and no disk (each
ingester its own PARQUET_OUTPUT_DIR, the hot tiers over gRPC), spans sent with the Junjo SDK and
the OpenTelemetry exporter to both ingesters, one trace's spans split over both, every span seen
through both backends; then an ingester SIGKILLed in the middle of an upload.

The indexer's poll is an hour: the hot tiers and the flush-wal endpoint make spans visible.
"""

from __future__ import annotations

import signal
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from opentelemetry import trace

from backend.index.cold import ObjectColdFiles
from tests.support.api import OBS, ApiClient
from tests.support.otel import exporting_provider
from tests.support.polling import poll
from tests.support.postgres import PostgresServer
from tests.support.procs import run_sender
from tests.support.s3 import MotoServer, service_env
from tests.support.stack import (
    ExtraIngester,
    Stack,
    start_backend,
    start_extra_ingester,
    start_ingestion,
)
from tests.support.tcp_proxy import TcpProxy

SERVICE = "bucket-service"
JUNJO_SERVICE = "bucket-junjo"


@dataclass
class Cluster:
    stack: Stack
    second: ExtraIngester
    api: ApiClient
    other_backend: ApiClient  # the second backend, signed in with the same session cookie
    key: str
    bucket: ObjectColdFiles
    moto: MotoServer

    def get(self, path: str, on: ApiClient | None = None, **params: Any) -> Any:
        response = (on or self.api).http.get(path, params=params)
        assert response.status_code == 200, response.text
        assert "X-Junjo-Degraded" not in response.headers
        return response.json()

    def trace_span_ids(self, trace_id: str, on: ApiClient | None = None) -> list[str]:
        return sorted(s["span_id"] for s in self.get(f"{OBS}/traces/{trace_id}/spans", on))

    def on_both(self, trace_id: str) -> list[str]:
        """The trace's span ids, the same through both backends (or an empty list)."""
        first, second = self.trace_span_ids(trace_id), self.trace_span_ids(trace_id, self.other_backend)
        return first if first == second else []

    def flush(self) -> dict[str, Any]:
        response = self.api.http.post("/api/admin/flush-wal")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        assert body["success"] is True, body
        return body

    def objects(self) -> list[str]:
        return [f.location for f in self.bucket.scan()]

    def span_ids_in_bucket(self) -> Counter[str]:
        counts: Counter[str] = Counter()
        for location in self.objects():
            table = pq.read_table(self.bucket.open(location), columns=["span_id"])
            counts.update(table["span_id"].to_pylist())
        return counts

    def local_parquet(self) -> list[Path]:
        return sorted(self.stack.data_dir.rglob("*.parquet"))

    def send_split_trace(self, children: int) -> tuple[str, set[str]]:
        """One trace through the OTel exporter: the root and even children to the first ingester,
        odd children to the second (as a round-robin load balancer spreads them)."""
        first = exporting_provider(SERVICE, self.stack.otlp_endpoint, self.key)
        second = exporting_provider(SERVICE, self.second.otlp_endpoint, self.key)
        ids: set[str] = set()
        with first.get_tracer("split").start_as_current_span("root") as root:
            trace_id = f"{root.get_span_context().trace_id:032x}"
            ids.add(f"{root.get_span_context().span_id:016x}")
            parent = trace.set_span_in_context(root)
            for i in range(children):
                provider = (first, second)[i % 2]
                tracer = provider.get_tracer("split")
                with tracer.start_as_current_span(f"child {i}", context=parent) as child:
                    ids.add(f"{child.get_span_context().span_id:016x}")
        first.shutdown()
        second.shutdown()
        return trace_id, ids

    def send_junjo(self, otlp_endpoint: str) -> dict[str, Any]:
        """One Junjo SDK workflow run (JunjoOtelExporter) to the given ingester."""
        return run_sender(  # type: ignore[no-any-return]
            "tests.support.junjo_demo",
            otlp_endpoint,
            self.key,
            JUNJO_SERVICE,
            "--app",
            "tests.query.junjo_app:run_workflow",
        )


@pytest.fixture(scope="module")
def cluster(
    moto_server: MotoServer, postgres_server: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    data = tmp_path_factory.mktemp("bucket-cluster")
    config = moto_server.config(moto_server.create_bucket(), prefix="junjo/spans")
    shared = {
        "INDEXER_POLL_INTERVAL": "3600",
        "FLUSH_MAX_AGE_SECS": "3600",
        "JUNJO_DATABASE_URL": postgres_server.create_database(),
        **service_env(config),
    }
    stack = Stack(data, extra_env=shared)
    other = Stack(data / "backend-2", session_secret=stack.session_secret, cookie_key=stack.cookie_key)
    try:
        start_ingestion(stack, data / "logs")
        own = data / "ingestion-2"
        second = start_extra_ingester(
            stack, "ingestion-2", data / "logs", env={"PARQUET_OUTPUT_DIR": str(own / "parquet")}
        )
        readers = {"INGESTION_TARGETS": stack.ingestion_targets, "HOT_TIER_TRANSFER": "stream"}
        stack.backend_env = readers
        start_backend(stack, data / "logs")
        other.extra_env, other.backend_env = shared, readers
        start_backend(other, data / "logs-2")
        api = ApiClient(stack.http_url)
        api.create_first_user()
        other_backend = ApiClient(other.http_url)
        other_backend.http.cookies.set("session", api.http.cookies["session"])
        key = api.create_api_key("bucket")
        yield Cluster(stack, second, api, other_backend, key, ObjectColdFiles(config), moto_server)
        api.close()
        other_backend.close()
    finally:
        stack.stop()
        other.stop()


def test_two_ingesters_share_a_bucket_and_the_backend_sees_every_span_once(cluster: Cluster) -> None:
    trace_id, split = cluster.send_split_trace(children=9)
    endpoints = (cluster.stack.otlp_endpoint, cluster.second.otlp_endpoint)
    junjo = [cluster.send_junjo(endpoint) for endpoint in endpoints]
    junjo_ids = {s for run in junjo for s in run["span_ids"]}

    # Unflushed: from both ingesters' hot tiers, streamed over gRPC (no file shared), on both backends.
    assert poll(lambda: cluster.on_both(trace_id), lambda ids: set(ids) == split) == sorted(split)
    for run in junjo:
        seen = poll(
            lambda run=run: cluster.on_both(run["trace_id"]), lambda ids, run=run: len(ids) == run["spans"]
        )
        assert set(seen) == set(run["span_ids"])
    assert cluster.local_parquet() == []

    cluster.flush()  # both ingesters upload, then the backend indexes the bucket
    objects = cluster.objects()
    ingester_ids = {location.rsplit("_", 1)[1].removesuffix(".parquet") for location in objects}
    assert len(ingester_ids) == 2 and all("/junjo/spans/year=" in o for o in objects)
    assert cluster.local_parquet() == []  # the local copies went after the confirmed uploads
    in_bucket = cluster.span_ids_in_bucket()
    assert split | junjo_ids <= set(in_bucket) and max(in_bucket.values()) == 1

    for backend in (cluster.api, cluster.other_backend):  # whole, no duplicates across tiers
        assert cluster.trace_span_ids(trace_id, backend) == sorted(split)
        for run in junjo:
            assert cluster.trace_span_ids(run["trace_id"], backend) == sorted(run["span_ids"])
        listing = cluster.get(f"{OBS}/services/{SERVICE}/spans", backend, limit=100)
        assert sorted(s["span_id"] for s in listing) == sorted(split)
        assert {SERVICE, JUNJO_SERVICE} <= set(cluster.get(f"{OBS}/services", backend))


def test_an_ingester_killed_mid_upload_loses_and_duplicates_nothing(cluster: Cluster, tmp_path: Path) -> None:
    """A third ingester reaches the bucket through a proxy that holds its upload; it is SIGKILLed
    while the upload hangs, then restarted: the upload is repeated under its name, once."""
    proxy = TcpProxy(cluster.moto.port)
    name = "ingestion-killed"
    own = cluster.stack.data_dir / name
    env = {
        "PARQUET_OUTPUT_DIR": str(own / "parquet"),
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{proxy.port}",
        "FLUSH_MAX_AGE_SECS": "1",  # flushes on its own, soon after the spans arrive
    }
    try:
        third = start_extra_ingester(cluster.stack, name, tmp_path, env=env)
        before = set(cluster.objects())
        proxy.pause()
        provider = exporting_provider("killed-service", third.otlp_endpoint, cluster.key)
        sent: set[str] = set()
        with provider.get_tracer("kill").start_as_current_span("root") as root:
            trace_id = f"{root.get_span_context().trace_id:032x}"
            sent.add(f"{root.get_span_context().span_id:016x}")
            for i in range(40):
                with provider.get_tracer("kill").start_as_current_span(f"step {i}") as child:
                    sent.add(f"{child.get_span_context().span_id:016x}")
        provider.shutdown()

        # Staged locally with its intent, the upload hanging in the proxy: kill it there.
        poll(
            lambda: (list((own / "wal").glob("flush-*.intent")), list((own / "parquet").rglob("*.parquet"))),
            lambda found: bool(found[0]) and bool(found[1]),
            deadline=30,
        )
        assert third.proc is not None
        third.proc.signal(signal.SIGKILL)
        assert third.proc.proc is not None and third.proc.proc.wait(10) == -signal.SIGKILL
        assert set(cluster.objects()) == before

        proxy.resume()
        start_extra_ingester(cluster.stack, name, tmp_path, env=env)  # the same WAL, new ports
        new = set(cluster.objects()) - before
        assert len(new) == 1, new
        assert list((own / "wal").glob("flush-*.intent")) == []
        assert list((own / "parquet").rglob("*.parquet")) == []
        uploaded = pq.read_table(cluster.bucket.open(new.pop()), columns=["span_id"])
        assert Counter(uploaded["span_id"].to_pylist()) == Counter(dict.fromkeys(sent, 1))

        cluster.flush()  # indexes the bucket, the restarted ingester's object included
        assert cluster.trace_span_ids(trace_id) == cluster.trace_span_ids(trace_id, cluster.other_backend)
        assert cluster.trace_span_ids(trace_id) == sorted(sent)
        assert max(cluster.span_ids_in_bucket().values()) == 1
    finally:
        proxy.cut()
        for ingester in cluster.stack.extra_ingesters:
            if ingester.name == name and ingester.proc is not None:
                ingester.proc.stop()  # the killed one has exited already
