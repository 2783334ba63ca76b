"""Fixtures for the backend suite: a real `python -m backend` on loopback with its own data dir.

Starting the process costs seconds on a busy 2-core machine, so one process serves a whole test
module and `backend_stack` empties junjo.db before each test instead. Tests that leave in-memory
state behind (sign-in throttling per address) start their own process.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.api import ApiClient
from tests.support.stack import Stack, start_backend


def sqlite_path(stack: Stack) -> Path:
    return Path(stack.env()["JUNJO_SQLITE_PATH"])


@pytest.fixture(scope="module")
def module_backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("backend")
    stack = Stack(root / "data")
    try:
        start_backend(stack, root / "logs")
        yield stack
    finally:
        stack.stop()


@pytest.fixture
def backend_stack(module_backend: Stack) -> Stack:
    """The module's backend with no users and no API keys."""
    with sqlite3.connect(sqlite_path(module_backend), timeout=30) as conn:
        conn.execute("DELETE FROM api_keys")
        conn.execute("DELETE FROM users")
    conn.close()
    return module_backend


@pytest.fixture
def api(backend_stack: Stack) -> Iterator[ApiClient]:
    """A client with the first user already created and signed in."""
    with ApiClient(backend_stack.http_url) as client:
        client.create_first_user()
        yield client
