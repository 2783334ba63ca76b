"""Ingestion configuration from the environment, validated once at start.

Every field is read from an environment variable of the same name (the rules both services share
are in junjo_common/settings.py; every variable is listed in docs/CONFIGURATION.md). Sizes are
given in MB and durations in the unit their name says; the properties below convert them for the
code. Paths default to `./.dbdata/spans/...` like `make run`; containers set absolute paths.
`python -m ingestion` turns a ValidationError into one line naming the variable.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Self

from pydantic import Field, model_validator

from junjo_common.settings import AbsolutePath, Port, ServiceSettings

MB = 1024 * 1024


class Settings(ServiceSettings):
    otlp_grpc_port: Port = 50051
    internal_grpc_port: Port = 50052
    backend_grpc_host: str = "localhost"
    backend_grpc_port: Port = 50053

    wal_dir: AbsolutePath = Path(".dbdata/spans/wal")
    snapshot_path: AbsolutePath = Path(".dbdata/spans/hot_snapshot.parquet")
    parquet_output_dir: AbsolutePath = Path(".dbdata/spans/parquet")

    batch_size: Annotated[int, Field(ge=1, le=1_000_000)] = 1000
    flush_max_mb: Annotated[int, Field(ge=1, le=4096)] = 25
    flush_max_age_secs: Annotated[int, Field(ge=1, le=30 * 86400)] = 3600
    backpressure_max_mb: Annotated[int, Field(ge=1, le=1 << 20)] = 250
    # A limit on the process's memory, below the container's mem_limit.
    backpressure_max_rss_mb: Annotated[int, Field(ge=32, le=1 << 20)] = 220
    recent_cold_max_files: Annotated[int, Field(ge=0, le=10_000)] = 20
    recent_cold_max_age_secs: Annotated[int, Field(ge=0, le=86400)] = 120
    prepare_hot_snapshot_cache_ttl_ms: Annotated[int, Field(ge=0, le=600_000)] = 1000
    otlp_max_receive_mb: Annotated[int, Field(ge=1, le=1024)] = 16
    wal_segment_max_mb: Annotated[int, Field(ge=1, le=1024)] = 4

    junjo_api_key_cache_ttl_seconds: Annotated[int, Field(ge=0, le=30)] = 10
    junjo_api_key_cache_max_entries: Annotated[int, Field(ge=1, le=10_000)] = 1024
    junjo_api_key_validation_max_concurrency: Annotated[int, Field(ge=1, le=64)] = 8
    junjo_api_key_validation_timeout_ms: Annotated[int, Field(ge=100, le=10_000)] = 2000

    @model_validator(mode="after")
    def _check_ports(self) -> Self:
        if self.otlp_grpc_port == self.internal_grpc_port:
            raise ValueError("INTERNAL_GRPC_PORT: must differ from OTLP_GRPC_PORT")
        return self

    @property
    def backend_target(self) -> str:
        """host:port of the backend's internal gRPC server (ValidateApiKey)."""
        return f"{self.backend_grpc_host}:{self.backend_grpc_port}"

    @property
    def flush_max_bytes(self) -> int:
        return self.flush_max_mb * MB

    @property
    def backpressure_max_bytes(self) -> int:
        return self.backpressure_max_mb * MB

    @property
    def backpressure_max_rss_bytes(self) -> int:
        return self.backpressure_max_rss_mb * MB

    @property
    def otlp_max_receive_bytes(self) -> int:
        return self.otlp_max_receive_mb * MB

    @property
    def wal_segment_max_bytes(self) -> int:
        return self.wal_segment_max_mb * MB

    @property
    def snapshot_cache_ttl_secs(self) -> float:
        return self.prepare_hot_snapshot_cache_ttl_ms / 1000

    @property
    def api_key_validation_timeout_secs(self) -> float:
        return self.junjo_api_key_validation_timeout_ms / 1000
