"""Several ingesters behind one backend, and the hot tier over gRPC instead of a shared file.

Real processes on loopback: two `python -m ingestion` (own ports, own WAL, own snapshot path,
one PARQUET_OUTPUT_DIR) and one `python -m backend` with INGESTION_TARGETS naming both, run once
with the hot tiers read from the snapshot files ("path") and once received as Arrow IPC over
gRPC ("stream"). Spans go through the OpenTelemetry SDK's OTLP/gRPC exporter, one trace's spans
split over both ingesters the way a round-robin load balancer spreads them. The indexer's poll is
an hour, so the hot tiers and the flush-wal endpoint are what make spans visible.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry import trace

from tests.support.api import OBS, ApiClient
from tests.support.otel import exporting_provider
from tests.support.polling import poll
from tests.support.stack import ExtraIngester, Stack, start_backend, start_extra_ingester, start_ingestion

SERVICE = "split-service"


class TwoIngesters:
    def __init__(self, stack: Stack, second: ExtraIngester, api: ApiClient, key: str, transfer: str) -> None:
        self.stack, self.second, self.api, self.key, self.transfer = stack, second, api, key, transfer

    def get(self, path: str, **params: Any) -> httpx.Response:
        response = self.api.http.get(path, params=params)
        assert response.status_code == 200, response.text
        return response

    def trace_span_ids(self, trace_id: str) -> set[str]:
        return {s["span_id"] for s in self.get(f"{OBS}/traces/{trace_id}/spans").json()}

    def snapshot_files(self) -> list[Path]:
        return [p for p in self.stack.data_dir.rglob("hot_snapshot*.parquet")]

    def parquet_files(self) -> list[Path]:
        return sorted((self.stack.data_dir / "spans" / "parquet").rglob("*.parquet"))

    def send_split_trace(self, children: int) -> tuple[str, set[str], set[str]]:
        """One trace: the root and even children through the first ingester, odd children
        through the second. (trace id, span ids sent to the first, to the second)"""
        first = exporting_provider(SERVICE, self.stack.otlp_endpoint, self.key)
        second = exporting_provider(SERVICE, self.second.otlp_endpoint, self.key)
        ids: tuple[set[str], set[str]] = (set(), set())
        with first.get_tracer("split").start_as_current_span("root") as root:
            trace_id = f"{root.get_span_context().trace_id:032x}"
            ids[0].add(f"{root.get_span_context().span_id:016x}")
            parent = trace.set_span_in_context(root)
            for i in range(children):
                provider = (first, second)[i % 2]
                with provider.get_tracer("split").start_as_current_span(
                    f"child {i}", context=parent
                ) as child:
                    ids[i % 2].add(f"{child.get_span_context().span_id:016x}")
        first.shutdown()
        second.shutdown()
        return trace_id, ids[0], ids[1]


@pytest.fixture(scope="module", params=["path", "stream"])
def two(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoIngesters]:
    transfer: str = request.param
    data = tmp_path_factory.mktemp(f"scaleout-{transfer}")
    # FLUSH_MAX_AGE_SECS: nothing is flushed behind the test's back.
    stack = Stack(data, extra_env={"INDEXER_POLL_INTERVAL": "3600", "FLUSH_MAX_AGE_SECS": "3600"})
    try:
        start_ingestion(stack, data / "logs")
        second = start_extra_ingester(stack, "ingestion-2", data / "logs")
        stack.backend_env = {"INGESTION_TARGETS": stack.ingestion_targets, "HOT_TIER_TRANSFER": transfer}
        start_backend(stack, data / "logs")
        api = ApiClient(stack.http_url)
        api.create_first_user()
        yield TwoIngesters(stack, second, api, api.create_api_key("scaleout"), transfer)
        api.close()
    finally:
        stack.stop()


def test_a_trace_split_over_two_ingesters_is_whole_before_and_after_flush(two: TwoIngesters) -> None:
    trace_id, on_first, on_second = two.send_split_trace(children=7)
    assert on_first and on_second
    everything = on_first | on_second

    seen = poll(lambda: two.trace_span_ids(trace_id), lambda ids: ids == everything)
    assert seen == everything
    assert two.parquet_files() == []  # visible from both hot tiers, before any flush
    if two.transfer == "stream":
        assert two.snapshot_files() == []  # no file was shared: the spans came over gRPC
    listing = two.get(f"{OBS}/services/{SERVICE}/spans", limit=50)
    assert {s["span_id"] for s in listing.json()} == everything
    assert "X-Junjo-Degraded" not in listing.headers
    assert SERVICE in two.get(f"{OBS}/services").json()

    flushed = two.api.http.post("/api/admin/flush-wal")  # goes to both ingesters
    assert flushed.status_code == 200 and flushed.json()["success"] is True, flushed.text
    files = two.parquet_files()
    assert len(files) == 2
    assert len({f.stem.rsplit("_", 1)[1] for f in files}) == 2  # each ingester's id in its names
    spans = two.get(f"{OBS}/traces/{trace_id}/spans").json()
    assert sorted(s["span_id"] for s in spans) == sorted(everything)  # no duplicates across tiers


def test_one_ingester_down_gives_partial_results_not_errors(two: TwoIngesters) -> None:
    trace_id, on_first, on_second = two.send_split_trace(children=5)
    poll(lambda: two.trace_span_ids(trace_id), lambda ids: ids == on_first | on_second)

    assert two.second.proc is not None
    two.second.proc.kill()  # SIGKILL: its unflushed spans stay in its WAL, unreachable

    response = two.get(f"{OBS}/traces/{trace_id}/spans")
    degraded = response.headers.get("X-Junjo-Degraded", "")
    assert degraded.startswith("partial-results")
    assert two.second.internal_target in degraded
    assert {s["span_id"] for s in response.json()} == on_first
    listing = two.get(f"{OBS}/services/{SERVICE}/spans", limit=50)
    assert listing.headers.get("X-Junjo-Degraded", "").startswith("partial-results")
    assert on_first <= {s["span_id"] for s in listing.json()}

    # The reachable ingester flushes; the answer names the other.
    flushed = two.api.http.post("/api/admin/flush-wal")
    assert flushed.status_code == 503, flushed.text
    assert two.second.internal_target in flushed.json()["detail"]
    assert two.parquet_files()
