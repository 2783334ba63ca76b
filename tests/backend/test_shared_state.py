"""Two backends on loopback sharing one PostgreSQL (JUNJO_DATABASE_URL) and one Parquet directory,
as behind a load balancer: a user signed in on one is signed in on the other (the cookie carries
only the user's id and session revision; both share JUNJO_SESSION_SECRET and
JUNJO_SECURE_COOKIE_KEY), signing out on one ends the session on both, keys made on one are listed
on the other, and every Parquet file is indexed once, by one of them, and served by both."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from tests.query.spanfiles import BASE_NS, cold_path, new_trace_id, span, write_span_file
from tests.support.api import OBS, ApiClient
from tests.support.polling import wait_for
from tests.support.postgres import PostgresServer
from tests.support.stack import Stack, start_backend


def _files_indexed(stack: Stack) -> int:
    assert stack.backend is not None
    lines = [json.loads(line) for line in stack.backend.log().splitlines() if line.startswith("{")]
    return sum(line["count"] for line in lines if line.get("event") == "index_files_added")


def _serves(stack: Stack, cookie: str, trace: str) -> bool:
    r = httpx.get(f"{stack.http_url}{OBS}/traces/{trace}/spans", cookies={"session": cookie}, timeout=30)
    return r.status_code == 200 and len(r.json()) == 1


def test_two_backends_share_sessions_keys_and_the_index(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    parquet = tmp_path / "shared" / "parquet"
    traces = [new_trace_id() for _ in range(8)]
    for i, trace in enumerate(traces):
        write_span_file(cold_path(parquet, f"f{i}"), [span(trace, start_ns=BASE_NS + i)])
    shared = {
        "JUNJO_DATABASE_URL": postgres_server.create_database(),
        "JUNJO_PARQUET_STORAGE_PATH": str(parquet),
        "INDEXER_POLL_INTERVAL": "0.1",
    }
    first = Stack(tmp_path / "a", backend_env=dict(shared))
    second = Stack(
        tmp_path / "b",
        session_secret=first.session_secret,
        cookie_key=first.cookie_key,
        backend_env=dict(shared),
    )
    try:
        start_backend(first, tmp_path / "a-logs")
        start_backend(second, tmp_path / "b-logs")
        with ApiClient(first.http_url) as on_first:
            on_first.create_first_user()
            key = on_first.create_api_key("shared")
            cookie = on_first.http.cookies["session"]
        with ApiClient(second.http_url) as on_second:
            on_second.http.cookies.set("session", cookie)
            assert on_second.http.get("/auth-test").status_code == 200
            assert [k["prefix"] for k in on_second.list_api_keys()] == [key[:8]]
            for trace in traces:
                wait_for(lambda t=trace: _serves(first, cookie, t) and _serves(second, cookie, t), timeout=60)
            on_second.sign_out()  # ends every session of the user, on every backend
        assert httpx.get(f"{first.http_url}/auth-test", cookies={"session": cookie}).status_code == 401
        assert _files_indexed(first) + _files_indexed(second) == len(traces)
    finally:
        first.stop()
        second.stop()
    assert postgres_server.password not in first.backend.log() + second.backend.log()  # type: ignore[union-attr]
