"""settings.py: defaults, the `.env` file under real environment variables, refused values."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingestion.settings import MB, SettingsError, load_settings
from junjo_common.dotenv import read_env_file

SECRET = {"JUNJO_SESSION_SECRET": "s" * 40}


def test_defaults_follow_the_contract() -> None:
    s = load_settings(SECRET)
    assert (s.otlp_port, s.internal_port, s.backend_port) == (50051, 50052, 50053)
    assert (s.batch_size, s.flush_max_bytes, s.flush_max_age_secs) == (1000, 25 * MB, 3600)
    assert s.backpressure_max_bytes == 250 * MB
    assert (s.recent_cold_max_files, s.recent_cold_max_age_secs) == (20, 120)
    assert s.snapshot_cache_ttl_secs == 1.0 and s.api_key_cache_ttl_secs == 10
    assert s.wal_dir.name == "wal" and s.internal_token and s.internal_token != SECRET["JUNJO_SESSION_SECRET"]


def test_env_file_is_read_and_real_environment_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text(
        '# comment\nexport JUNJO_SESSION_SECRET="' + "f" * 40 + '"\nOTLP_GRPC_PORT=6000\nFLUSH_MAX_MB=7\n\n'
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FLUSH_MAX_MB", "9")
    for name in ("JUNJO_SESSION_SECRET", "JUNJO_INTERNAL_GRPC_TOKEN", "OTLP_GRPC_PORT"):
        monkeypatch.delenv(name, raising=False)
    assert read_env_file(tmp_path / ".env")["JUNJO_SESSION_SECRET"] == "f" * 40
    s = load_settings()
    assert s.otlp_port == 6000 and s.flush_max_bytes == 9 * MB


@pytest.mark.parametrize("name", ["JUNJO_SESSION_SECRET", "JUNJO_INTERNAL_GRPC_TOKEN"])
def test_example_placeholders_are_refused(name: str) -> None:
    with pytest.raises(SettingsError, match=name):
        load_settings({**SECRET, name: "change-me-run-make-secrets"})


def test_ports_must_differ() -> None:
    with pytest.raises(SettingsError, match="INTERNAL_GRPC_PORT"):
        load_settings({**SECRET, "OTLP_GRPC_PORT": "7000", "INTERNAL_GRPC_PORT": "7000"})
