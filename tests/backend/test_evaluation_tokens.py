"""Developer access tokens against a real backend: management by a signed-in user, Bearer
authentication with scopes on the evidence and evaluation routes, and everything that must be
refused (wrong scheme, unknown/expired/revoked tokens, ingestion API keys, passwords)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.backend.conftest import BOTH_ENGINES, database_dump, run_sql
from tests.backend.evaluation_support import empty_evaluation_store
from tests.support.api import DEFAULT_PASSWORD, ApiClient
from tests.support.stack import Stack

ENGINES = BOTH_ENGINES  # every test here runs against SQLite and against PostgreSQL

TOKENS = "/api/v1/evaluation-tokens"
TRACE = "/api/v1/trace-evidence/" + "a" * 32


@pytest.fixture
def admin(backend_stack: Stack) -> ApiClient:
    empty_evaluation_store(backend_stack)
    client = ApiClient(backend_stack.http_url)
    client.create_first_user()
    return client


def create_token(admin: ApiClient, scopes: list[str], **extra: Any) -> dict[str, Any]:
    response = admin.http.post(TOKENS, json={"name": "ci", "scopes": scopes, **extra})
    assert response.status_code == 201, response.text
    return dict(response.json())


def bearer(stack: Stack, token: str) -> httpx.Client:
    """A cookie-less client like the Junjo CLI: no Origin header, only the Bearer token."""
    return httpx.Client(base_url=stack.http_url, headers={"Authorization": f"Bearer {token}"}, timeout=30)


def test_token_is_shown_once_and_stored_as_a_digest(admin: ApiClient, backend_stack: Stack) -> None:
    created = create_token(admin, ["evidence:read", "evaluation:read"])
    assert created["token"].startswith("jcli_") and len(created["token"]) == 5 + 64
    assert created["scopes"] == ["evaluation:read", "evidence:read"]
    assert created["expires_at"] is None and created["prefix"] == created["token"][:12]

    listed = admin.http.get(TOKENS).json()
    assert [t["id"] for t in listed["items"]] == [created["id"]]
    assert "token" not in listed["items"][0] and listed["next_cursor"] is None

    dump = database_dump(backend_stack)
    assert created["id"] in dump  # the dump holds the stored token row
    assert created["token"] not in dump and created["token"][12:] not in dump


def test_bearer_token_authenticates_with_scopes(admin: ApiClient, backend_stack: Stack) -> None:
    reader = create_token(admin, ["evidence:read"])["token"]
    writer = create_token(admin, ["evaluation:write"])["token"]
    with bearer(backend_stack, reader) as client:
        assert client.get(TRACE).status_code == 404  # authenticated: the trace just does not exist
    with bearer(backend_stack, writer) as client:
        response = client.get(TRACE)
        assert response.status_code == 403
        assert response.json() == {
            "code": "insufficient_evaluation_token_scope",
            "missing_scopes": ["evidence:read"],
        }


@pytest.mark.parametrize(
    "header",
    [
        "Bearer jcli_not-a-token",
        "Bearer",
        "Basic YWRtaW46cGFzcw==",
        "Bearer  jcli_x",
        "bearer",
        "Bearer " + "jcli_" + "x" * 5000,
        f"Bearer {DEFAULT_PASSWORD}",
    ],
)
def test_bad_authorization_is_401_never_a_session_fallback(admin: ApiClient, header: str) -> None:
    # the admin client holds a valid session cookie: a bad Authorization header still wins
    response = admin.http.get(TRACE, headers={"Authorization": header})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_ingestion_api_key_is_not_a_token(admin: ApiClient, backend_stack: Stack) -> None:
    key = admin.create_api_key()
    with bearer(backend_stack, key) as client:
        assert client.get(TRACE).status_code == 401


def test_session_still_works_without_authorization(admin: ApiClient) -> None:
    assert admin.http.get(TRACE).status_code == 404
    with httpx.Client(base_url=admin.http.base_url) as anonymous:
        assert anonymous.get(TRACE).status_code == 401


def test_expired_and_revoked_tokens_are_refused(admin: ApiClient, backend_stack: Stack) -> None:
    soon = create_token(
        admin, ["evidence:read"], expires_at=(datetime.now(UTC) + timedelta(seconds=2)).isoformat()
    )
    revoked = create_token(admin, ["evidence:read"])
    with bearer(backend_stack, revoked["token"]) as client:
        assert client.get(TRACE).status_code == 404
        assert admin.http.delete(f"{TOKENS}/{revoked['id']}").status_code == 204
        assert client.get(TRACE).status_code == 401
    assert admin.http.delete(f"{TOKENS}/{revoked['id']}").status_code == 404
    assert admin.http.delete(f"{TOKENS}/{'x' * 65}").status_code == 422
    run_sql(
        backend_stack,
        "UPDATE evaluation_tokens SET expires_at = :at WHERE id = :id",
        at=(datetime.now(UTC) - timedelta(seconds=1)).replace(tzinfo=None).isoformat(" "),
        id=soon["id"],
    )
    with bearer(backend_stack, soon["token"]) as client:
        assert client.get(TRACE).status_code == 401


def test_deactivated_user_tokens_stop_working(admin: ApiClient, backend_stack: Stack) -> None:
    token = create_token(admin, ["evidence:read"])["token"]
    run_sql(backend_stack, "UPDATE users SET is_active = false")
    with bearer(backend_stack, token) as client:
        assert client.get(TRACE).status_code == 401


def test_bearer_request_skips_the_origin_guard_but_cookies_do_not(
    admin: ApiClient, backend_stack: Stack
) -> None:
    token = create_token(admin, ["evidence:read"])["token"]
    with bearer(backend_stack, token) as client:
        # a POST with a Bearer token and no cookie reaches the route (which then wants a session)
        assert client.post(TOKENS, json={"name": "x", "scopes": ["evidence:read"]}).status_code == 401
    cookie_jar = admin.http.cookies
    with httpx.Client(base_url=backend_stack.http_url, cookies=cookie_jar) as forged:
        response = forged.post(
            TOKENS,
            json={"name": "x", "scopes": ["evidence:read"]},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 403  # cookie present and no allowed Origin: CSRF guard


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x", "scopes": []},
        {"name": "x", "scopes": ["evidence:read", "evidence:read"]},
        {"name": "x", "scopes": ["admin"]},
        {"name": " x", "scopes": ["evidence:read"]},
        {"name": "", "scopes": ["evidence:read"]},
        {"name": "x" * 257, "scopes": ["evidence:read"]},
        {"name": "\ud800", "scopes": ["evidence:read"]},
        {"name": "x", "scopes": ["evidence:read"], "expires_at": "2001-01-01T00:00:00Z"},
        {"name": "x", "scopes": ["evidence:read"], "expires_at": "yesterday"},
        {"name": "x", "scopes": "evidence:read"},
    ],
)
def test_create_refuses_bad_input(admin: ApiClient, body: dict[str, Any]) -> None:
    raw = json.dumps(body)  # ASCII escapes, so a lone surrogate travels as `\ud800`
    assert (
        admin.http.post(TOKENS, content=raw, headers={"Content-Type": "application/json"}).status_code == 422
    )


def test_management_needs_a_session_and_lists_by_cursor(admin: ApiClient, backend_stack: Stack) -> None:
    token = create_token(admin, ["evidence:read", "evaluation:read", "evaluation:write"])["token"]
    with bearer(backend_stack, token) as client:
        assert client.get(TOKENS).status_code == 401  # a token cannot mint or list tokens
    for _ in range(4):
        create_token(admin, ["evidence:read"])
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = admin.http.get(TOKENS, params=params).json()
        seen += [t["id"] for t in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 5
    for bad in ["garbage", "e30", "x" * 2000, "eyJ2IjoxfQ"]:
        assert admin.http.get(TOKENS, params={"cursor": bad}).status_code == 422
    huge = "x" * (2 * 1024 * 1024)
    assert (
        admin.http.post(TOKENS, content=huge, headers={"Content-Type": "application/json"}).status_code == 413
    )


def test_viewers_read_but_neither_manage_tokens_nor_write(admin: ApiClient, backend_stack: Stack) -> None:
    token = create_token(admin, ["evaluation:read", "evaluation:write"])["token"]
    created = admin.http.post("/users", json={"email": "viewer@example.com", "password": DEFAULT_PASSWORD})
    assert created.status_code == 200, created.text
    dataset = {"application_key": "app", "key": "k", "name": "N", "description": None}
    with ApiClient(backend_stack.http_url) as viewer:
        viewer.sign_in("viewer@example.com")
        assert viewer.http.get(TOKENS).status_code == 403
        assert viewer.http.post(TOKENS, json={"name": "x", "scopes": ["evidence:read"]}).status_code == 403
        assert viewer.http.get("/api/v1/evaluation/datasets").status_code == 200
        assert viewer.http.post("/api/v1/evaluation/datasets", json=dataset).status_code == 403
    admin_id = admin.http.get(TOKENS).json()["items"][0]["created_by_user_id"]
    with bearer(backend_stack, token) as client:
        assert client.post("/api/v1/evaluation/datasets", json=dataset).status_code == 200
        run_sql(backend_stack, "UPDATE users SET role = 'viewer' WHERE id = :id", id=admin_id)
        assert client.post("/api/v1/evaluation/datasets", json=dataset).status_code == 403
        assert client.get("/api/v1/evaluation/datasets").status_code == 200
