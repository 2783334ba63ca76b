"""Retention and indexing in a real `python -m backend` (no ingestion running: cold-only, degraded).

JUNJO_RETENTION_DAYS is honoured by the backend's own indexer loop: files whose newest span is
older than the limit disappear from disk and from query results, newer files stay.
"""

from __future__ import annotations

import time
from pathlib import Path

from tests.query.spanfiles import cold_path, new_trace_id, span, write_span_file
from tests.support.api import OBS, ApiClient
from tests.support.polling import poll
from tests.support.stack import Stack, start_backend

DAY_NS = 86_400 * 10**9


def test_retention_deletes_expired_files_and_queries_keep_answering(tmp_path: Path) -> None:
    stack = Stack(tmp_path, extra_env={"JUNJO_RETENTION_DAYS": "30", "INDEXER_POLL_INTERVAL": "0.2"})
    root = tmp_path / "spans" / "parquet"
    now = time.time_ns()
    old_trace, new_trace = new_trace_id(), new_trace_id()
    old = write_span_file(
        cold_path(root, "old"), [span(old_trace, service="kept", start_ns=now - 40 * DAY_NS)]
    )
    new = write_span_file(cold_path(root, "new"), [span(new_trace, service="kept", start_ns=now)])
    try:
        start_backend(stack, tmp_path / "logs")
        with ApiClient(stack.http_url) as api:
            api.create_first_user()
            poll(lambda: old.exists(), lambda exists: not exists)
            assert new.exists()
            response = api.http.get(f"{OBS}/traces/{new_trace}/spans")
            assert response.status_code == 200 and len(response.json()) == 1
            assert response.headers["X-Junjo-Degraded"] == "ingestion-unavailable"
            assert api.http.get(f"{OBS}/traces/{old_trace}/spans").json() == []
            roots = api.http.get(f"{OBS}/services/kept/spans/root")
            assert [r["trace_id"] for r in roots.json()] == [new_trace]
            assert roots.headers["X-Total-Count"] == "1"
    finally:
        stack.stop()
