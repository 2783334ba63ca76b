"""Fixtures for the backend suite: a real `python -m backend` on loopback with its own data dir.

Starting the process costs seconds on a busy 2-core machine, so one process serves a whole test
module and `backend_stack` empties the application database before each test instead. Tests that
leave in-memory state behind (sign-in throttling per address) start their own process.

A module that sets `ENGINES = BOTH_ENGINES` runs every test of it twice: against a backend on
SQLite (the default) and against one on PostgreSQL (JUNJO_DATABASE_URL, tests/support/postgres.py).
The accounts, roles, API key, evaluation token and evaluation API suites do; the rest run on SQLite.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, make_url, text

from tests.support.api import ApiClient
from tests.support.postgres import ENGINES, PG_BIN, PostgresServer
from tests.support.stack import Stack, start_backend

BOTH_ENGINES = ENGINES


def sqlite_path(stack: Stack) -> Path:
    return Path(stack.env()["JUNJO_SQLITE_PATH"])


def database_url(stack: Stack) -> str:
    """The SQLAlchemy URL of the stack's application database (PostgreSQL or the SQLite file)."""
    return stack.backend_env.get("JUNJO_DATABASE_URL") or f"sqlite+pysqlite:///{sqlite_path(stack)}"


def run_sql(stack: Stack, statement: str, **params: Any) -> list[tuple[Any, ...]]:
    """Runs one statement on the stack's database from outside the backend; returns its rows."""
    engine = create_engine(database_url(stack))
    try:
        with engine.begin() as conn:
            result = conn.execute(text(statement), params)
            return [tuple(r) for r in result] if result.returns_rows else []
    finally:
        engine.dispose()


def database_dump(stack: Stack) -> str:
    """Everything the database holds, as SQL text (SQLite's iterdump; pg_dump on PostgreSQL)."""
    url = make_url(database_url(stack))
    if url.get_backend_name() == "sqlite":
        with sqlite3.connect(sqlite_path(stack)) as conn:
            dump = "\n".join(conn.iterdump())
        conn.close()
        return dump
    out = subprocess.run(
        [
            str(PG_BIN / "pg_dump"),
            f"--host={url.host}",
            f"--port={url.port}",
            f"--username={url.username}",
            f"--dbname={url.database}",
        ],
        env={**os.environ, "PGPASSWORD": str(url.password)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return out.stdout


@pytest.fixture(scope="module")
def module_backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, backend_engine: str
) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("backend")
    stack = Stack(root / "data")
    if backend_engine == "postgresql":
        server: PostgresServer = request.getfixturevalue("postgres_server")
        stack.backend_env["JUNJO_DATABASE_URL"] = server.create_database()
    try:
        start_backend(stack, root / "logs")
        yield stack
    finally:
        stack.stop()


@pytest.fixture
def backend_stack(module_backend: Stack) -> Stack:
    """The module's backend with no users and no API keys."""
    run_sql(module_backend, "DELETE FROM api_keys")
    run_sql(module_backend, "DELETE FROM users")
    return module_backend


@pytest.fixture
def api(backend_stack: Stack) -> Iterator[ApiClient]:
    """A client with the first user already created and signed in."""
    with ApiClient(backend_stack.http_url) as client:
        client.create_first_user()
        yield client
