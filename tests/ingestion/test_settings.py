"""Ingestion's settings: defaults, the `.env` file under real environment variables, refused values,
and the one-line error `python -m ingestion` stops with."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from ingestion.settings import MB, Settings
from junjo_common.settings import describe_error

SECRET = "s" * 40


@pytest.fixture
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory (no `.env`) and no ingestion or shared variable set."""
    monkeypatch.chdir(tmp_path)
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.setenv("JUNJO_SESSION_SECRET", SECRET)
    return tmp_path


def _error(monkeypatch: pytest.MonkeyPatch, **values: str) -> str:
    """The error for `values`; a value the environment cannot hold (a NUL byte) goes via `.env`."""
    for name, value in values.items():
        if "\x00" in value:
            Path(".env").write_text(f"{name}={value}\n")
        else:
            monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as err:
        Settings()
    return describe_error(err.value)


def test_defaults(clean_env: Path) -> None:
    s = Settings()
    assert (s.otlp_grpc_port, s.internal_grpc_port, s.backend_grpc_port) == (50051, 50052, 50053)
    assert s.backend_target == "localhost:50053"
    assert (s.batch_size, s.flush_max_bytes, s.flush_max_age_secs) == (1000, 25 * MB, 3600)
    assert (s.backpressure_max_bytes, s.backpressure_max_rss_bytes) == (250 * MB, 220 * MB)
    assert (s.recent_cold_max_files, s.recent_cold_max_age_secs) == (20, 120)
    assert s.snapshot_cache_ttl_secs == 1.0 and s.junjo_api_key_cache_ttl_seconds == 10
    assert s.api_key_validation_timeout_secs == 2.0
    assert s.wal_dir == clean_env / ".dbdata" / "spans" / "wal"
    assert s.internal_token and s.internal_token != SECRET


def test_env_file_is_read_and_real_environment_wins(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JUNJO_SESSION_SECRET")
    (clean_env / ".env").write_text(
        "# comment\n"
        f'export JUNJO_SESSION_SECRET="{"f" * 40}"\n'
        "OTLP_GRPC_PORT=6000  # the public port\n"
        "FLUSH_MAX_MB=7\n"
        "BATCH_SIZE=\n"
    )
    monkeypatch.setenv("FLUSH_MAX_MB", "9")
    s = Settings()
    assert s.junjo_session_secret is not None and s.junjo_session_secret.get_secret_value() == "f" * 40
    assert s.otlp_grpc_port == 6000  # a trailing comment is not part of the value
    assert s.flush_max_bytes == 9 * MB and s.batch_size == 1000  # empty means unset


@pytest.mark.parametrize("name", ["JUNJO_SESSION_SECRET", "JUNJO_INTERNAL_GRPC_TOKEN"])
def test_example_placeholders_are_refused(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    assert f"{name}: must not be the .env.example placeholder" in _error(
        monkeypatch, **{name: "change-me-run-make-secrets"}
    )


@pytest.mark.parametrize(
    "name,value,reason",
    [
        ("JUNJO_INTERNAL_GRPC_TOKEN", "short", "at least 32 characters"),
        ("OTLP_GRPC_PORT", "70000", "less than or equal to 65535"),
        ("BATCH_SIZE", "many", "valid integer"),
        ("JUNJO_LOG_LEVEL", "verbose", "debug|info|warn|error"),
        ("WAL_DIR", "a\x00b", "not a valid path"),
        ("OTLP_HTTP_PORT", "0", "greater than or equal to 1"),
        ("OTLP_HTTP_ALLOW_ORIGINS", "*", "'*' cannot be used"),
        ("OTLP_HTTP_ALLOW_ORIGINS", "ftp://x", "is not an http(s) origin"),
        ("OTLP_HTTP_MAX_JSON_MB", "big", "valid integer"),
    ],
)
def test_bad_values_name_the_variable(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, name: str, value: str, reason: str
) -> None:
    message = _error(monkeypatch, **{name: value})
    assert message.startswith(f"invalid configuration: {name}: ") and reason in message


def test_otlp_http_defaults_and_origins(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    s = Settings()
    assert (s.otlp_http_port, s.otlp_http_max_json_bytes, s.otlp_http_max_inflight_bytes) == (
        4318,
        4 * MB,
        64 * MB,
    )
    assert s.browser_origins == ["http://localhost:5151", "http://localhost:5153"]
    monkeypatch.setenv("JUNJO_ENV", "production")
    monkeypatch.setenv("JUNJO_PROD_FRONTEND_URL", "https://Junjo.example.com/")
    assert Settings().browser_origins == ["https://junjo.example.com"]
    monkeypatch.setenv("JUNJO_ALLOW_ORIGINS", "https://ui.example.com")
    assert Settings().browser_origins == ["https://ui.example.com"]
    monkeypatch.setenv("OTLP_HTTP_ALLOW_ORIGINS", '["https://app.example.com", "http://localhost:3000"]')
    assert Settings().browser_origins == ["https://app.example.com", "http://localhost:3000"]


def test_ports_must_differ(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    message = _error(monkeypatch, OTLP_HTTP_PORT="7001", OTLP_GRPC_PORT="7001")
    assert message == (
        "invalid configuration: OTLP_HTTP_PORT: must differ from OTLP_GRPC_PORT and INTERNAL_GRPC_PORT"
    )
    monkeypatch.delenv("OTLP_HTTP_PORT")
    message = _error(monkeypatch, OTLP_MAX_RECEIVE_MB="32", OTLP_HTTP_MAX_INFLIGHT_MB="16")
    assert message.endswith("OTLP_HTTP_MAX_INFLIGHT_MB: must be at least OTLP_MAX_RECEIVE_MB")
    monkeypatch.delenv("OTLP_HTTP_MAX_INFLIGHT_MB")
    message = _error(monkeypatch, OTLP_GRPC_PORT="7000", INTERNAL_GRPC_PORT="7000")
    assert message == "invalid configuration: INTERNAL_GRPC_PORT: must differ from OTLP_GRPC_PORT"


def test_a_token_source_is_required(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JUNJO_SESSION_SECRET")
    assert "JUNJO_SESSION_SECRET: is required" in _error(monkeypatch)
    monkeypatch.setenv("JUNJO_INTERNAL_GRPC_TOKEN", "t" * 32)
    assert Settings().internal_token == "t" * 32


def test_bad_configuration_stops_startup_with_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k.lower() not in Settings.model_fields}
    env |= {"JUNJO_SESSION_SECRET": SECRET, "FLUSH_MAX_MB": "0"}
    result = subprocess.run(
        [sys.executable, "-m", "ingestion"],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        "invalid configuration: FLUSH_MAX_MB: Input should be greater than or equal to 1"
    ]
