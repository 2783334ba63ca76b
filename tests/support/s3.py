"""An S3 API server on loopback for tests: moto's server mode, in its own process on a free port.

One server per test session (started on first use, stopped at the end); each test gets its own
bucket, so tests never see each other's objects.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from junjo_common.object_store import ObjectStoreConfig
from tests.support.procs import ServiceProcess, free_port, port_open

ACCESS_KEY_ID = "testing"
SECRET_ACCESS_KEY = "testing-secret"  # moto accepts any credentials
REGION = "us-east-1"
_buckets = itertools.count(1)


class MotoServer:
    def __init__(self, log_path: Path) -> None:
        self.port = free_port()
        self.process = ServiceProcess(
            "moto.server", {}, log_path, args=["-H", "127.0.0.1", "-p", str(self.port)]
        )

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> MotoServer:
        self.process.start().wait_until(lambda: port_open(self.port), timeout=30)
        return self

    def stop(self) -> None:
        self.process.stop(timeout=10)

    def create_bucket(self, name: str | None = None) -> str:
        name = name or f"bucket-{next(_buckets)}"
        httpx.put(f"{self.endpoint}/{name}", timeout=10).raise_for_status()
        return name

    def config(self, bucket: str, prefix: str = "spans", endpoint: str | None = None) -> ObjectStoreConfig:
        return ObjectStoreConfig(
            bucket=bucket,
            prefix=prefix,
            endpoint=endpoint or self.endpoint,
            region=REGION,
            access_key_id=ACCESS_KEY_ID,
            secret_access_key=SECRET_ACCESS_KEY,
        )


def service_env(config: ObjectStoreConfig) -> dict[str, str]:
    """The environment a service reads the same bucket from."""
    url = f"s3://{config.bucket}/{config.prefix}" if config.prefix else f"s3://{config.bucket}"
    return {
        "JUNJO_OBJECT_STORE_URL": url,
        "AWS_ENDPOINT_URL": config.endpoint or "",
        "AWS_REGION": config.region,
        "AWS_ACCESS_KEY_ID": config.access_key_id or "",
        "AWS_SECRET_ACCESS_KEY": config.secret_access_key or "",
    }


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    server = MotoServer(tmp_path_factory.mktemp("moto") / "moto.log").start()
    try:
        yield server
    finally:
        server.stop()
