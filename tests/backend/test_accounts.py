"""Accounts over real HTTP against `python -m backend`: setup, sign-in/out, sessions, users."""

from __future__ import annotations

import base64
import contextlib
import json
import threading
import time
from datetime import UTC, datetime

import httpx
from cryptography.fernet import Fernet
from itsdangerous import TimestampSigner

from backend import APP_NAME, __version__
from backend.accounts.sessions import SessionCodec
from tests.backend.conftest import BOTH_ENGINES, run_sql
from tests.support.api import DEFAULT_EMAIL, DEFAULT_ORIGIN, DEFAULT_PASSWORD, ApiClient
from tests.support.stack import Stack

ENGINES = BOTH_ENGINES  # every test here runs against SQLite and against PostgreSQL

PROTECTED = [
    ("GET", "/auth-test"),
    ("GET", "/users"),
    ("POST", "/users"),
    ("DELETE", "/users/x"),
    ("POST", "/sign-out"),
    ("GET", "/api_keys"),
    ("POST", "/api_keys"),
    ("DELETE", "/api_keys/x"),
]


def _session_cookie(response: httpx.Response) -> str:
    header = next(h for h in response.headers.get_list("set-cookie") if h.startswith("session="))
    return header


def test_first_user_setup_signs_in_and_closes_setup(backend_stack: Stack) -> None:
    with ApiClient(backend_stack.http_url) as client:
        assert client.http.get("/users/db-has-users").json() == {"users_exist": False}
        r = client.http.post(
            "/users/create-first-user", json={"email": DEFAULT_EMAIL, "password": DEFAULT_PASSWORD}
        )
        assert r.status_code == 200
        assert r.json() == {"message": "First user created successfully"}
        cookie = _session_cookie(r)
        for attribute in ("HttpOnly", "SameSite=Strict", "Max-Age=2592000", "Path=/"):
            assert attribute in cookie
        assert "Secure" not in cookie  # development over plain http
        me = client.http.get("/auth-test").json()
        assert me["user_email"] == DEFAULT_EMAIL and me["role"] == "admin"
        assert client.http.get("/users/db-has-users").json() == {"users_exist": True}
        again = client.http.post(
            "/users/create-first-user", json={"email": "second@example.com", "password": DEFAULT_PASSWORD}
        )
        assert again.status_code == 400
        assert again.json() == {"detail": "Users already exist, cannot create first user"}


def test_setup_race_has_exactly_one_winner(backend_stack: Stack) -> None:
    results: list[int] = []
    barrier = threading.Barrier(10)

    def attempt(i: int) -> None:
        with httpx.Client(
            base_url=backend_stack.http_url, headers={"Origin": DEFAULT_ORIGIN}, timeout=60
        ) as client:
            barrier.wait()
            r = client.post(
                "/users/create-first-user",
                json={"email": f"racer{i}@example.com", "password": DEFAULT_PASSWORD},
            )
            results.append(r.status_code)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert sorted(results) == [200] + [400] * 9
    with ApiClient(backend_stack.http_url) as client:
        winner = next(
            i
            for i in range(10)
            if client.http.post(
                "/sign-in", json={"email": f"racer{i}@example.com", "password": DEFAULT_PASSWORD}
            ).status_code
            == 200
        )
        users = client.http.get("/users").json()
        assert [u["email"] for u in users] == [f"racer{winner}@example.com"]


def test_sign_in_and_out(api: ApiClient, backend_stack: Stack) -> None:
    with ApiClient(backend_stack.http_url) as other:
        wrong = other.http.post("/sign-in", json={"email": DEFAULT_EMAIL, "password": "wrong password"})
        assert wrong.status_code == 401
        assert wrong.json() == {"detail": "Invalid credentials"}
        unknown = other.http.post("/sign-in", json={"email": "nobody@example.com", "password": "whatever1"})
        assert unknown.status_code == 401 and unknown.json() == {"detail": "Invalid credentials"}
        assert other.http.get("/auth-test").status_code == 401
        r = other.http.post("/sign-in", json={"email": DEFAULT_EMAIL.upper(), "password": DEFAULT_PASSWORD})
        assert r.status_code == 200 and r.json() == {"message": "signed in"}
        assert other.http.get("/auth-test").json()["user_email"] == DEFAULT_EMAIL
        out = other.http.post("/sign-out")
        assert out.status_code == 200 and out.json() == {"message": "signed out"}
        assert "Max-Age=0" in _session_cookie(out)
        assert other.http.get("/auth-test").json() == {"detail": "Unauthorized: No valid session"}


