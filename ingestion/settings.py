"""Ingestion configuration from the environment, validated once at start.

Every field is read from an environment variable of the same name (the rules both services share
are in junjo_common/settings.py; docs/CONFIGURATION.md says how they are read). Sizes are
given in MB and durations in the unit their name says; the properties below convert them for the
code. Paths default to `./.dbdata/spans/...` like `make run`; containers set absolute paths.
`python -m ingestion` turns a ValidationError into one line naming the variable.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import Field, field_validator, model_validator
from pydantic_settings import NoDecode

from junjo_common.object_store import ObjectStoreSettings
from junjo_common.origins import default_origins, parse_origins
from junjo_common.settings import AbsolutePath, Port, ServiceSettings

MB = 1024 * 1024


class Settings(ServiceSettings, ObjectStoreSettings):
    """With JUNJO_OBJECT_STORE_URL, PARQUET_OUTPUT_DIR holds each flushed file only until its
    upload to the bucket is confirmed."""

    otlp_grpc_port: Port = 50051
    otlp_http_port: Port = 4318
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
    junjo_api_key_invalid_cache_ttl_seconds: Annotated[int, Field(ge=0, le=60)] = 5
    junjo_api_key_invalid_cache_max_entries: Annotated[int, Field(ge=1, le=100_000)] = 4096

    # Hostile-input limits (README "Limits"): work and memory bounded by the bytes received.
    otlp_max_concurrent_rpcs: Annotated[int, Field(ge=1, le=10_000)] = 64
    otlp_max_attribute_value_bytes: Annotated[int, Field(ge=64, le=1 << 30)] = 1 * MB
    otlp_max_attributes_per_span: Annotated[int, Field(ge=1, le=1_000_000)] = 1024
    otlp_max_events_per_span: Annotated[int, Field(ge=0, le=1_000_000)] = 1024
    otlp_max_span_bytes: Annotated[int, Field(ge=1024, le=1 << 30)] = 8 * MB
    otlp_max_resource_bytes_x_spans: Annotated[int, Field(ge=1024, le=1 << 40)] = 64 * MB

    # OTLP/HTTP: JSON is parsed into Python objects (many times its size), so its cap is lower.
    otlp_http_max_json_mb: Annotated[int, Field(ge=1, le=1024)] = 4
    otlp_http_max_inflight_mb: Annotated[int, Field(ge=1, le=1 << 20)] = 64
    # Browser origins allowed to POST /v1/traces (CORS); unset: the backend's JUNJO_ALLOW_ORIGINS list.
    otlp_http_allow_origins: Annotated[list[str] | None, NoDecode] = None
    junjo_allow_origins: Annotated[list[str] | None, NoDecode] = None
    junjo_env: Literal["development", "production"] = "development"
    junjo_prod_frontend_url: str | None = None

    @field_validator("otlp_http_allow_origins", "junjo_allow_origins", mode="before")
    @classmethod
    def _parse_origins(cls, value: object) -> list[str] | None:
        return parse_origins(value)

    @model_validator(mode="after")
    def _check_ports(self) -> Self:
        if self.otlp_grpc_port == self.internal_grpc_port:
            raise ValueError("INTERNAL_GRPC_PORT: must differ from OTLP_GRPC_PORT")
        if self.otlp_http_port in (self.otlp_grpc_port, self.internal_grpc_port):
            raise ValueError("OTLP_HTTP_PORT: must differ from OTLP_GRPC_PORT and INTERNAL_GRPC_PORT")
        if self.otlp_http_max_inflight_mb < self.otlp_max_receive_mb:
            # else one largest request could never be taken: 429 for ever
            raise ValueError("OTLP_HTTP_MAX_INFLIGHT_MB: must be at least OTLP_MAX_RECEIVE_MB")
        try:
            self.browser_origins  # noqa: B018  (a bad JUNJO_PROD_FRONTEND_URL stops the start)
        except ValueError as exc:
            raise ValueError(f"JUNJO_PROD_FRONTEND_URL: {exc}") from None
        return self

    @property
    def browser_origins(self) -> list[str]:
        """CORS allow-list of OTLP/HTTP: its own list, else the backend's (same defaults)."""
        production = self.junjo_env == "production"
        return (
            self.otlp_http_allow_origins
            or self.junjo_allow_origins
            or default_origins(production, self.junjo_prod_frontend_url)
        )

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
    def otlp_http_max_json_bytes(self) -> int:
        return self.otlp_http_max_json_mb * MB

    @property
    def otlp_http_max_inflight_bytes(self) -> int:
        return self.otlp_http_max_inflight_mb * MB

    @property
    def wal_segment_max_bytes(self) -> int:
        return self.wal_segment_max_mb * MB

    @property
    def snapshot_cache_ttl_secs(self) -> float:
        return self.prepare_hot_snapshot_cache_ttl_ms / 1000

    @property
    def api_key_validation_timeout_secs(self) -> float:
        return self.junjo_api_key_validation_timeout_ms / 1000
