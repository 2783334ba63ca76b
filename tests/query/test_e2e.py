"""End to end: real `python -m ingestion` and `python -m backend`, real OTLP exporters, real REST.

A Junjo 0.69 workflow (subflow, concurrent nodes, state updates, a failing node) and plain
OpenTelemetry traces are sent with an API key created through the REST API; the span API must
return them complete — from the hot snapshot before any flush, across a flush whose file is not
indexed yet, after indexing, and while flushes race queries — with no duplicates and no gap.
The indexer's poll is set to an hour so only the flush-wal endpoint indexes: the unindexed window
is real and wide. Faults (bad ids, hostile parameters, corrupt files, ingestion down) come last.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest

from junjo_common.internal_token import call_metadata
from junjo_common.proto_gen import ingestion_pb2, ingestion_pb2_grpc
from tests.query.spanfiles import cold_path, new_trace_id, span, write_span_file
from tests.support.api import OBS, ApiClient
from tests.support.otel import exporting_provider
from tests.support.polling import poll
from tests.support.procs import run_sender
from tests.support.stack import Stack, internal_token, signed_in_stack, start_ingestion

JUNJO_SERVICE = "junjo-e2e"
PLAIN_SERVICE = "plain/otel service"  # a slash: exercises {service_name:path}


class Env:
    def __init__(self, stack: Stack, api: ApiClient, key: str) -> None:
        self.stack, self.api, self.key = stack, api, key

    def get(self, path: str, **params: Any) -> httpx.Response:
        response = self.api.http.get(path, params=params)
        assert response.status_code < 500, response.text
        return response

    def document(self, trace_id: str) -> dict[str, Any] | None:
        response = self.get(f"/api/v1/trace-document/{trace_id}")
        return response.json() if response.status_code == 200 else None

    def trace_spans(self, trace_id: str) -> list[dict[str, Any]]:
        response = self.get(f"{OBS}/traces/{trace_id}/spans")
        assert response.status_code == 200, response.text
        return response.json()

    def wait_trace(self, trace_id: str, count: int) -> list[dict[str, Any]]:
        return poll(lambda: self.trace_spans(trace_id), lambda spans: len(spans) == count)

    def flush_wal_direct(self) -> None:
        """FlushWAL straight to ingestion: a cold file the backend has not indexed."""
        with grpc.insecure_channel(f"127.0.0.1:{self.stack.internal_port}") as channel:
            stub = ingestion_pb2_grpc.InternalIngestionServiceStub(channel)
            reply = stub.FlushWAL(
                ingestion_pb2.FlushWALRequest(),
                metadata=call_metadata(internal_token(self.stack)),
                timeout=60,
            )
        assert reply.success, reply.error_message

    def parquet_files(self) -> list[Path]:
        return sorted((self.stack.data_dir / "spans" / "parquet").rglob("*.parquet"))

    def send_junjo(self) -> dict[str, Any]:
        return run_sender(
            "tests.support.junjo_demo",
            self.stack.otlp_endpoint,
            self.key,
            JUNJO_SERVICE,
            "--app",
            "tests.query.junjo_app:run_workflow",
        )

    def send_plain(
        self, traces: int, spans_per_trace: int, service: str = PLAIN_SERVICE
    ) -> dict[str, set[str]]:
        provider = exporting_provider(service, self.stack.otlp_endpoint, self.key)
        tracer = provider.get_tracer("e2e")
        sent: dict[str, set[str]] = {}
        for i in range(traces):
            with tracer.start_as_current_span(f"GET /items/{i}") as root:
                tid = f"{root.get_span_context().trace_id:032x}"
                sent[tid] = {f"{root.get_span_context().span_id:016x}"}
                for j in range(spans_per_trace - 1):
                    with tracer.start_as_current_span(f"db query {j}") as child:
                        sent[tid].add(f"{child.get_span_context().span_id:016x}")
        provider.shutdown()
        return sent


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    with signed_in_stack(tmp_path_factory.mktemp("query-e2e")) as (stack, api):
        yield Env(stack, api, api.create_api_key("e2e"))


def _assert_complete_workflow(doc: dict[str, Any] | None, sent: dict[str, Any]) -> None:
    assert doc is not None
    ids = [s["span_id"] for s in doc["spans"]]
    assert len(ids) == len(set(ids)) == len(sent["span_ids"]) and set(ids) == set(sent["span_ids"])
    names = {s["name"] for s in doc["spans"]}
    assert {
        "demo_workflow",
        "doubler",
        "parallel",
        "CountNode",
        "LeftNode",
        "RightNode",
        "DoubleNode",
        "BoomNode",
    } <= names
    assert doc["diagnostics"] == []
    workflows = {w["name"]: w for w in doc["workflows"].values()}
    main = workflows["demo_workflow"]
    assert main["status_code"] == "2"  # the failing node fails the workflow
    assert main["graph"]["v"] == 2 and main["graph_error"] is None
    store = main["store"]
    assert store["status"] == "verified", store["reasons"]
    assert len(store["transitions"]) == 5
    assert all(t["before"] is not None and t["after"] is not None for t in store["transitions"])
    assert store["transitions"][-1]["after"] == store["end"]
    assert workflows["doubler"]["store"]["status"] == "verified"
    boom = next(s for s in doc["spans"] if s["name"] == "BoomNode")
    assert boom["status_code"] == "2" and boom["status_message"] == "boom in node"


def test_junjo_workflow_hot_then_unindexed_cold_then_indexed(env: Env) -> None:
    assert env.parquet_files() == []
    sent = env.send_junjo()
    trace_id = sent["trace_id"]

    # 1. before any cold flush: served from the hot snapshot
    doc = poll(
        lambda: env.document(trace_id), lambda d: d is not None and len(d["spans"]) == len(sent["span_ids"])
    )
    _assert_complete_workflow(doc, sent)
    assert env.parquet_files() == []

    # 2. flushed but not indexed (poll interval is an hour): served through recent cold paths
    env.flush_wal_direct()
    assert env.parquet_files()
    _assert_complete_workflow(env.document(trace_id), sent)

    # 3. indexed by the flush-wal endpoint (which also flushes; nothing new here)
    result = env.api.http.post("/api/admin/flush-wal")
    assert result.status_code == 200, result.text
    assert result.json()["success"] is True and result.json()["files_indexed"] >= 1
    _assert_complete_workflow(env.document(trace_id), sent)

    # the listings find it: workflows, root spans, services
    workflows = env.get(f"{OBS}/services/{JUNJO_SERVICE}/workflows").json()
    assert [w["span_id"] for w in workflows if w["trace_id"] == trace_id] == [
        s
        for s in sent["span_ids"]
        if any(x["span_id"] == s and x["name"] == "demo_workflow" for x in doc["spans"])
    ]
    roots = env.get(f"{OBS}/services/{JUNJO_SERVICE}/spans/root", errors_only="true").json()
    assert any(r["trace_id"] == trace_id and r["name"] == "demo_workflow" for r in roots)
    assert JUNJO_SERVICE in env.get(f"{OBS}/services").json()
    node = next(s for s in doc["spans"] if s["name"] == "CountNode")
    one = env.get(f"{OBS}/traces/{trace_id}/spans/{node['span_id']}")
    assert one.status_code == 200 and one.json()["attributes_json"]["junjo.span_type"] == "node"
    assert env.get(f"{OBS}/traces/{trace_id}/spans/{'0' * 16}").status_code == 404


def test_plain_otel_traces_show_in_services_and_traces(env: Env) -> None:
    sent = env.send_plain(traces=3, spans_per_trace=3)
    services = poll(lambda: env.get(f"{OBS}/services").json(), lambda s: PLAIN_SERVICE in s)
    assert services == sorted(services)
    for trace_id, span_ids in sent.items():
        spans = env.wait_trace(trace_id, len(span_ids))
        assert {s["span_id"] for s in spans} == span_ids
        assert all(s["service_name"] == PLAIN_SERVICE and s["kind"] == "INTERNAL" for s in spans)
    encoded = PLAIN_SERVICE.replace("/", "%2F")
    roots = env.get(f"{OBS}/services/{encoded}/spans/root").json()
    assert {r["trace_id"] for r in roots} >= set(sent)
    assert all(r["parent_span_id"] is None for r in roots)
    named = env.get(f"{OBS}/services/{encoded}/spans", name="db query 1").json()
    assert {s["name"] for s in named} == {"db query 1"} and len(named) == len(sent)


def test_pagination_is_complete_without_duplicates(env: Env) -> None:
    service = "paged-service"
    sent = env.send_plain(traces=12, spans_per_trace=2, service=service)
    env.flush_wal_direct()  # half of it cold and unindexed, the rest hot
    more = env.send_plain(traces=5, spans_per_trace=2, service=service)
    expected = {s for ids in (*sent.values(), *more.values()) for s in ids}

    def collect() -> list[str]:
        got: list[str] = []
        cursor = None
        while True:
            params = {"limit": 7, **({"cursor": cursor} if cursor else {})}
            response = env.get(f"{OBS}/services/{service}/spans", **params)
            assert response.status_code == 200
            got.extend(s["span_id"] for s in response.json())
            cursor = response.headers.get("X-Next-Cursor")
            if not cursor:
                return got

    got = poll(collect, lambda g: set(g) == expected)
    assert len(got) == len(set(got)) == len(expected)


def test_list_totals_are_exact_with_unflushed_spans_across_a_flush(env: Env) -> None:
    """Spans still in the WAL count in the totals beside indexed ones, each once: also in the
    moment after a flush when the hot snapshot (cached briefly) still holds the flushed spans."""
    service = "totals-service"
    roots = f"{OBS}/services/{service}/spans/root"
    spans = f"{OBS}/services/{service}/spans"

    def totals() -> tuple[tuple[str | None, str | None], ...]:
        answers = (
            env.get(roots, limit=2),
            env.get(spans, limit=2),
            env.get(spans, limit=2, errors_only="true"),
        )
        return tuple(
            (a.headers.get("X-Total-Count"), a.headers.get("X-Total-Count-Approximate")) for a in answers
        )

    def exact(n_roots: int, n_spans: int) -> tuple[tuple[str, str], ...]:
        return ((str(n_roots), "false"), (str(n_spans), "false"), ("0", "false"))

    env.send_plain(traces=3, spans_per_trace=3, service=service)  # in the WAL only
    poll(totals, lambda t: t == exact(3, 9))
    env.flush_wal_direct()  # a cold file the backend has not indexed, and nothing hot
    env.send_plain(traces=2, spans_per_trace=2, service=service)
    poll(totals, lambda t: t == exact(5, 13))
    assert env.api.http.post("/api/admin/flush-wal").status_code == 200  # indexes the first file
    assert totals() == exact(5, 13)  # the flushed spans may still be in the cached snapshot
    env.send_plain(traces=1, spans_per_trace=4, service=service)
    poll(totals, lambda t: t == exact(6, 17))
    assert env.api.http.post("/api/admin/flush-wal").status_code == 200
    assert totals() == exact(6, 17)


def test_flush_racing_queries_never_loses_or_duplicates(env: Env) -> None:
    sent = env.send_plain(traces=10, spans_per_trace=4, service="race-service")
    for trace_id, ids in sent.items():
        env.wait_trace(trace_id, len(ids))
    errors: list[str] = []
    stop = threading.Event()

    def query_loop() -> None:
        with ApiClient(env.stack.http_url) as api:
            api.sign_in()
            while not stop.is_set():
                for trace_id, ids in sent.items():
                    got = [s["span_id"] for s in api.http.get(f"{OBS}/traces/{trace_id}/spans").json()]
                    if sorted(got) != sorted(ids):
                        errors.append(f"{trace_id}: got {len(got)} spans, expected {len(ids)}")

    threads = [threading.Thread(target=query_loop) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        for _ in range(3):  # flushes (with and without indexing) while queries run
            env.send_plain(traces=2, spans_per_trace=2, service="race-noise")
            env.flush_wal_direct()
            assert env.api.http.post("/api/admin/flush-wal").status_code == 200
    finally:
        stop.set()
        for t in threads:
            t.join(60)
    assert errors == []


def test_unauthenticated_requests_get_401(env: Env) -> None:
    tid = new_trace_id()
    with httpx.Client(base_url=env.stack.http_url, headers={"Origin": "http://localhost:5153"}) as anon:
        for path in [
            f"{OBS}/services",
            f"{OBS}/services/x/spans",
            f"{OBS}/services/x/spans/root",
            f"{OBS}/services/x/workflows",
            f"{OBS}/traces/{tid}/spans",
            f"{OBS}/traces/{tid}/spans/{'a' * 16}",
            f"/api/v1/trace-document/{tid}",
        ]:
            assert anon.get(path).status_code == 401, path
        assert anon.post("/api/admin/flush-wal").status_code == 401


def test_malformed_ids_and_hostile_parameters(env: Env) -> None:
    for bad in ["abc", "g" * 32, "a" * 33, "'%20OR%201=1", "a" * 31 + "%00"]:
        assert env.get(f"{OBS}/traces/{bad}/spans").status_code == 422, bad
        assert env.get(f"/api/v1/trace-document/{bad}").status_code == 422, bad
    assert env.get(f"{OBS}/traces/{new_trace_id()}/spans/xyz").status_code == 422
    assert env.get(f"/api/v1/trace-document/{new_trace_id()}").status_code == 404
    assert env.get(f"{OBS}/traces/{new_trace_id()}/spans").json() == []
    base = f"{OBS}/services/{JUNJO_SERVICE}/spans"
    for params in [
        {"limit": 0},
        {"limit": 251},
        {"limit": -1},
        {"limit": "ten"},
        {"cursor": "not-a-cursor"},
        {"start_time": "yesterday"},
        {"start_time": "2026-02-01T00:00:00Z", "end_time": "2026-01-01T00:00:00Z"},
        {"errors_only": "maybe"},
        {"name": "x" * 201},
    ]:
        assert env.get(base, **params).status_code == 422, params
    for params in [{"name": "' OR 1=1 --"}, {"name": "%"}, {"name": "\\"}, {"name": "😀"}]:
        response = env.get(base, **params)
        assert response.status_code == 200 and response.json() == [], params
    underscored = env.get(base, name="_").json()  # a literal underscore, not a LIKE wildcard
    assert underscored and all("_" in s["name"] for s in underscored)
    assert env.get(f"{OBS}/services/%27%3B%20DROP%20TABLE%20x%3B--/spans").json() == []
    assert env.api.http.get(f"{base}?name=%ED%A0%80").status_code in (200, 422)  # invalid UTF-8: no 500
    assert (
        env.get(base, start_time="0001-01-01T00:00:00Z", end_time="9999-12-31T23:59:59Z").status_code == 200
    )
    assert env.get(f"{OBS}/services/a%00b/spans/root").json() == []
    ranged = env.get(base, start_time="2000-01-01T00:00:00Z", end_time="2000-01-02T00:00:00")
    assert ranged.status_code == 200 and ranged.json() == []


def test_corrupt_and_empty_parquet_files_are_skipped(env: Env) -> None:
    root = env.stack.data_dir / "spans" / "parquet"
    garbage = cold_path(root, "zz_garbage")
    garbage.parent.mkdir(parents=True, exist_ok=True)
    garbage.write_bytes(b"PAR1 definitely not parquet")
    cold_path(root, "zz_empty").touch()
    trace = new_trace_id()
    later_corrupted = write_span_file(
        cold_path(root, "zz_later_corrupted"), [span(trace, service=JUNJO_SERVICE)]
    )
    assert env.api.http.post("/api/admin/flush-wal").json()["files_indexed"] == 1
    assert len(env.trace_spans(trace)) == 1
    later_corrupted.write_bytes(later_corrupted.read_bytes()[:100])  # truncated after indexing
    response = env.get(f"{OBS}/traces/{trace}/spans")
    assert response.status_code == 200 and response.json() == []
    assert response.headers["X-Junjo-Skipped-Files"] == "1"
    listing = env.get(f"{OBS}/services/{JUNJO_SERVICE}/spans", limit=250)
    assert listing.status_code == 200 and len(listing.json()) >= 8
    assert env.get(f"{OBS}/services").status_code == 200


def test_ingestion_down_degrades_to_indexed_data(env: Env) -> None:
    hot_only = env.send_plain(traces=1, spans_per_trace=2, service="hot-then-down")
    [(trace_id, ids)] = hot_only.items()
    poll(lambda: env.trace_spans(trace_id), lambda s: len(s) == 2)
    workflows_before = env.get(f"{OBS}/services/{JUNJO_SERVICE}/workflows").json()
    assert env.stack.ingestion is not None
    env.stack.ingestion.kill()  # SIGKILL: no final flush, the spans stay in the WAL

    response = env.get(f"{OBS}/services/{JUNJO_SERVICE}/workflows")
    assert response.status_code == 200
    assert response.headers["X-Junjo-Degraded"] == "ingestion-unavailable"
    assert [w["span_id"] for w in response.json()] == [w["span_id"] for w in workflows_before]
    assert env.get(f"{OBS}/traces/{trace_id}/spans").headers["X-Junjo-Degraded"] == "ingestion-unavailable"
    assert env.get(f"{OBS}/services").status_code == 200
    flush = env.api.http.post("/api/admin/flush-wal")
    assert flush.status_code == 503 and "ingestion unavailable" in flush.json()["detail"]

    # back up: the WAL is recovered and the hot spans are visible again
    start_ingestion(env.stack, env.stack.data_dir / "logs")
    spans = poll(
        lambda: env.get(f"{OBS}/traces/{trace_id}/spans"),
        lambda r: "X-Junjo-Degraded" not in r.headers and len(r.json()) == 2,
    )
    assert {s["span_id"] for s in spans.json()} == ids
