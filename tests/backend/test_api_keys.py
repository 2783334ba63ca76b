"""API keys over real HTTP and the internal ValidateApiKey gRPC service on loopback."""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import grpc
import httpx
import pytest

from junjo_common.internal_token import INVALID_TOKEN_MESSAGE, call_metadata, resolve_internal_token
from junjo_common.proto_gen import auth_pb2, auth_pb2_grpc
from tests.backend.conftest import BOTH_ENGINES, database_dump, run_sql, sqlite_path
from tests.support.api import ApiClient
from tests.support.stack import Stack, start_backend

ENGINES = BOTH_ENGINES  # every test here runs against SQLite and against PostgreSQL


def internal_token(stack: Stack) -> str:
    return resolve_internal_token(stack.extra_env.get("JUNJO_INTERNAL_GRPC_TOKEN"), stack.session_secret)


@contextmanager
def auth_stub(stack: Stack) -> Iterator[auth_pb2_grpc.InternalAuthServiceStub]:
    with grpc.insecure_channel(f"127.0.0.1:{stack.backend_grpc_port}") as channel:
        yield auth_pb2_grpc.InternalAuthServiceStub(channel)


def validate(stack: Stack, key: str, token: str | None = None) -> bool:
    with auth_stub(stack) as stub:
        response = stub.ValidateApiKey(
            auth_pb2.ValidateApiKeyRequest(api_key=key),
            metadata=call_metadata(token or internal_token(stack)),
            timeout=30,
        )
    return response.is_valid


def test_create_list_delete(api: ApiClient) -> None:
    created = api.http.post("/api_keys", json={"name": "  production  "})
    assert created.status_code == 201
    body = created.json()
    assert set(body) == {"id", "key", "name", "prefix", "created_at"}
    assert re.fullmatch(r"[A-Za-z0-9]{64}", body["key"])
    assert body["name"] == "production" and body["prefix"] == body["key"][:8]
    second = api.create_api_key("second")
    assert second != body["key"]
    listed = api.list_api_keys()
    assert [k["name"] for k in listed] in (["second", "production"], ["production", "second"])
    for item in listed:
        assert set(item) == {"id", "name", "prefix", "created_at", "key"}
        assert item["key"] == f"{item['prefix']}…" and len(item["prefix"]) < 16  # masked, never the key
    assert second not in api.http.get("/api_keys").text and body["key"] not in api.http.get("/api_keys").text
    assert api.http.delete(f"/api_keys/{body['id']}").status_code == 204
    again = api.http.delete(f"/api_keys/{body['id']}")
    assert again.status_code == 404 and again.json() == {"detail": "API key not found"}
    assert [k["name"] for k in api.list_api_keys()] == ["second"]


@pytest.mark.parametrize("name", ["", "   ", "\t\n"])
def test_blank_names_are_refused(api: ApiClient, name: str) -> None:
    r = api.http.post("/api_keys", json={"name": name})
    assert r.status_code == 422
    assert r.json()["detail"][0]["msg"] == "API key name cannot be empty"


def test_no_plaintext_key_in_the_database(api: ApiClient, backend_stack: Stack) -> None:
    keys = [api.create_api_key(f"key {i}") for i in range(5)]
    if "JUNJO_DATABASE_URL" not in backend_stack.backend_env:  # SQLite: the files themselves, WAL too
        db = sqlite_path(backend_stack)
        files = [p for p in db.parent.iterdir() if p.name.startswith(db.name)]
        assert db in files
        for path in files:
            data = path.read_bytes()
            for key in keys:
                assert key.encode() not in data, path
                assert key.encode("utf-16-le") not in data, path
        run_sql(backend_stack, "PRAGMA wal_checkpoint(TRUNCATE)")  # now the main file holds everything
        assert not any(key.encode() in db.read_bytes() for key in keys)
    dump = database_dump(backend_stack)
    assert not any(key in dump or key[8:] in dump for key in keys)
    stored = run_sql(backend_stack, "SELECT key_sha256, prefix FROM api_keys")
    assert len(stored) == 5 and all(re.fullmatch(r"[0-9a-f]{64}", digest) for digest, _ in stored)
    assert all(digest in dump for digest, _ in stored)  # the dump holds the rows


