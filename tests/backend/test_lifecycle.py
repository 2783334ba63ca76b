"""Process lifecycle of `python -m backend`: graceful SIGTERM, port conflicts, a dying gRPC
server, restarts with migrations, and the JUNJO_LOG_LEVEL / JUNJO_LOG_FORMAT settings."""

from __future__ import annotations

import asyncio
import json
import socket
import sqlite3
from pathlib import Path

import grpc
import httpx
import pytest

from backend import server as backend_server
from backend.db.migrate import upgrade
from backend.settings import Settings
from tests.support.procs import ServiceProcess
from tests.support.stack import Stack, start_backend


def test_sigterm_stops_cleanly_and_restart_keeps_data(tmp_path: Path) -> None:
    """First run with text logs (checked below), second run on the same data with JSON logs."""
    stack = Stack(tmp_path / "data", extra_env={"JUNJO_LOG_LEVEL": "info", "JUNJO_LOG_FORMAT": "text"})
    first = start_backend(stack, tmp_path / "logs")
    httpx.post(
        f"{stack.http_url}/users/create-first-user",
        headers={"Origin": "http://localhost:5153"},
        json={"email": "keep@example.com", "password": "persisted!"},
    ).raise_for_status()
    assert first.stop() == 0
    lines = [line for line in first.log().splitlines() if line.strip()]
    assert any("[info" in line and "internal_grpc_listening" in line for line in lines)
    assert any("backend_stopped" in line for line in lines)
    for line in lines:
        with pytest.raises(json.JSONDecodeError):
            json.loads(line)
    assert stack.session_secret not in first.log() and stack.cookie_key not in first.log()
    # Second start on the same data: migrations are a no-op, the user is still there.
    stack.extra_env = {}
    try:
        second = start_backend(stack, tmp_path / "logs2")
        assert httpx.get(f"{stack.http_url}/users/db-has-users").json() == {"users_exist": True}
    finally:
        stack.stop()
    assert second.proc is not None and second.proc.returncode == 0
    assert all(json.loads(line)["service"] == "backend" for line in second.log().splitlines() if line)


def _expect_failure(stack: Stack, tmp_path: Path, text: str) -> str:
    proc = ServiceProcess("backend", stack.env(), tmp_path / "fail.log").start()
    try:
        assert proc.proc is not None
        assert proc.proc.wait(120) == 1
    finally:
        proc.kill()
    log = proc.log()
    assert text in log, log
    return log


def test_grpc_port_in_use_fails_fast(tmp_path: Path) -> None:
    stack = Stack(tmp_path / "data")
    with socket.socket() as busy:
        busy.bind(("0.0.0.0", stack.backend_grpc_port))
        busy.listen()
        _expect_failure(stack, tmp_path, f"GRPC_PORT {stack.backend_grpc_port}")


def test_http_port_in_use_fails(tmp_path: Path) -> None:
    stack = Stack(tmp_path / "data")
    with socket.socket() as busy:
        busy.bind(("0.0.0.0", stack.http_port))
        busy.listen()
        _expect_failure(stack, tmp_path, "address already in use")


def test_failed_migration_is_reported(tmp_path: Path) -> None:
    stack = Stack(tmp_path / "data")
    db = Path(stack.env()["JUNJO_SQLITE_PATH"])
    db.parent.mkdir(parents=True)
    db.write_bytes(b"this is not a sqlite database" * 100)
    _expect_failure(stack, tmp_path, "migrations_failed")


def test_process_stops_when_the_grpc_server_dies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """serve() in this process; the real gRPC server is stopped from outside -> exit code 1."""
    stack = Stack(tmp_path / "data")
    monkeypatch.chdir(tmp_path)
    for name, value in stack.env().items():
        monkeypatch.setenv(name, value)
    settings = Settings()  # type: ignore[call-arg]
    upgrade(settings.database_url)
    started: list[grpc.aio.Server] = []
    real_start = backend_server.start_grpc_server

    async def keep_handle(*args: object, **kwargs: object) -> grpc.aio.Server:
        server = await real_start(*args, **kwargs)  # type: ignore[arg-type]
        started.append(server)
        return server

    monkeypatch.setattr(backend_server, "start_grpc_server", keep_handle)

    async def scenario() -> int:
        task = asyncio.create_task(backend_server.serve(settings))
        async with httpx.AsyncClient() as client:
            for _ in range(600):
                try:
                    if (await client.get(f"{stack.http_url}/health")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
        await started[0].stop(None)
        return await asyncio.wait_for(task, 60)

    assert asyncio.run(scenario()) == 1


def _sqlite_tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall()
    conn.close()
    return {r[0] for r in rows}


def test_log_level_and_json_format_are_honoured(tmp_path: Path) -> None:
    stack = Stack(tmp_path / "data", extra_env={"JUNJO_LOG_LEVEL": "warn", "JUNJO_LOG_FORMAT": "json"})
    try:
        start_backend(stack, tmp_path / "logs")
        db = Path(stack.env()["JUNJO_SQLITE_PATH"])
        assert "users" in _sqlite_tables(db)
        with sqlite3.connect(db) as conn:
            conn.execute("ALTER TABLE users RENAME TO users_away")  # makes /ready log a warning
        assert httpx.get(f"{stack.http_url}/ready", timeout=30).status_code == 503
        with sqlite3.connect(db) as conn:
            conn.execute("ALTER TABLE users_away RENAME TO users")
        conn.close()
    finally:
        stack.stop()
    assert stack.backend is not None
    entries = [json.loads(line) for line in stack.backend.log().splitlines() if line.strip()]
    assert entries, "expected at least the warning"
    assert {e["level"] for e in entries} <= {"warning", "error", "critical"}
    assert any(e["event"] == "readiness_database_unavailable" for e in entries)
    assert all(e["service"] == "backend" and "timestamp" in e for e in entries)
