"""Every variable the seed documents is honoured by the service it names, observed on real processes.

Each test starts `python -m backend` / `python -m ingestion` (the commands the images run) with one
variable set and looks at its effect from the outside: log lines, CORS/CSRF answers, refusal to
start with a message naming the variable, cookies, files on disk. JUNJO_HOST_DB_DATA_PATH is
compose-only (test_compose.py); the frontend's JUNJO_ENV/JUNJO_PROD_* are in test_entrypoints.py;
ingestion's data paths and the backend's Parquet path are exercised end to end in
test_caddy_loopback.py.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.deploy import seed
from tests.playground.fakes import FakeAnthropic, FakeGemini, FakeOpenAI
from tests.support.api import ApiClient
from tests.support.procs import ROOT
from tests.support.stack import Stack, setup_code, start_backend, start_ingestion

PROD_URLS = {
    "JUNJO_ENV": "production",
    "JUNJO_PROD_FRONTEND_URL": "https://junjo.example.com",
    "JUNJO_PROD_BACKEND_URL": "https://api.junjo.example.com",
    "JUNJO_PROD_INGESTION_URL": "https://ingestion.junjo.example.com",
}


@pytest.fixture
def stacks(tmp_path: Path) -> Iterator[list[Stack]]:
    started: list[Stack] = []
    yield started
    for stack in started:
        stack.stop()


def run_stack(stacks: list[Stack], tmp_path: Path, service: str, **env: str) -> Stack:
    stack = Stack(tmp_path / f"data{len(stacks)}", extra_env=env)
    stacks.append(stack)
    (start_backend if service == "backend" else start_ingestion)(stack, tmp_path / f"logs{len(stacks)}")
    return stack


def stopped_log(stack: Stack, service: str) -> list[str]:
    """The service's stderr lines after a clean stop (so shutdown lines are included)."""
    proc = stack.backend if service == "backend" else stack.ingestion
    assert proc is not None
    assert proc.stop() == 0, proc.log()
    return [line for line in proc.log().splitlines() if line.strip()]


def json_lines(lines: list[str]) -> list[dict[str, object]]:
    parsed = []
    for line in lines:
        try:
            value = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            parsed.append(value)
    return parsed


