"""The cold tier's bucket in the services' health: a bucket that stops answering (a proxy in front
of the S3 server refusing connections) turns ingestion's grpc.health.v1 `cold_storage` service
NOT_SERVING and the backend's /health "degraded" within seconds, while spans are still taken and
served from the hot tier; both turn back by themselves once it answers again."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from junjo.studio import StudioClient
from opentelemetry.sdk.trace import TracerProvider

from backend.index.cold import ObjectColdFiles
from ingestion.healthcheck import COLD_STORAGE_SERVICE, check
from junjo_common.bucket_health import FAILING_PROBE_INTERVAL_SECS, PROBE_INTERVAL_SECS, BucketHealth
from tests.support.api import OBS, ApiClient
from tests.support.otel import exporting_provider, trace_id_hex
from tests.support.polling import wait_for
from tests.support.procs import ROOT
from tests.support.s3 import MotoServer, service_env
from tests.support.s3_requests import RecordingS3Proxy
from tests.support.stack import Stack, internal_token, start_backend, start_ingestion

# a change is seen by the next probe: at most one interval plus the probe's own timeouts
NOTICED_WITHIN = PROBE_INTERVAL_SECS + 10


def test_a_probe_follows_the_bucket(moto_server: MotoServer) -> None:
    proxy = RecordingS3Proxy(moto_server.port)
    changes: list[bool] = []

    async def record(reachable: bool) -> None:
        changes.append(reachable)

    bucket = BucketHealth(moto_server.config(moto_server.create_bucket(), "spans", proxy.endpoint), record)

    async def main() -> None:
        assert await bucket.probe() and bucket.error is None
        assert [(r.method, r.key) for r in proxy.take()] == [("GET", "")]  # one LIST, no object read
        proxy.refuse()
        started = time.monotonic()
        assert not await bucket.probe()
        assert time.monotonic() - started < 10  # no retries
        assert not bucket.reachable and bucket.error
        assert not await bucket.probe()  # still down: reported once
        proxy.accept()
        assert await bucket.probe() and bucket.reachable and bucket.error is None

    try:
        asyncio.run(main())
    finally:
        proxy.close()
    assert changes == [False, True]


def test_a_missing_bucket_is_unreachable(moto_server: MotoServer) -> None:
    bucket = BucketHealth(moto_server.config("no-such-bucket"))
    assert not asyncio.run(bucket.probe())
    assert bucket.error


@dataclass
class Services:
    stack: Stack
    proxy: RecordingS3Proxy
    api: ApiClient
    key: str
    files: ObjectColdFiles

    def cold_storage(self) -> tuple[bool, str]:
        address = f"127.0.0.1:{self.stack.internal_port}"
        return check(address, 2.0, internal_token(self.stack), COLD_STORAGE_SERVICE)

    def overall_serving(self) -> bool:
        return check(f"127.0.0.1:{self.stack.internal_port}", 2.0, internal_token(self.stack))[0]

    def health(self) -> dict[str, str]:
        return httpx.get(f"{self.stack.http_url}/health", timeout=5).json()  # type: ignore[no-any-return]

    def ready(self) -> httpx.Response:
        return httpx.get(f"{self.stack.http_url}/ready", timeout=5)

    def probe_cli(self) -> subprocess.CompletedProcess[str]:
        """The container healthcheck command, with the service's own environment."""
        return subprocess.run(
            [sys.executable, "-m", "ingestion.healthcheck", f"-addr=127.0.0.1:{self.stack.internal_port}"],
            cwd=ROOT,
            env=self.stack.env(),
            capture_output=True,
            text=True,
            timeout=60,
        )


@pytest.fixture
def services(moto_server: MotoServer, tmp_path: Path) -> Iterator[Services]:
    proxy = RecordingS3Proxy(moto_server.port)
    config = moto_server.config(moto_server.create_bucket(), "spans", proxy.endpoint)
    stack = Stack(tmp_path, extra_env={"INDEXER_POLL_INTERVAL": "1", **service_env(config)})
    try:
        start_ingestion(stack, tmp_path / "logs")
        start_backend(stack, tmp_path / "logs")
        with ApiClient(stack.http_url) as api:
            api.create_first_user()
            yield Services(stack, proxy, api, api.create_api_key("health"), ObjectColdFiles(config))
    finally:
        stack.stop()
        proxy.close()


def _send_one_span(services: Services, name: str) -> str:
    provider: TracerProvider = exporting_provider("bucket-health", services.stack.otlp_endpoint, services.key)
    with provider.get_tracer("t").start_as_current_span(name) as span:
        trace_id = trace_id_hex(span)
    provider.shutdown()
    return trace_id


def _studio_health(services: Services) -> str:
    async def main() -> str:
        async with StudioClient(base_url=services.stack.http_url) as client:
            return (await client.get_health()).status

    return asyncio.run(main())


def test_an_unreachable_bucket_shows_in_health_and_recovers(services: Services) -> None:
    assert services.cold_storage() == (True, f"127.0.0.1:{services.stack.internal_port}: SERVING")
    assert services.health()["status"] == "ok"
    assert services.ready().json() == {"status": "ok", "database": "ok", "cold_storage": "ok"}
    assert services.probe_cli().returncode == 0

    services.proxy.refuse()
    cut = time.monotonic()
    wait_for(lambda: not services.cold_storage()[0], timeout=NOTICED_WITHIN, interval=0.2)
    wait_for(lambda: services.health()["status"] == "degraded", timeout=NOTICED_WITHIN, interval=0.2)
    print(f"health degraded {time.monotonic() - cut:.1f} s after the bucket went away")
    assert services.cold_storage()[1].endswith("NOT_SERVING")
    ready = services.ready()
    assert ready.status_code == 200
    assert ready.json() == {"status": "degraded", "database": "ok", "cold_storage": "unreachable"}
    assert _studio_health(services) == "degraded"  # junjo's closed model still reads it
    probe = services.probe_cli()
    assert probe.returncode == 1 and "cold_storage: NOT_SERVING" in probe.stderr, probe

    # ingestion still takes spans (into the WAL) and the backend serves them from the hot tier
    assert services.overall_serving()
    trace_id = _send_one_span(services, "while the bucket is away")
    spans = services.api.http.get(f"{OBS}/traces/{trace_id}/spans").json()
    assert [s["name"] for s in spans] == ["while the bucket is away"]

    services.proxy.accept()
    back = time.monotonic()
    wait_for(lambda: services.cold_storage()[0], timeout=FAILING_PROBE_INTERVAL_SECS + 10, interval=0.2)
    wait_for(
        lambda: services.health()["status"] == "ok", timeout=FAILING_PROBE_INTERVAL_SECS + 10, interval=0.2
    )
    print(f"health ok {time.monotonic() - back:.1f} s after the bucket came back")
    assert services.ready().json()["cold_storage"] == "ok"
    assert services.probe_cli().returncode == 0
    assert services.api.http.post("/api/admin/flush-wal").json()["success"]  # uploaded now
    assert services.files.scan()
    spans = services.api.http.get(f"{OBS}/traces/{trace_id}/spans").json()
    assert [s["name"] for s in spans] == ["while the bucket is away"]
