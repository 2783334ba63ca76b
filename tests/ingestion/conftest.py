"""Fixtures for process-level ingestion tests: one real backend per module, ingestion per test.

The backend (`python -m backend`, ~10 s to start) is shared by a module's tests: it only
validates API keys. Each test gets its own `python -m ingestion` with its own data directory
and ports, pointed at that backend, so WALs and Parquet files never mix between tests.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

from junjo_common.internal_token import call_metadata
from junjo_common.proto_gen import ingestion_pb2, ingestion_pb2_grpc
from junjo_common.spanformat import v1
from tests.support.api import ApiClient
from tests.support.procs import ServiceProcess, free_port
from tests.support.stack import Stack, internal_token, start_backend, start_ingestion


@dataclasses.dataclass
class Backend:
    stack: Stack
    api: ApiClient
    key: str


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    data = tmp_path_factory.mktemp("backend")
    stack = Stack(data)
    try:
        start_backend(stack, data / "logs")
        api = ApiClient(stack.http_url)
        api.create_first_user()
        yield Backend(stack, api, api.create_api_key("ingestion tests"))
        api.close()
    finally:
        stack.stop()


class Ingestion:
    """One ingestion process (restartable) with clients for its public and internal ports."""

    def __init__(self, backend: Backend, data: Path, extra_env: dict[str, str]) -> None:
        self.stack = dataclasses.replace(
            backend.stack,
            data_dir=data,
            otlp_port=free_port(),
            otlp_http_port=free_port(),
            internal_port=free_port(),
            extra_env=extra_env,
            backend=None,
            ingestion=None,
        )
        self.key = backend.key
        self.data = data
        self.token = internal_token(self.stack)
        self.proc: ServiceProcess | None = None
        self._channels: list[grpc.Channel] = []

    @property
    def env(self) -> dict[str, str]:
        return self.stack.env()

    def start(self) -> Ingestion:
        self.proc = start_ingestion(self.stack, self.data / "logs")
        return self

    def channel(self, **options: Any) -> grpc.Channel:
        ch = grpc.insecure_channel(self.stack.otlp_endpoint, options=list(options.items()))
        self._channels.append(ch)
        return ch

    def export(
        self,
        request: trace_service_pb2.ExportTraceServiceRequest,
        key: str | None = None,
        timeout: float = 30.0,
        **call: Any,
    ) -> trace_service_pb2.ExportTraceServiceResponse:
        stub = trace_service_pb2_grpc.TraceServiceStub(self.channel())
        metadata = () if key == "" else (("x-junjo-api-key", key or self.key),)
        return stub.Export(request, metadata=metadata, timeout=timeout, **call)

    def internal(self) -> ingestion_pb2_grpc.InternalIngestionServiceStub:
        ch = grpc.insecure_channel(f"127.0.0.1:{self.stack.internal_port}")
        self._channels.append(ch)
        return ingestion_pb2_grpc.InternalIngestionServiceStub(ch)

    def flush(self) -> None:
        reply = self.internal().FlushWAL(
            ingestion_pb2.FlushWALRequest(), metadata=call_metadata(self.token), timeout=120
        )
        assert reply.success, reply.error_message

    def snapshot(self) -> ingestion_pb2.PrepareHotSnapshotResponse:
        reply = self.internal().PrepareHotSnapshot(
            ingestion_pb2.PrepareHotSnapshotRequest(), metadata=call_metadata(self.token), timeout=60
        )
        assert reply.success, reply.error_message
        return reply

    def parquet_files(self) -> list[Path]:
        root = Path(self.env["PARQUET_OUTPUT_DIR"])
        return sorted(root.rglob("*.parquet")) if root.exists() else []

    def cold_table(self, columns: list[str]) -> pa.Table:
        tables = [pq.read_table(p, columns=columns) for p in self.parquet_files()]
        return pa.concat_tables(tables) if tables else pa.table({c: [] for c in columns})

    def stored_table(self, columns: list[str] | None = None) -> pa.Table:
        """Every stored row as the backend would see it while ingestion keeps flushing.

        Cold files listed *before* PrepareHotSnapshot, plus the recent cold files it reports
        (a file flushed in between is there), plus the hot snapshot (consistent with that list).
        Timestamps are left out by default: without pandas, pyarrow cannot turn nanosecond
        timestamps into Python values.
        """
        columns = columns or [c for c in v1.COLUMNS if c not in ("start_time", "end_time")]
        cold = {str(p) for p in self.parquet_files()}
        snap = self.snapshot()
        cold |= set(snap.recent_cold_paths)
        tables = [pq.read_table(p, columns=columns) for p in sorted(cold)]
        if snap.snapshot_path:
            tables.append(pq.read_table(snap.snapshot_path, columns=columns))
        return pa.concat_tables(tables) if tables else pa.table({c: [] for c in columns})

    def close(self) -> None:
        for ch in self._channels:
            ch.close()
        self._channels.clear()
        if self.proc is not None:
            self.proc.kill()


@pytest.fixture
def ingestion_factory(backend: Backend, tmp_path: Path) -> Iterator[Callable[..., Ingestion]]:
    made: list[Ingestion] = []

    def make(**extra_env: str) -> Ingestion:
        ing = Ingestion(backend, tmp_path / f"ingestion{len(made)}", dict(extra_env))
        made.append(ing)
        return ing

    yield make
    for ing in made:
        ing.close()