def test_validate_api_key_over_grpc(api: ApiClient, backend_stack: Stack) -> None:
    key = api.create_api_key("ingest")
    assert validate(backend_stack, key) is True
    assert validate(backend_stack, key[:-1] + ("a" if key[-1] != "a" else "b")) is False
    assert validate(backend_stack, "") is False
    assert validate(backend_stack, "x" * 10_000) is False
    key_id = api.list_api_keys()[0]["id"]
    assert api.http.delete(f"/api_keys/{key_id}").status_code == 204
    assert validate(backend_stack, key) is False


@pytest.mark.parametrize(
    "metadata",
    [
        (),
        (("x-junjo-internal-token", "wrong"),),
        (("x-junjo-internal-token", ""),),
        (("authorization", "Bearer x"),),
    ],
)
def test_internal_token_is_required(
    api: ApiClient, backend_stack: Stack, metadata: tuple[tuple[str, str], ...]
) -> None:
    key = api.create_api_key("ingest")
    with auth_stub(backend_stack) as stub, pytest.raises(grpc.RpcError) as err:
        stub.ValidateApiKey(auth_pb2.ValidateApiKeyRequest(api_key=key), metadata=metadata, timeout=30)
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert err.value.details() == INVALID_TOKEN_MESSAGE


@pytest.fixture
def explicit_token_backend(tmp_path: Path) -> Iterator[Stack]:
    stack = Stack(tmp_path / "data", extra_env={"JUNJO_INTERNAL_GRPC_TOKEN": "t" * 40})
    try:
        start_backend(stack, tmp_path / "logs")
        yield stack
    finally:
        stack.stop()


def test_explicit_internal_token_replaces_the_derived_one(explicit_token_backend: Stack) -> None:
    stack = explicit_token_backend
    with ApiClient(stack.http_url) as client:
        client.create_first_user()
        key = client.create_api_key()
    assert validate(stack, key, token="t" * 40) is True
    derived = resolve_internal_token(None, stack.session_secret)
    with pytest.raises(grpc.RpcError) as err:
        validate(stack, key, token=derived)
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED


@contextmanager
def store_broken(stack: Stack) -> Iterator[None]:
    """The tables vanish from under the running backend (as with a damaged or swapped file)."""
    run_sql(stack, "ALTER TABLE api_keys RENAME TO api_keys_away")
    run_sql(stack, "ALTER TABLE users RENAME TO users_away")
    try:
        yield
    finally:
        run_sql(stack, "ALTER TABLE api_keys_away RENAME TO api_keys")
        run_sql(stack, "ALTER TABLE users_away RENAME TO users")


def test_store_failure_is_unavailable_never_invalid(api: ApiClient, backend_stack: Stack) -> None:
    key = api.create_api_key("ingest")
    with store_broken(backend_stack):
        with pytest.raises(grpc.RpcError) as err:
            validate(backend_stack, key)
        assert err.value.code() == grpc.StatusCode.UNAVAILABLE
        assert err.value.details() == "API key store unavailable"
        ready = httpx.get(f"{backend_stack.http_url}/ready", timeout=30)
        assert ready.status_code == 503
        assert ready.json()["status"] == "unavailable"
        assert httpx.get(f"{backend_stack.http_url}/health", timeout=30).status_code == 200  # alive
    assert validate(backend_stack, key) is True  # recovers once the store is back
    assert httpx.get(f"{backend_stack.http_url}/ready", timeout=30).status_code == 200


def test_concurrent_creates_and_deletes(api: ApiClient, backend_stack: Stack) -> None:
    cookies = {"session": api.http.cookies["session"]}
    headers = {"Origin": "http://localhost:5153"}

    def create(i: int) -> httpx.Response:
        return httpx.post(
            f"{backend_stack.http_url}/api_keys",
            json={"name": f"k{i}"},
            headers=headers,
            cookies=cookies,
            timeout=60,
        )

    with ThreadPoolExecutor(max_workers=10) as pool:
        created = list(pool.map(create, range(40)))
    assert [r.status_code for r in created] == [201] * 40
    assert len({r.json()["id"] for r in created}) == 40 and len({r.json()["key"] for r in created}) == 40
    assert len(api.list_api_keys()) == 40
    victim = created[0].json()["id"]

    def delete(_: int) -> int:
        return httpx.delete(
            f"{backend_stack.http_url}/api_keys/{victim}", headers=headers, cookies=cookies, timeout=60
        ).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert sorted(pool.map(delete, range(8))) == [204] + [404] * 7
    assert validate(backend_stack, created[0].json()["key"]) is False
    assert validate(backend_stack, created[1].json()["key"]) is True