def refuse_to_start(
    env: dict[str, str], cwd: Path, module: str = "backend"
) -> subprocess.CompletedProcess[str]:
    """Runs a service that must exit at once with a configuration error (never binds a port)."""
    clean = {k: v for k, v in os.environ.items() if k.upper() not in seed.CONTRACT_VARIABLES}
    return subprocess.run(
        [sys.executable, "-m", module],
        cwd=cwd,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


# Startup lines each service logs at INFO, and so omits at WARN and above.
INFO_LINE = {"backend": "migrations_applied", "ingestion": "ingestion_started"}


@pytest.mark.parametrize("service", ["backend", "ingestion"])
def test_log_format_json_and_level_debug(stacks: list[Stack], tmp_path: Path, service: str) -> None:
    stack = run_stack(stacks, tmp_path, service, JUNJO_LOG_FORMAT="json", JUNJO_LOG_LEVEL="debug")
    lines = stopped_log(stack, service)
    records = json_lines(lines)
    assert len(records) == len(lines), [line for line in lines if not line.startswith("{")]
    assert {r.get("level") for r in records} >= {"debug", "info"}
    assert any(r.get("event") == INFO_LINE[service] for r in records)


@pytest.mark.parametrize("service", ["backend", "ingestion"])
def test_log_format_text_and_level_info(stacks: list[Stack], tmp_path: Path, service: str) -> None:
    stack = run_stack(stacks, tmp_path, service, JUNJO_LOG_FORMAT="text", JUNJO_LOG_LEVEL="info")
    lines = stopped_log(stack, service)
    assert lines and not json_lines(lines)
    assert any(INFO_LINE[service] in line for line in lines)
    assert not any(re.search(r"\[\s*debug\s*\]", line) for line in lines)


@pytest.mark.parametrize(
    ("module", "name", "value"),
    [("backend", "JUNJO_LOG_LEVEL", "verbose"), ("ingestion", "JUNJO_LOG_FORMAT", "xml")],
)
def test_bad_log_settings_refuse_to_start(tmp_path: Path, module: str, name: str, value: str) -> None:
    env = Stack(tmp_path).env() | {name: value}
    result = refuse_to_start(env, tmp_path, module)
    assert result.returncode != 0
    assert name in result.stderr


def _preflight(url: str, origin: str) -> httpx.Response:
    headers = {"Origin": origin, "Access-Control-Request-Method": "POST"}
    return httpx.options(f"{url}/sign-in", headers=headers)


def test_allow_origins_and_sqlite_paths(stacks: list[Stack], tmp_path: Path) -> None:
    app_db, metadata_db = tmp_path / "custom" / "app.sqlite", tmp_path / "elsewhere" / "index.sqlite"
    stack = run_stack(
        stacks,
        tmp_path,
        "backend",
        JUNJO_ALLOW_ORIGINS="http://ui.example.test:8080, https://studio.example.test",
        JUNJO_SQLITE_PATH=str(app_db),
        JUNJO_METADATA_DB_PATH=str(metadata_db),
    )
    assert app_db.is_file() and metadata_db.is_file()
    assert not (stack.data_dir / "sqlite" / "junjo.db").exists()
    for origin in ("http://ui.example.test:8080", "https://studio.example.test"):
        assert _preflight(stack.http_url, origin).headers.get("access-control-allow-origin") == origin
    refused = "http://localhost:5153"  # a dev default, but no longer listed
    assert "access-control-allow-origin" not in _preflight(stack.http_url, refused).headers
    forged = httpx.post(
        f"{stack.http_url}/sign-in",
        headers={"Origin": refused},
        json={"email": "a@example.com", "password": "x"},
    )
    assert forged.status_code == 403
    assert "JUNJO_ALLOW_ORIGINS" in forged.json()["detail"]


def test_allow_origins_development_default(stacks: list[Stack], tmp_path: Path) -> None:
    stack = run_stack(stacks, tmp_path, "backend", JUNJO_ALLOW_ORIGINS="")
    for origin in ("http://localhost:5151", "http://localhost:5153"):
        assert _preflight(stack.http_url, origin).headers.get("access-control-allow-origin") == origin
    assert "access-control-allow-origin" not in _preflight(stack.http_url, "http://evil.test").headers


def test_production_derives_origins_and_secures_cookies(stacks: list[Stack], tmp_path: Path) -> None:
    stack = run_stack(stacks, tmp_path, "backend", JUNJO_ALLOW_ORIGINS="", **PROD_URLS)
    frontend = PROD_URLS["JUNJO_PROD_FRONTEND_URL"]
    assert _preflight(stack.http_url, frontend).headers.get("access-control-allow-origin") == frontend
    assert "access-control-allow-origin" not in _preflight(stack.http_url, "http://localhost:5153").headers
    with ApiClient(stack.http_url, origin=frontend) as api:
        response = api.http.post(
            "/users/create-first-user",
            json={
                "email": "admin@example.com",
                "password": "correct horse battery",
                "setup_code": setup_code(stack),
            },
        )
        assert response.status_code == 200, response.text
        cookie = response.headers["set-cookie"]
        assert "secure" in cookie.lower() and "httponly" in cookie.lower()


def test_production_requires_the_urls(tmp_path: Path) -> None:
    missing = "JUNJO_PROD_INGESTION_URL"
    env = Stack(tmp_path).env() | {k: v for k, v in PROD_URLS.items() if k != missing}
    result = refuse_to_start(env, tmp_path)
    assert result.returncode == 2
    assert f"{missing} is required when JUNJO_ENV=production" in result.stderr


def test_production_urls_must_share_a_registrable_domain(tmp_path: Path) -> None:
    env = Stack(tmp_path).env() | PROD_URLS | {"JUNJO_PROD_BACKEND_URL": "https://api.other-domain.com"}
    result = refuse_to_start(env, tmp_path)
    assert result.returncode == 2
    assert "must share a registrable domain" in result.stderr


def test_secrets_are_required(tmp_path: Path) -> None:
    secrets = ("JUNJO_SESSION_SECRET", "JUNJO_SECURE_COOKIE_KEY")
    env = {k: v for k, v in Stack(tmp_path).env().items() if k not in secrets}
    result = refuse_to_start(env, tmp_path)
    assert result.returncode == 2
    for name in secrets:
        assert f"{name}: is required" in result.stderr


def env_example_values() -> dict[str, str]:
    values = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def test_env_example_placeholders_refuse_to_start(tmp_path: Path) -> None:
    env = Stack(tmp_path).env() | env_example_values() | PROD_URLS
    result = refuse_to_start(env, tmp_path)
    assert result.returncode == 2
    assert "JUNJO_SESSION_SECRET: must not be the .env.example placeholder" in result.stderr
    assert "JUNJO_SECURE_COOKIE_KEY: must be base64" in result.stderr
    ingestion = refuse_to_start(env, tmp_path, "ingestion")
    assert ingestion.returncode != 0
    assert "JUNJO_SESSION_SECRET: must not be the .env.example placeholder" in ingestion.stderr


def test_env_example_documents_every_contract_variable() -> None:
    text = (ROOT / ".env.example").read_text()
    listed = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", text, flags=re.M))
    missing = set(seed.CONTRACT_VARIABLES) - listed
    assert not missing, f".env.example lacks {sorted(missing)}"
    for name in (
        "JUNJO_ENV",
        "JUNJO_LOG_LEVEL",
        "JUNJO_LOG_FORMAT",
        "JUNJO_SESSION_SECRET",
        "JUNJO_SECURE_COOKIE_KEY",
        "JUNJO_HOST_DB_DATA_PATH",
    ):
        assert name in env_example_values(), f"{name} must be set (uncommented) in .env.example"
    assert "make secrets" in text


def test_ai_service_keys_reach_their_providers(stacks: list[Stack], tmp_path: Path) -> None:
    """GEMINI/OPENAI/ANTHROPIC_API_KEY: each provider (a local fake speaking its wire format and
    checking the key like the real one) answers the backend's model listing only with that key."""
    fakes = {
        "openai": FakeOpenAI("sk-openai-deploy"),
        "anthropic": FakeAnthropic("sk-ant-deploy"),
        "gemini": FakeGemini("gemini-deploy-key"),
    }
    for fake in fakes.values():
        fake.start()
    try:
        stack = run_stack(
            stacks,
            tmp_path,
            "backend",
            OPENAI_API_KEY="sk-openai-deploy",
            OPENAI_BASE_URL=fakes["openai"].base_url,
            ANTHROPIC_API_KEY="sk-ant-deploy",
            ANTHROPIC_BASE_URL=fakes["anthropic"].base_url,
            GEMINI_API_KEY="gemini-deploy-key",
            GEMINI_BASE_URL=fakes["gemini"].base_url,
        )
        with ApiClient(stack.http_url) as api:
            api.create_first_user()
            for provider, fake in fakes.items():
                response = api.http.get(f"/llm/providers/{provider}/models")
                assert response.status_code == 200, (provider, response.text)
                listed = {m["id"] for m in response.json()["models"]}
                assert listed & {f"{provider}/{model}" for model in fake.models}, (provider, listed)
                assert fake.calls("models"), provider
    finally:
        for fake in fakes.values():
            fake.stop()
