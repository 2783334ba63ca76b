"""Production mode in-process (ASGI): Secure cookie, origins derived from the frontend URL,
public config with the production URLs."""

from __future__ import annotations

import asyncio
import base64
import secrets
from pathlib import Path

import httpx
import pytest
from structlog.testing import capture_logs

from backend.app import create_app
from backend.db.migrate import upgrade
from backend.settings import Settings


@pytest.fixture
def production_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.chdir(tmp_path)  # no .env
    monkeypatch.delenv("JUNJO_ALLOW_ORIGINS", raising=False)
    values = {
        "JUNJO_ENV": "production",
        "JUNJO_SESSION_SECRET": secrets.token_urlsafe(32),
        "JUNJO_SECURE_COOKIE_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "JUNJO_PROD_FRONTEND_URL": "https://junjo.example.co.uk",
        "JUNJO_PROD_BACKEND_URL": "https://api.junjo.example.co.uk",
        "JUNJO_PROD_INGESTION_URL": "https://ingestion.junjo.example.co.uk",
        "JUNJO_SQLITE_PATH": str(tmp_path / "junjo.db"),
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    settings = Settings()  # type: ignore[call-arg]
    upgrade(settings.database_url)
    return settings


def test_production_cookie_origins_and_config(production_settings: Settings) -> None:
    app = create_app(production_settings)

    async def scenario() -> None:
        transport = httpx.ASGITransport(app=app)
        base = "https://api.junjo.example.co.uk"
        body = {"email": "ops@example.com", "password": "prod password"}
        async with httpx.AsyncClient(transport=transport, base_url=base) as client:
            dev_origin = await client.post(
                "/users/create-first-user", json=body, headers={"Origin": "http://localhost:5153"}
            )
            assert dev_origin.status_code == 403
            origin = {"Origin": "https://junjo.example.co.uk"}
            with capture_logs() as logs:
                no_code = await client.post("/users/create-first-user", json=body, headers=origin)
            assert no_code.status_code == 403
            code = next(e["setup_code"] for e in logs if e["event"] == "setup_code_issued")
            r = await client.post(
                "/users/create-first-user", json={**body, "setup_code": code}, headers=origin
            )
            assert r.status_code == 200
            cookie = r.headers["set-cookie"]
            assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
            assert (await client.get("/auth-test")).json()["user_email"] == "ops@example.com"
            config = (await client.get("/api/config")).json()
            assert config == {
                "environment": "production",
                "otlp_endpoint": "https://ingestion.junjo.example.co.uk",
                "frontend_url": "https://junjo.example.co.uk",
                "backend_url": "https://api.junjo.example.co.uk",
            }
            preflight = await client.options(
                "/sign-in",
                headers={"Origin": "https://junjo.example.co.uk", "Access-Control-Request-Method": "POST"},
            )
            assert preflight.headers["access-control-allow-origin"] == "https://junjo.example.co.uk"

    try:
        asyncio.run(scenario())
    finally:
        app.state.db.dispose()