def test_sign_out_revokes_every_session_and_replayed_cookies(api: ApiClient, backend_stack: Stack) -> None:
    captured = api.http.cookies["session"]
    with ApiClient(backend_stack.http_url) as second_device:
        second_device.sign_in()
        assert second_device.http.get("/auth-test").status_code == 200
        api.sign_out()
        revoked = second_device.http.get("/auth-test")
        assert revoked.status_code == 401
        assert revoked.json() == {"detail": "Unauthorized: Session has been revoked"}
    replay = httpx.get(f"{backend_stack.http_url}/auth-test", cookies={"session": captured})
    assert replay.status_code == 401
    assert replay.json() == {"detail": "Unauthorized: Session has been revoked"}
    api.sign_in()
    assert api.http.get("/auth-test").status_code == 200


def test_session_cookie_slides_on_every_authenticated_response(api: ApiClient) -> None:
    first = api.http.cookies["session"]
    r = api.http.get("/auth-test")
    assert r.status_code == 200
    renewed = _session_cookie(r)
    assert "Max-Age=2592000" in renewed
    assert renewed.split(";")[0] != f"session={first}"  # fresh timestamp, fresh ciphertext


def test_tampered_and_garbage_cookies_are_rejected(api: ApiClient, backend_stack: Stack) -> None:
    good = api.http.cookies["session"]
    flipped = good[:-6] + ("A" if good[-6] != "A" else "B") + good[-5:]
    for value in (flipped, good[:-10], "garbage", "", "null", "x" * 5000):
        r = httpx.get(f"{backend_stack.http_url}/auth-test", cookies={"session": value})
        assert r.status_code == 401, value
        assert r.json() == {"detail": "Unauthorized: No valid session"}


def test_cookie_is_encrypted_and_does_not_reveal_the_email(api: ApiClient, backend_stack: Stack) -> None:
    cookie = api.http.cookies["session"]
    email = DEFAULT_EMAIL.encode()
    candidates = [cookie.encode()]
    for decoder in (base64.b64decode, base64.urlsafe_b64decode):
        with contextlib.suppress(ValueError):
            candidates.append(decoder(cookie + "=" * (-len(cookie) % 4)))
    assert not any(email in c or b"admin" in c for c in candidates)
    # It is Fernet ciphertext under JUNJO_SECURE_COOKIE_KEY; inside is the signed payload.
    key = base64.urlsafe_b64encode(base64.b64decode(backend_stack.cookie_key))
    signed = Fernet(key).decrypt(cookie.encode())
    payload = base64.urlsafe_b64decode(signed.split(b".")[0] + b"==")
    assert b'"uid"' in payload and email not in payload


def test_deleted_users_cookie_is_rejected_and_setup_reopens(api: ApiClient, backend_stack: Stack) -> None:
    me = api.http.get("/users").json()[0]
    assert set(me) == {"id", "email", "role", "is_active", "created_at", "updated_at"}
    captured = api.http.cookies["session"]
    run_sql(backend_stack, "DELETE FROM users")  # the API refuses to delete the last user
    r = httpx.get(f"{backend_stack.http_url}/auth-test", cookies={"session": captured})
    assert r.status_code == 401 and r.json() == {"detail": "Unauthorized: User not found"}
    assert httpx.get(f"{backend_stack.http_url}/users/db-has-users").json() == {"users_exist": False}


def test_user_management(api: ApiClient) -> None:
    created = api.http.post("/users", json={"email": "Bob@Example.com", "password": "bobs password"})
    assert created.status_code == 200 and created.json() == {"message": "User created successfully"}
    dup = api.http.post("/users", json={"email": "bob@example.COM", "password": "another one"})
    assert dup.status_code == 409 and dup.json() == {"detail": "A user with this email already exists"}
    users = api.http.get("/users").json()
    assert sorted(u["email"] for u in users) == [DEFAULT_EMAIL, "bob@example.com"]
    for user in users:
        assert "password_hash" not in user and "password" not in str(user)
        assert user["created_at"].endswith("Z") and len(user["created_at"]) == 20
    bob = next(u for u in users if u["email"] == "bob@example.com")
    missing = api.http.delete("/users/does-not-exist")
    assert missing.status_code == 404 and missing.json() == {"detail": "User not found"}
    assert api.http.delete(f"/users/{bob['id']}").status_code == 200
    assert [u["email"] for u in api.http.get("/users").json()] == [DEFAULT_EMAIL]


