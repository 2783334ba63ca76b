"""CSRF origin check, CORS, sign-in throttling, body limits and malformed input (never a 500)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.api import DEFAULT_EMAIL, DEFAULT_PASSWORD, ApiClient
from tests.support.stack import Stack, start_backend

CSRF_DETAIL = (
    "Cross-site request refused: the Origin or Referer header must be one of the allowed "
    "origins (JUNJO_ALLOW_ORIGINS)"
)
POST_ROUTES = ["/users/create-first-user", "/sign-in", "/users", "/api_keys", "/sign-out"]


def test_state_changing_requests_need_an_allowed_origin(api: ApiClient, backend_stack: Stack) -> None:
    base = backend_stack.http_url
    cookies = {"session": api.http.cookies["session"]}
    cases = [
        ("POST", "/api_keys", {}),
        ("POST", "/api_keys", {"Origin": "https://evil.example"}),
        ("POST", "/api_keys", {"Origin": "null"}),
        ("POST", "/api_keys", {"Referer": "https://evil.example/page"}),
        ("DELETE", "/users/x", {"Origin": "http://localhost:5153.evil.example"}),
        ("PUT", "/api_keys", {"Origin": "http://localhost:9999"}),
        ("PATCH", "/api_keys", {}),
    ]
    for method, path, headers in cases:
        r = httpx.request(method, f"{base}{path}", headers=headers, cookies=cookies, json={"name": "k"})
        assert r.status_code == 403, (method, headers)
        assert r.json() == {"detail": CSRF_DETAIL}
    assert api.list_api_keys() == []  # nothing was created
    by_referer = httpx.post(
        f"{base}/api_keys",
        headers={"Referer": "http://localhost:5153/api-keys"},
        cookies=cookies,
        json={"name": "via referer"},
    )
    assert by_referer.status_code == 201
    # Safe methods are not subject to the check.
    assert httpx.get(f"{base}/api_keys", cookies=cookies).status_code == 200


def test_cors_preflight_and_credentials(backend_stack: Stack) -> None:
    base = backend_stack.http_url
    allowed = httpx.options(
        f"{base}/sign-in",
        headers={
            "Origin": "http://localhost:5153",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "http://localhost:5153"
    assert allowed.headers["access-control-allow-credentials"] == "true"
    assert "POST" in allowed.headers["access-control-allow-methods"]
    refused = httpx.options(
        f"{base}/sign-in", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    )
    assert refused.status_code == 400
    assert "access-control-allow-origin" not in refused.headers
    simple = httpx.get(f"{base}/users/db-has-users", headers={"Origin": "http://localhost:5151"})
    assert simple.headers["access-control-allow-origin"] == "http://localhost:5151"
    assert (
        "access-control-allow-origin"
        not in httpx.get(f"{base}/users/db-has-users", headers={"Origin": "https://evil.example"}).headers
    )


def test_sign_in_is_throttled_per_email_and_address(api: ApiClient, backend_stack: Stack) -> None:
    with ApiClient(backend_stack.http_url) as client:
        api.http.post("/users", json={"email": "victim@example.com", "password": "victim password"})
        for _ in range(10):
            r = client.http.post("/sign-in", json={"email": "victim@example.com", "password": "guess1234"})
            assert r.status_code == 401
        right = {"email": "Victim@example.com", "password": "victim password"}
        blocked = client.http.post("/sign-in", json=right)
        assert blocked.status_code == 429
        assert blocked.json() == {"detail": "Too many sign-in attempts; try again later"}
        assert 0 < int(blocked.headers["retry-after"]) <= 600
        # Another account from the same address is unaffected.
        client.sign_in(DEFAULT_EMAIL, DEFAULT_PASSWORD)


@pytest.fixture
def own_backend(tmp_path: Path) -> Iterator[Stack]:
    stack = Stack(tmp_path / "data")
    try:
        start_backend(stack, tmp_path / "logs")
        yield stack
    finally:
        stack.stop()


def test_sign_in_is_throttled_per_client_address(own_backend: Stack) -> None:
    with ApiClient(own_backend.http_url) as client:
        client.create_first_user()
        statuses = [
            client.http.post(
                "/sign-in", json={"email": f"guess{i}@example.com", "password": "x" * 8}
            ).status_code
            for i in range(50)
        ]
        assert statuses == [401] * 50
        blocked = client.http.post("/sign-in", json={"email": DEFAULT_EMAIL, "password": DEFAULT_PASSWORD})
        assert blocked.status_code == 429
        assert int(blocked.headers["retry-after"]) > 0


def test_oversized_bodies_get_413(api: ApiClient, backend_stack: Stack) -> None:
    big = json.dumps({"name": "k" * (1024 * 1024 + 10)})
    declared = api.http.post("/api_keys", content=big, headers={"content-type": "application/json"})
    assert declared.status_code == 413
    assert "Content Too Large" in declared.text

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit applies while streaming
        yield b'{"name": "'
        for _ in range(40):
            yield b"k" * 65536
        yield b'"}'

    streamed = api.http.post("/api_keys", content=chunks(), headers={"content-type": "application/json"})
    assert streamed.status_code == 413
    with socket.create_connection(("127.0.0.1", backend_stack.http_port), timeout=30) as raw:
        raw.sendall(
            b"POST /api_keys HTTP/1.1\r\nHost: x\r\nOrigin: http://localhost:5153\r\n"
            b"Content-Length: abc\r\n\r\n"
        )
        assert raw.recv(1024).startswith(b"HTTP/1.1 400")
    assert api.list_api_keys() == []


MALFORMED: list[tuple[str, bytes]] = [
    ("application/json", b"{"),
    ("application/json", b""),
    ("application/json", b"null"),
    ("application/json", b"[]"),
    ("application/json", b'"string"'),
    ("application/json", b"\xff\xfe\x00garbage"),
    ("application/json", b'{"email": 5, "password": [1], "name": {"a": 1}}'),
    (
        "application/json",
        b'{"email": "a@b.com", "password": "\\ud800\\ud800\\ud800\\ud800", "name": "\\udfff"}',
    ),
    ("application/json", b'{"email": "\\u0000@example.com", "password": "\\u0000\\u0000\\u0000\\u0000aaaa"}'),
    ("application/json", b'{"email": "not-an-email", "password": "longenough", "name": "   "}'),
    ("application/json", b"[" * 50000 + b"]" * 50000),
    ("application/json", b'{"email": "' + b"a" * 5000 + b'@example.com", "password": "longenough"}'),
    ("text/plain", b"email=a&password=b"),
    ("application/x-www-form-urlencoded", b"email=a%40b.com&password=12345678"),
]


@pytest.mark.parametrize("content_type,body", MALFORMED, ids=range(len(MALFORMED)))
def test_malformed_bodies_never_cause_a_500(api: ApiClient, content_type: str, body: bytes) -> None:
    for route in POST_ROUTES:
        r = api.http.post(route, content=body, headers={"content-type": content_type})
        assert r.status_code < 500, (route, r.status_code, r.text)
        if route != "/sign-out":
            assert r.status_code in (400, 401, 422), (route, r.status_code, r.text)
        if route == "/sign-out" and r.status_code == 200:
            api.sign_in()


def test_unknown_ids_and_paths_are_clean(api: ApiClient) -> None:
    for path in ("/users/%00", "/users/" + "x" * 5000, "/api_keys/%F0%9F%98%80", "/api_keys/..%2F..%2Fetc"):
        assert api.http.delete(path).status_code == 404
    assert api.http.get("/no/such/route").status_code == 404
