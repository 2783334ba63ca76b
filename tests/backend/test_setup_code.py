"""The first-user claim against real `python -m backend` processes: in production nobody becomes
the owner without the one-time setup code from the backend's log; in development the operator's
own machine (loopback) may skip it, anyone else may not."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.api import DEFAULT_EMAIL, DEFAULT_PASSWORD, ApiClient
from tests.support.stack import SETUP_CODE, Stack, setup_code, start_backend

FRONTEND = "https://junjo.example.com"
PRODUCTION = {
    "JUNJO_ENV": "production",
    "JUNJO_PROD_FRONTEND_URL": FRONTEND,
    "JUNJO_PROD_BACKEND_URL": "https://api.junjo.example.com",
    "JUNJO_PROD_INGESTION_URL": "https://ingestion.junjo.example.com",
    "JUNJO_ALLOW_ORIGINS": "",
}
REFUSED = {
    "detail": "Setup code missing or wrong: it is printed in the backend's log (setup_code_issued) "
    "while no user exists"
}


def _backend(tmp_path: Path, env: dict[str, str]) -> Iterator[Stack]:
    stack = Stack(tmp_path / "data", extra_env=env)
    try:
        start_backend(stack, tmp_path / "logs")
        yield stack
    finally:
        stack.stop()


@pytest.fixture
def production(tmp_path: Path) -> Iterator[Stack]:
    yield from _backend(tmp_path, PRODUCTION)


@pytest.fixture
def development(tmp_path: Path) -> Iterator[Stack]:
    yield from _backend(tmp_path, {})


def _claim(client: ApiClient, code: str | None, email: str = DEFAULT_EMAIL) -> httpx.Response:
    body = {"email": email, "password": DEFAULT_PASSWORD, "setup_code": code}
    return client.http.post("/users/create-first-user", json=body)


def test_production_claim_needs_the_code_from_the_log(production: Stack) -> None:
    code = setup_code(production)
    with ApiClient(production.http_url, origin=FRONTEND) as client:
        assert client.http.get("/users/db-has-users").json() == {"users_exist": False}
        for attempt in (None, "", "AAAA-BBBB-CCCC", code[:-1], code + "A", "x" * 64, "密" * 12):
            r = _claim(client, attempt, "intruder@example.com")
            assert (r.status_code, r.json()) == (403, REFUSED), attempt
        assert _claim(client, "y" * 65).status_code == 422
        assert client.http.get("/users/db-has-users").json() == {"users_exist": False}
        typed = code.lower().replace("-", " ")  # as a person might type it
        claimed = _claim(client, typed)
        assert claimed.status_code == 200
        # The production cookie is Secure; httpx keeps Secure cookies for https only, so carry it.
        me = client.http.get("/auth-test", headers={"Cookie": claimed.headers["set-cookie"].split(";")[0]})
        assert me.json()["role"] == "admin"
        again = _claim(client, code, "second@example.com")
        assert again.status_code == 400
    assert production.backend is not None
    assert len(SETUP_CODE.findall(production.backend.log())) == 1  # issued once, at start


def test_development_skips_the_code_only_on_loopback(development: Stack) -> None:
    with ApiClient(development.http_url) as client:
        # A local reverse proxy (trusted by uvicorn on loopback) forwarding someone else's request.
        client.http.headers["X-Forwarded-For"] = "203.0.113.7"
        assert _claim(client, None).status_code == 403
        assert _claim(client, setup_code(development)).status_code == 200


def test_development_loopback_claim_without_code(development: Stack) -> None:
    with ApiClient(development.http_url) as client:
        assert _claim(client, None).status_code == 200