def test_password_bounds_are_clean_422s(backend_stack: Stack) -> None:
    with ApiClient(backend_stack.http_url) as client:
        short = client.http.post(
            "/users/create-first-user", json={"email": "a@example.com", "password": "7chars!"}
        )
        assert short.status_code == 422
        assert short.json()["detail"][0]["msg"] == "Password must be at least 8 characters"
        long = client.http.post(
            "/users/create-first-user", json={"email": "a@example.com", "password": "p" * 1025}
        )
        assert long.status_code == 422
        assert long.json()["detail"][0]["msg"] == "Password must be at most 1024 characters"
        # 1024 characters of 3-byte UTF-8: far beyond bcrypt's 72 bytes, and not truncated.
        longest = "密" * 1024
        assert (
            client.http.post(
                "/users/create-first-user", json={"email": "a@example.com", "password": longest}
            ).status_code
            == 200
        )
    with ApiClient(backend_stack.http_url) as fresh:

        def sign_in(password: str) -> int:
            body = {"email": "a@example.com", "password": password}
            return fresh.http.post("/sign-in", json=body).status_code

        assert sign_in(longest[:-1] + "码") == 401
        assert sign_in(longest) == 200


def test_protected_routes_need_a_session(backend_stack: Stack) -> None:
    with ApiClient(backend_stack.http_url) as client:
        client.create_first_user()
        client.http.cookies.clear()
        for method, path in PROTECTED:
            r = client.http.request(
                method, path, json={"email": "x@example.com", "password": "12345678", "name": "k"}
            )
            assert r.status_code == 401, (method, path)
            assert r.json() == {"detail": "Unauthorized: No valid session"}


def test_health_config_and_openapi(backend_stack: Stack) -> None:
    base = backend_stack.http_url
    health = httpx.get(f"{base}/health")
    assert health.status_code == 200
    assert health.json() == {"status": "ok", "version": __version__, "app_name": APP_NAME}
    assert httpx.get(f"{base}/ready").json() == {"status": "ok", "database": "ok", "cold_storage": "local"}
    assert httpx.get(f"{base}/api/config").json() == {
        "environment": "development",
        "otlp_endpoint": "grpc://localhost:50051",
        "frontend_url": None,
        "backend_url": None,
    }
    spec = httpx.get(f"{base}/openapi.json").json()
    assert spec["info"]["title"] == "Junjo AI Studio"
    assert "/users/create-first-user" in spec["paths"] and "/api_keys" in spec["paths"]
    assert httpx.get(f"{base}/docs").status_code == 404
    assert httpx.get(f"{base}/redoc").status_code == 404


class _OldSigner(TimestampSigner):
    def get_timestamp(self) -> int:
        return int(time.time()) - 31 * 24 * 3600


def test_cookie_expiry_revision_and_key_checks(api: ApiClient, backend_stack: Stack) -> None:
    """Cookies minted with the stack's own keys: only a fresh, correctly signed one is accepted."""
    user_id = api.http.get("/users").json()[0]["id"]
    codec = SessionCodec(backend_stack.session_secret, backend_stack.cookie_key)
    fernet = Fernet(base64.urlsafe_b64encode(base64.b64decode(backend_stack.cookie_key)))
    payload = base64.urlsafe_b64encode(json.dumps({"uid": user_id, "rev": 0}).encode())

    def status(cookie: str) -> tuple[int, str]:
        r = httpx.get(f"{backend_stack.http_url}/auth-test", cookies={"session": cookie})
        return r.status_code, str(r.json().get("detail", r.json()))

    now = datetime.now(UTC).isoformat(timespec="seconds")
    assert status(codec.encode({"uid": user_id, "rev": 0, "at": now}))[0] == 200
    invalid_revision = (401, "Unauthorized: Invalid session revision")
    assert status(codec.encode({"uid": user_id, "rev": "0", "at": now})) == invalid_revision
    revoked = (401, "Unauthorized: Session has been revoked")
    assert status(codec.encode({"uid": user_id, "rev": 1, "at": now})) == revoked
    assert status(codec.encode({"uid": "someone-else", "rev": 0, "at": now})) == (
        401,
        "Unauthorized: User not found",
    )
    no_session = (401, "Unauthorized: No valid session")
    wrong_secret = TimestampSigner("not the secret", salt="junjo-ai-studio.session").sign(payload)
    assert status(fernet.encrypt(wrong_secret).decode()) == no_session
    signed = TimestampSigner(backend_stack.session_secret, salt="junjo-ai-studio.session").sign(payload)
    month_ago = int(time.time()) - 31 * 24 * 3600
    assert status(fernet.encrypt_at_time(signed, month_ago).decode()) == no_session  # expired envelope
    old_signature = _OldSigner(backend_stack.session_secret, salt="junjo-ai-studio.session").sign(payload)
    assert status(fernet.encrypt(old_signature).decode()) == no_session  # expired signature
    assert status(fernet.encrypt(payload).decode()) == no_session  # unsigned
