"""One configuration system: the README's table lists exactly the variables the services accept, and
`make run` reads `.env` exactly as the services do."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from backend.settings import Settings as BackendSettings
from ingestion.settings import Settings as IngestionSettings
from junjo_common.settings import read_env_file

ROOT = Path(__file__).resolve().parents[2]
# Documented in the table but read by something other than the services' settings.
NOT_SETTINGS = {
    "FORWARDED_ALLOW_IPS": "uvicorn reads it itself",
    "JUNJO_HOST_DB_DATA_PATH": "docker compose and `make run` read it, not a service",
    "JUNJO_POSTGRES_PASSWORD": "docker-compose.scale.yml reads it, not a service",
}


def readme_variables() -> set[str]:
    text = (ROOT / "README.md").read_text()
    table = text.split("| variable | default | meaning |", 1)[1].split("\n\n", 1)[0]
    names: set[str] = set()
    for row in table.splitlines()[2:]:
        first_cell = row.split("|")[1]
        names.update(re.findall(r"`([A-Z][A-Z0-9_]*)`", first_cell))
    return names


def settings_variables() -> set[str]:
    fields = {*BackendSettings.model_fields, *IngestionSettings.model_fields}
    return {name.upper() for name in fields}


def test_readme_table_lists_exactly_what_the_services_accept() -> None:
    documented = readme_variables()
    accepted = settings_variables()
    assert not (accepted - documented), f"accepted but not in README: {sorted(accepted - documented)}"
    extra = documented - accepted - set(NOT_SETTINGS)
    assert not extra, f"in README but accepted by no service: {sorted(extra)}"
    assert set(NOT_SETTINGS) <= documented


def test_readme_table_is_parsed() -> None:  # the comparison above must not pass on an empty parse
    assert {"JUNJO_SESSION_SECRET", "OTLP_GRPC_PORT", "PORT", "WAL_DIR"} <= readme_variables()


ENV_TEXT = """# a comment
JUNJO_SESSION_SECRET=abcdefghijklmnopqrstuvwxyz0123456789  # trailing comment
export JUNJO_INTERNAL_GRPC_TOKEN="quoted-token-with-#-inside-0123456789abcdef"
JUNJO_SECURE_COOKIE_KEY='MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY='
JUNJO_LOG_FORMAT=text
"""


def test_make_run_reads_env_like_the_services(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text(ENV_TEXT)
    monkeypatch.chdir(tmp_path)
    for name in settings_variables():
        monkeypatch.delenv(name, raising=False)
    seen_by_make_run = read_env_file(tmp_path / ".env")
    assert seen_by_make_run["JUNJO_SESSION_SECRET"] == "abcdefghijklmnopqrstuvwxyz0123456789"
    assert seen_by_make_run["JUNJO_INTERNAL_GRPC_TOKEN"] == "quoted-token-with-#-inside-0123456789abcdef"
    for settings in (BackendSettings(), IngestionSettings()):  # type: ignore[call-arg]
        assert settings.junjo_session_secret is not None
        assert settings.junjo_session_secret.get_secret_value() == seen_by_make_run["JUNJO_SESSION_SECRET"]
        assert settings.internal_token == seen_by_make_run["JUNJO_INTERNAL_GRPC_TOKEN"]
        assert settings.junjo_log_format == "text"
    assert read_env_file(tmp_path / "missing.env") == {}
