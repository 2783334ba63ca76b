"""Ingestion settings from the environment (CONTRACT §4: the variable names are the contract).

Like the backend, `python -m ingestion` also reads a `.env` file in the working directory (the
project root); real environment variables win over it. Every bad value stops the service at
start with one line naming the variable (SettingsError). Paths default to `./.dbdata/spans/...`
like `make run`; containers set absolute paths.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from junjo_common.dotenv import read_env_file
from junjo_common.env_example import PLACEHOLDER_MESSAGE, is_placeholder
from junjo_common.internal_token import resolve_internal_token


class SettingsError(ValueError):
    """One bad environment variable; the message starts with its name."""


@dataclass(frozen=True)
class Settings:
    otlp_port: int
    internal_port: int
    backend_host: str
    backend_port: int
    wal_dir: Path
    snapshot_path: Path
    parquet_dir: Path
    batch_size: int
    flush_max_bytes: int
    flush_max_age_secs: float
    backpressure_max_bytes: int
    backpressure_max_rss_bytes: int
    recent_cold_max_files: int
    recent_cold_max_age_secs: float
    snapshot_cache_ttl_secs: float
    internal_token: str
    log_level: str
    log_format: str
    otlp_max_receive_bytes: int
    wal_segment_max_bytes: int
    api_key_cache_ttl_secs: float
    api_key_cache_max_entries: int
    api_key_validation_max_concurrency: int
    api_key_validation_timeout_secs: float


def _int(env: Mapping[str, str], name: str, default: int, lo: int, hi: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None
    if not lo <= value <= hi:
        raise SettingsError(f"{name} must be between {lo} and {hi}, got {value}")
    return value


def _port(env: Mapping[str, str], name: str, default: int) -> int:
    return _int(env, name, default, 1, 65535)


def _path(env: Mapping[str, str], name: str, default: str) -> Path:
    raw = env.get(name, "").strip() or default
    if "\x00" in raw:
        raise SettingsError(f"{name} is not a valid path")
    return Path(raw).expanduser().resolve()


def _choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    raw = (env.get(name, "").strip() or default).lower()
    if raw not in choices:
        raise SettingsError(f"{name} must be one of {'|'.join(choices)}, got {raw!r}")
    return raw


MB = 1024 * 1024


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Reads and validates every ingestion variable; raises SettingsError on the first bad one."""
    if env is None:
        env = {**read_env_file(Path(".env")), **os.environ}
    for name in ("JUNJO_INTERNAL_GRPC_TOKEN", "JUNJO_SESSION_SECRET"):
        if env.get(name, "").strip() and is_placeholder(env[name]):
            raise SettingsError(f"{name} {PLACEHOLDER_MESSAGE}")
    token_explicit = env.get("JUNJO_INTERNAL_GRPC_TOKEN", "").strip()
    if token_explicit and len(token_explicit) < 32:
        raise SettingsError("JUNJO_INTERNAL_GRPC_TOKEN must be at least 32 characters")
    try:
        token = resolve_internal_token(token_explicit, env.get("JUNJO_SESSION_SECRET", "").strip())
    except ValueError as exc:
        raise SettingsError(str(exc)) from None
    settings = Settings(
        otlp_port=_port(env, "OTLP_GRPC_PORT", 50051),
        internal_port=_port(env, "INTERNAL_GRPC_PORT", 50052),
        backend_host=env.get("BACKEND_GRPC_HOST", "").strip() or "localhost",
        backend_port=_port(env, "BACKEND_GRPC_PORT", 50053),
        wal_dir=_path(env, "WAL_DIR", ".dbdata/spans/wal"),
        snapshot_path=_path(env, "SNAPSHOT_PATH", ".dbdata/spans/hot_snapshot.parquet"),
        parquet_dir=_path(env, "PARQUET_OUTPUT_DIR", ".dbdata/spans/parquet"),
        batch_size=_int(env, "BATCH_SIZE", 1000, 1, 1_000_000),
        flush_max_bytes=_int(env, "FLUSH_MAX_MB", 25, 1, 4096) * MB,
        flush_max_age_secs=_int(env, "FLUSH_MAX_AGE_SECS", 3600, 1, 30 * 86400),
        backpressure_max_bytes=_int(env, "BACKPRESSURE_MAX_MB", 250, 1, 1 << 20) * MB,
        # Own name: the process-memory limit (the container's mem_limit is 256m).
        backpressure_max_rss_bytes=_int(env, "BACKPRESSURE_MAX_RSS_MB", 220, 32, 1 << 20) * MB,
        recent_cold_max_files=_int(env, "RECENT_COLD_MAX_FILES", 20, 0, 10_000),
        recent_cold_max_age_secs=_int(env, "RECENT_COLD_MAX_AGE_SECS", 120, 0, 86400),
        snapshot_cache_ttl_secs=_int(env, "PREPARE_HOT_SNAPSHOT_CACHE_TTL_MS", 1000, 0, 600_000) / 1000,
        internal_token=token,
        log_level=_choice(env, "JUNJO_LOG_LEVEL", "info", ("debug", "info", "warn", "warning", "error")),
        log_format=_choice(env, "JUNJO_LOG_FORMAT", "json", ("json", "text")),
        otlp_max_receive_bytes=_int(env, "OTLP_MAX_RECEIVE_MB", 16, 1, 1024) * MB,
        wal_segment_max_bytes=_int(env, "WAL_SEGMENT_MAX_MB", 4, 1, 1024) * MB,
        api_key_cache_ttl_secs=_int(env, "JUNJO_API_KEY_CACHE_TTL_SECONDS", 10, 0, 30),
        api_key_cache_max_entries=_int(env, "JUNJO_API_KEY_CACHE_MAX_ENTRIES", 1024, 1, 10_000),
        api_key_validation_max_concurrency=_int(env, "JUNJO_API_KEY_VALIDATION_MAX_CONCURRENCY", 8, 1, 64),
        api_key_validation_timeout_secs=_int(env, "JUNJO_API_KEY_VALIDATION_TIMEOUT_MS", 2000, 100, 10_000)
        / 1000,
    )
    if settings.otlp_port == settings.internal_port:
        raise SettingsError("INTERNAL_GRPC_PORT must differ from OTLP_GRPC_PORT")
    return settings
