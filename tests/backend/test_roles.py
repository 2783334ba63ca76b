"""Roles, activity, password changes and session lifetime over real HTTP against `python -m backend`.

A viewer reads spans, traces and workflows; everything that changes the instance or costs money
(users, API keys, LLM playground calls, WAL flushes) answers 403. Admins manage other users' roles
and activity; nobody can remove themselves or the last user.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from backend.accounts.sessions import SessionCodec
from tests.backend.conftest import BOTH_ENGINES, run_sql
from tests.support.api import DEFAULT_EMAIL, DEFAULT_PASSWORD, ApiClient
from tests.support.stack import Stack

ENGINES = BOTH_ENGINES  # every test here runs against SQLite and against PostgreSQL

VIEWER_EMAIL, VIEWER_PASSWORD = "viewer@example.com", "viewer password"
ADMIN_ONLY = [
    ("GET", "/users"),
    ("POST", "/users"),
    ("PATCH", "/users/x"),
    ("DELETE", "/users/x"),
    ("GET", "/api_keys"),
    ("POST", "/api_keys"),
    ("DELETE", "/api_keys/x"),
    ("POST", "/llm/generate"),
    ("GET", "/llm/providers/openai/models"),
    ("POST", "/llm/providers/openai/models/refresh"),
    ("POST", "/api/admin/flush-wal"),
]
READABLE = ["/auth-test", "/api/v1/observability/services"]
FORBIDDEN = {"detail": "Forbidden: this action needs the admin role"}


def _user_id(api: ApiClient, email: str) -> str:
    return next(u["id"] for u in api.http.get("/users").json() if u["email"] == email)


@pytest.fixture
def viewer(api: ApiClient, backend_stack: Stack) -> ApiClient:
    created = api.http.post("/users", json={"email": VIEWER_EMAIL, "password": VIEWER_PASSWORD})
    assert created.status_code == 200
    client = ApiClient(backend_stack.http_url)
    client.sign_in(VIEWER_EMAIL, VIEWER_PASSWORD)
    return client


def test_new_users_are_viewers_and_are_refused_admin_actions(api: ApiClient, viewer: ApiClient) -> None:
    with viewer:
        assert viewer.http.get("/auth-test").json()["role"] == "viewer"
        for method, path in ADMIN_ONLY:
            body = {"email": "x@example.com", "password": "12345678", "name": "k", "provider": "openai"}
            r = viewer.http.request(method, path, json=body)
            assert (r.status_code, r.json()) == (403, FORBIDDEN), (method, path)
        for path in READABLE:
            assert viewer.http.get(path).status_code == 200, path
    roles = {u["email"]: u["role"] for u in api.http.get("/users").json()}
    assert roles == {DEFAULT_EMAIL: "admin", VIEWER_EMAIL: "viewer"}
    assert api.http.get("/api_keys").status_code == 200


def test_admin_promotes_and_demotes_without_a_new_sign_in(api: ApiClient, viewer: ApiClient) -> None:
    user_id = _user_id(api, VIEWER_EMAIL)
    with viewer:
        promoted = api.http.patch(f"/users/{user_id}", json={"role": "admin"})
        assert promoted.status_code == 200 and promoted.json()["role"] == "admin"
        assert viewer.http.get("/api_keys").status_code == 200
        assert api.http.patch(f"/users/{user_id}", json={"role": "viewer"}).status_code == 200
        assert viewer.http.get("/api_keys").status_code == 403
    bad = api.http.patch(f"/users/{user_id}", json={"role": "owner"})
    assert bad.status_code == 422
    missing = api.http.patch("/users/nobody", json={"role": "admin"})
    assert missing.status_code == 404 and missing.json() == {"detail": "User not found"}
    created = api.http.post(
        "/users", json={"email": "a2@example.com", "password": "12345678", "role": "admin"}
    )
    assert created.status_code == 200
    assert {u["email"]: u["role"] for u in api.http.get("/users").json()}["a2@example.com"] == "admin"


def test_deactivation_ends_sessions_and_refuses_sign_in(api: ApiClient, viewer: ApiClient) -> None:
    user_id = _user_id(api, VIEWER_EMAIL)
    with viewer:
        off = api.http.patch(f"/users/{user_id}", json={"is_active": False})
        assert off.status_code == 200 and off.json()["is_active"] is False
        assert viewer.http.get("/auth-test").status_code == 401
        refused = viewer.http.post("/sign-in", json={"email": VIEWER_EMAIL, "password": VIEWER_PASSWORD})
        assert refused.status_code == 401 and refused.json() == {"detail": "Invalid credentials"}
        assert api.http.patch(f"/users/{user_id}", json={"is_active": True}).status_code == 200
        viewer.sign_in(VIEWER_EMAIL, VIEWER_PASSWORD)
        assert viewer.http.get("/auth-test").status_code == 200


def test_inactive_flag_alone_is_enforced(api: ApiClient, viewer: ApiClient, backend_stack: Stack) -> None:
    """A user marked inactive in the database (session revision unchanged) is refused at once."""
    with viewer:
        run_sql(backend_stack, "UPDATE users SET is_active = false WHERE email = :email", email=VIEWER_EMAIL)
        r = viewer.http.get("/auth-test")
        assert r.status_code == 401 and r.json() == {"detail": "Unauthorized: User is deactivated"}


def test_nobody_removes_themselves_or_the_last_admin(api: ApiClient) -> None:
    me = _user_id(api, DEFAULT_EMAIL)
    self_delete = api.http.delete(f"/users/{me}")
    assert self_delete.status_code == 409 and self_delete.json() == {
        "detail": "You cannot delete your own account"
    }
    for change in ({"role": "viewer"}, {"is_active": False}):
        r = api.http.patch(f"/users/{me}", json=change)
        assert r.status_code == 409, change
    assert api.http.get("/auth-test").json()["role"] == "admin"
    assert [u["email"] for u in api.http.get("/users").json()] == [DEFAULT_EMAIL]


def test_own_password_change_ends_other_sessions(api: ApiClient, backend_stack: Stack) -> None:
    new_password = "a brand new password"
    with ApiClient(backend_stack.http_url) as other_device:
        other_device.sign_in()
        wrong = api.http.post(
            "/users/me/password", json={"current_password": "not it at all", "new_password": new_password}
        )
        assert wrong.status_code == 400 and wrong.json() == {"detail": "Current password is wrong"}
        short = api.http.post(
            "/users/me/password", json={"current_password": DEFAULT_PASSWORD, "new_password": "short"}
        )
        assert short.status_code == 422
        assert other_device.http.get("/auth-test").status_code == 200
        changed = api.http.post(
            "/users/me/password", json={"current_password": DEFAULT_PASSWORD, "new_password": new_password}
        )
        assert changed.status_code == 200
        assert api.http.get("/auth-test").status_code == 200  # this session continues
        ended = other_device.http.get("/auth-test")
        assert ended.status_code == 401 and ended.json() == {
            "detail": "Unauthorized: Session has been revoked"
        }
        old = other_device.http.post("/sign-in", json={"email": DEFAULT_EMAIL, "password": DEFAULT_PASSWORD})
        assert old.status_code == 401
        other_device.sign_in(DEFAULT_EMAIL, new_password)


def test_viewer_changes_own_password(viewer: ApiClient) -> None:
    with viewer:
        body = {"current_password": VIEWER_PASSWORD, "new_password": "viewer's new password"}
        assert viewer.http.post("/users/me/password", json=body).status_code == 200
        assert viewer.http.get("/auth-test").status_code == 200


def test_sessions_end_thirty_days_after_sign_in_however_often_renewed(
    api: ApiClient, backend_stack: Stack
) -> None:
    """The cookie envelope is fresh (it was just renewed) but the sign-in was 30 days ago."""
    user_id = _user_id(api, DEFAULT_EMAIL)
    codec = SessionCodec(backend_stack.session_secret, backend_stack.cookie_key)

    def status(signed_in: datetime | None) -> tuple[int, object]:
        session: dict[str, object] = {"uid": user_id, "rev": 0, "sid": "s"}
        if signed_in is not None:
            session["at"] = signed_in.isoformat(timespec="seconds")
        r = httpx.get(f"{backend_stack.http_url}/auth-test", cookies={"session": codec.encode(session)})
        return r.status_code, r.json().get("detail")

    now = datetime.now(UTC)
    assert status(now - timedelta(days=29, hours=23))[0] == 200
    expired = (401, "Unauthorized: Session has expired; sign in again")
    assert status(now - timedelta(days=30, minutes=1)) == expired
    assert status(None) == expired
