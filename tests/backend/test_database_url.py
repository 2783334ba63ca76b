"""JUNJO_DATABASE_URL: the backend on PostgreSQL never writes the database password anywhere it
logs, whether it starts, serves, or fails to reach the database."""

from __future__ import annotations

from pathlib import Path

from tests.support.api import ApiClient
from tests.support.postgres import PostgresServer
from tests.support.procs import ServiceProcess
from tests.support.stack import Stack, start_backend


def test_backend_on_postgresql_logs_the_url_without_its_password(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    stack = Stack(tmp_path / "data", extra_env={"JUNJO_LOG_LEVEL": "debug"})
    url = postgres_server.create_database()
    stack.backend_env["JUNJO_DATABASE_URL"] = url
    try:
        backend = start_backend(stack, tmp_path / "logs")
        with ApiClient(stack.http_url) as client:
            client.create_first_user()
            client.create_api_key("ingest")
            assert (
                client.http.post("/sign-in", json={"email": "x@example.com", "password": "nope"}).status_code
                == 401
            )
    finally:
        stack.stop()
    log = backend.log()
    assert "migrations_applied" in log and f"127.0.0.1:{postgres_server.port}" in log  # the URL is logged
    assert postgres_server.password not in log
    assert not (tmp_path / "data" / "sqlite" / "junjo.db").exists()  # nothing went to the SQLite default


def test_database_refusing_the_password_fails_startup_without_printing_it(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    wrong = "wrong-pass-w0rd-not-printed"
    url = postgres_server.create_database().replace(postgres_server.password, wrong)
    stack = Stack(tmp_path / "data")
    proc = ServiceProcess(
        "backend", stack.env() | {"JUNJO_DATABASE_URL": url}, tmp_path / "backend.log"
    ).start()
    try:
        assert proc.proc is not None
        code = proc.proc.wait(timeout=120)
    finally:
        proc.stop()
    log = proc.log()
    assert code != 0 and "migrations_failed" in log, log
    assert "password authentication failed" in log
    assert wrong not in log and postgres_server.password not in log
