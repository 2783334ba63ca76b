"""Data files are private to the service user: the real `python -m backend` and `python -m
ingestion`, started with the usual umask 022, create every database, WAL segment, snapshot and
Parquet file 0600 and every directory 0700."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.api import ApiClient
from tests.support.otel import exporting_provider
from tests.support.polling import wait_for
from tests.support.stack import Stack, start_backend, start_ingestion


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    previous = os.umask(0o022)  # the services must not depend on the caller's umask
    stack = Stack(tmp_path / "data")
    try:
        start_backend(stack, tmp_path / "logs")
        start_ingestion(stack, tmp_path / "logs")
        yield stack
    finally:
        stack.stop()
        os.umask(previous)


def test_every_data_file_and_directory_is_private(stack: Stack) -> None:
    with ApiClient(stack.http_url) as api:
        api.create_first_user()
        key = api.create_api_key()
        provider = exporting_provider("modes-service", stack.otlp_endpoint, key)
        with provider.get_tracer("modes").start_as_current_span("work"):
            pass
        provider.shutdown()
        assert api.http.get("/api/v1/observability/services").json() == ["modes-service"]  # hot snapshot
        snapshot = Path(stack.env()["SNAPSHOT_PATH"])
        assert stat.S_IMODE(snapshot.stat().st_mode) == 0o600
        assert api.http.post("/api/admin/flush-wal").status_code == 200
        wait_for(lambda: api.http.get("/api/v1/observability/services").json() == ["modes-service"])
    env = stack.env()
    expected = [
        Path(env["JUNJO_SQLITE_PATH"]),
        Path(env["JUNJO_METADATA_DB_PATH"]),
        Path(env["WAL_DIR"]),
        *Path(env["PARQUET_OUTPUT_DIR"]).rglob("*.parquet"),
    ]
    assert all(p.exists() for p in expected) and len(expected) > 3, expected
    loose = {}
    for path in [stack.data_dir, *stack.data_dir.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        if mode & 0o077:
            loose[str(path.relative_to(stack.data_dir))] = oct(mode)
    assert not loose, loose
