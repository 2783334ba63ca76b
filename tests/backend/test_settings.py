"""Configuration: every bad variable stops `python -m backend` with one clear line (exit 2),
plus the parsing rules (origins CSV/JSON, production URL checks, internal token derivation).
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from pydantic import ValidationError

from backend.settings import Settings, registrable_domain
from junjo_common.internal_token import resolve_internal_token
from junjo_common.settings import describe_error
from tests.support.stack import Stack

PROD = {
    "JUNJO_ENV": "production",
    "JUNJO_PROD_FRONTEND_URL": "https://app.example.com",
    "JUNJO_PROD_BACKEND_URL": "https://api.example.com",
    "JUNJO_PROD_INGESTION_URL": "https://ingestion.example.com",
}
DB_PASSWORD = "db-pass-w0rd-never-printed"
SHORT_KEY = base64.b64encode(b"k" * 16).decode()

# (case id, overrides (None = unset), variable the one-line message must name)
BAD: list[tuple[str, dict[str, str | None], str]] = [
    ("secret-missing", {"JUNJO_SESSION_SECRET": None}, "JUNJO_SESSION_SECRET"),
    ("secret-blank", {"JUNJO_SESSION_SECRET": "   "}, "JUNJO_SESSION_SECRET"),
    ("secret-placeholder", {"JUNJO_SESSION_SECRET": "change-me-run-make-secrets"}, "JUNJO_SESSION_SECRET"),
    ("secret-short", {"JUNJO_SESSION_SECRET": "s" * 31}, "JUNJO_SESSION_SECRET"),
    ("cookie-key-missing", {"JUNJO_SECURE_COOKIE_KEY": None}, "JUNJO_SECURE_COOKIE_KEY"),
    ("cookie-key-not-base64", {"JUNJO_SECURE_COOKIE_KEY": "not base64 at all!"}, "JUNJO_SECURE_COOKIE_KEY"),
    ("cookie-key-16-bytes", {"JUNJO_SECURE_COOKIE_KEY": SHORT_KEY}, "JUNJO_SECURE_COOKIE_KEY"),
    ("env", {"JUNJO_ENV": "staging"}, "JUNJO_ENV"),
    ("log-level", {"JUNJO_LOG_LEVEL": "verbose"}, "JUNJO_LOG_LEVEL"),
    ("log-format", {"JUNJO_LOG_FORMAT": "xml"}, "JUNJO_LOG_FORMAT"),
    ("port-text", {"PORT": "http"}, "PORT"),
    ("grpc-port-range", {"GRPC_PORT": "70000"}, "GRPC_PORT"),
    ("origins-star", {"JUNJO_ALLOW_ORIGINS": "*"}, "JUNJO_ALLOW_ORIGINS"),
    ("origins-json", {"JUNJO_ALLOW_ORIGINS": '["http://a.example",'}, "JUNJO_ALLOW_ORIGINS"),
    ("origins-scheme", {"JUNJO_ALLOW_ORIGINS": "ftp://files.example"}, "JUNJO_ALLOW_ORIGINS"),
    ("token-short", {"JUNJO_INTERNAL_GRPC_TOKEN": "short"}, "JUNJO_INTERNAL_GRPC_TOKEN"),
    ("migrations", {"RUN_MIGRATIONS": "maybe"}, "RUN_MIGRATIONS"),
    ("retention", {"JUNJO_RETENTION_DAYS": "-1"}, "JUNJO_RETENTION_DAYS"),
    ("poll", {"INDEXER_POLL_INTERVAL": "0"}, "INDEXER_POLL_INTERVAL"),
    ("llm-timeout", {"LLM_REQUEST_TIMEOUT_SECS": "soon"}, "LLM_REQUEST_TIMEOUT_SECS"),
    (
        "database-url-scheme",
        {"JUNJO_DATABASE_URL": f"mysql://junjo:{DB_PASSWORD}@db/junjo"},
        "JUNJO_DATABASE_URL",
    ),
    (
        "database-url-no-db",
        {"JUNJO_DATABASE_URL": f"postgresql+psycopg://junjo:{DB_PASSWORD}@db"},
        "JUNJO_DATABASE_URL",
    ),
    ("prod-missing-url", {**PROD, "JUNJO_PROD_INGESTION_URL": None}, "JUNJO_PROD_INGESTION_URL"),
    ("prod-no-scheme", {**PROD, "JUNJO_PROD_BACKEND_URL": "api.example.com"}, "JUNJO_PROD_BACKEND_URL"),
    ("prod-other-domain", {**PROD, "JUNJO_PROD_BACKEND_URL": "https://x.run.app"}, "JUNJO_PROD_BACKEND_URL"),
]


def _environment(stack: Stack, overrides: dict[str, str | None]) -> dict[str, str]:
    names = set(stack.env()) | {n for _, o, _ in BAD for n in o}
    env = {k: v for k, v in os.environ.items() if k not in names}
    env.update(stack.env())
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


@pytest.fixture(scope="module")
def startup_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, subprocess.CompletedProcess[str]]:
    """Runs every bad configuration (a few at a time) from an empty directory: no `.env` there."""
    root = tmp_path_factory.mktemp("startup")
    stack = Stack(root / "data")

    def run(case: tuple[str, dict[str, str | None], str]) -> tuple[str, subprocess.CompletedProcess[str]]:
        name, overrides, _ = case
        result = subprocess.run(
            [sys.executable, "-m", "backend"],
            cwd=root,
            env=_environment(stack, overrides),
            capture_output=True,
            text=True,
            timeout=120,
        )
        return name, result

    with ThreadPoolExecutor(max_workers=3) as pool:
        return dict(pool.map(run, BAD))


@pytest.mark.parametrize("case", BAD, ids=[c[0] for c in BAD])
def test_bad_variable_stops_startup_with_one_line(
    startup_results: dict[str, subprocess.CompletedProcess[str]], case: tuple[str, dict[str, str | None], str]
) -> None:
    name, _, variable = case
    result = startup_results[name]
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("invalid configuration: ")
    assert variable in lines[0]
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert DB_PASSWORD not in result.stderr


def _settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **values: str) -> Settings:
    monkeypatch.chdir(tmp_path)  # no .env
    base = Stack(tmp_path).env()
    for name in {n for _, o, _ in BAD for n in o} | set(base):
        monkeypatch.delenv(name, raising=False)
    for name, value in {**base, **values}.items():
        monkeypatch.setenv(name, value)
    return Settings()  # type: ignore[call-arg]


def test_origins_accept_csv_and_json(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    csv = _settings(monkeypatch, tmp_path, JUNJO_ALLOW_ORIGINS=" http://A.example:8080/ , https://b.example")
    assert csv.allow_origins == ["http://a.example:8080", "https://b.example"]
    js = _settings(monkeypatch, tmp_path, JUNJO_ALLOW_ORIGINS='["https://c.example"]')
    assert js.allow_origins == ["https://c.example"]
    monkeypatch.delenv("JUNJO_ALLOW_ORIGINS")
    dev_default = ["http://localhost:5151", "http://localhost:5153"]
    assert Settings().allow_origins == dev_default  # type: ignore[call-arg]


def test_production_derives_origins_and_otlp_endpoint(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    prod = {k: v for k, v in PROD.items() if v}
    settings = _settings(monkeypatch, tmp_path, JUNJO_ALLOW_ORIGINS="", **prod)
    assert settings.allow_origins == ["https://app.example.com"]
    assert settings.otlp_endpoint == "https://ingestion.example.com"
    assert settings.is_production


@pytest.mark.parametrize(
    "frontend,backend,ok",
    [
        ("https://app.example.co.uk", "https://api.example.co.uk", True),
        ("https://studio.agency.gov.au", "https://api.agency.gov.au", True),
        ("https://example.com", "https://api.example.com", True),
        ("https://app.example.com", "https://x.run.app", False),
        ("https://app.example.co.uk", "https://api.other.co.uk", False),
    ],
)
def test_registrable_domain_rule(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, frontend: str, backend: str, ok: bool
) -> None:
    values = {**PROD, "JUNJO_PROD_FRONTEND_URL": frontend, "JUNJO_PROD_BACKEND_URL": backend}
    if ok:
        assert _settings(monkeypatch, tmp_path, **values).junjo_prod_backend_url == backend
        assert registrable_domain(frontend) == registrable_domain(backend)
    else:
        with pytest.raises(ValidationError) as err:
            _settings(monkeypatch, tmp_path, **values)
        assert "share a registrable domain" in describe_error(err.value)


def test_internal_token_explicit_or_derived(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    derived = _settings(monkeypatch, tmp_path)
    secret = derived.junjo_session_secret.get_secret_value()
    assert derived.internal_token == resolve_internal_token(None, secret)
    explicit = _settings(monkeypatch, tmp_path, JUNJO_INTERNAL_GRPC_TOKEN="z" * 32)
    assert explicit.internal_token == "z" * 32
    assert "z" * 32 not in repr(explicit) and secret not in repr(explicit)  # secrets stay hidden


def test_defaults_match_the_contract(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    s = _settings(monkeypatch, tmp_path)
    for name in (
        "PORT",
        "GRPC_PORT",
        "INGESTION_PORT",
        "INGESTION_HOST",
        "JUNJO_SQLITE_PATH",
        "JUNJO_METADATA_DB_PATH",
        "JUNJO_PARQUET_STORAGE_PATH",
        "JUNJO_LOG_FORMAT",
    ):
        monkeypatch.delenv(name, raising=False)
    s = Settings()  # type: ignore[call-arg]
    assert (s.port, s.grpc_port, s.ingestion_host, s.ingestion_port) == (1323, 50053, "localhost", 50052)
    assert s.junjo_log_level == "info" and s.junjo_log_format == "json" and s.junjo_env == "development"
    assert s.junjo_sqlite_path == tmp_path / ".dbdata" / "sqlite" / "junjo.db"
    assert s.junjo_metadata_db_path == tmp_path / ".dbdata" / "sqlite" / "metadata.db"
    assert s.junjo_parquet_storage_path == tmp_path / ".dbdata" / "spans" / "parquet"
    assert s.indexer_poll_interval == 2 and s.llm_request_timeout_secs == 60
    assert s.junjo_retention_days is None and s.junjo_retention_max_gb is None
