"""The real `python -m ingestion` process with the real backend validating API keys.

Real OTLP clients: the opentelemetry-exporter-otlp-proto-grpc exporter, the Junjo SDK's
JunjoOtelExporter (in a subprocess), and raw gRPC stubs for malformed input.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import grpc
import orjson
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from junjo_common.proto_gen import ingestion_pb2
from tests.ingestion.test_convert import _nested_attribute_request, good_span, request_with
from tests.ingestion.workload import make_request
from tests.support.otel import exporting_provider
from tests.support.polling import wait_for
from tests.support.procs import ROOT, free_port, run_sender


def test_otel_sdk_exporter_spans_are_stored(ingestion_factory) -> None:
    ing = ingestion_factory().start()
    assert '"converter": "compiled"' in ing.proc.log(), "the service must run the compiled fast path"
    assert '"segment_reader": "compiled"' in ing.proc.log(), "the service must run the compiled reader"
    assert '"arrow_pool": "mimalloc"' in ing.proc.log(), "ingestion's allocator choice (allocators.py)"
    provider = exporting_provider("otel-sdk-app", ing.stack.otlp_endpoint, ing.key)
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("parent") as parent:
        parent.set_attribute("answer", 42)
        with tracer.start_as_current_span("child") as child:
            child.add_event("hello", {"n": 1})
    provider.shutdown()
    trace_id = format(parent.get_span_context().trace_id, "032x")
    hot = ing.stored_table()
    rows = hot.filter(pc.equal(hot["trace_id"], trace_id)).to_pylist()
    assert sorted(r["name"] for r in rows) == ["child", "parent"]
    parent_row = next(r for r in rows if r["name"] == "parent")
    assert parent_row["service_name"] == "otel-sdk-app" and parent_row["parent_span_id"] is None
    assert orjson.loads(parent_row["attributes"]) == {"answer": 42}
    child_row = next(r for r in rows if r["name"] == "child")
    assert orjson.loads(child_row["events"])[0]["name"] == "hello"
    ing.flush()  # and the same rows once they are cold
    assert ing.snapshot().snapshot_path == ""
    assert ing.stored_table(["trace_id"])["trace_id"].to_pylist().count(trace_id) == 2


def test_junjo_sdk_workflow_is_stored(ingestion_factory) -> None:
    ing = ingestion_factory().start()
    trace_id = run_sender(
        "tests.support.junjo_demo",
        ing.stack.otlp_endpoint,
        ing.key,
        "junjo-probe",
        "--app",
        "tests.ingestion.junjo_app:run_probe",
    )["trace_id"]
    table = ing.stored_table()
    rows = table.filter(pc.equal(table["trace_id"], trace_id)).to_pylist()
    types = sorted(orjson.loads(r["attributes"]).get("junjo.span_type", "-") for r in rows)
    assert types == ["-", "node", "node", "workflow"]
    workflow = next(r for r in rows if '"junjo.span_type":"workflow"' in r["attributes"])
    assert workflow["service_name"] == "junjo-probe"
    node_events = [e for r in rows for e in orjson.loads(r["events"]) if e["name"] == "set_state"]
    assert len(node_events) == 2 and all(isinstance(e["timeUnixNano"], str) for e in node_events)


def test_api_key_errors(ingestion_factory) -> None:
    ing = ingestion_factory().start()
    with pytest.raises(grpc.RpcError) as missing:
        ing.export(make_request(0, 1), key="")
    assert missing.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert missing.value.details() == "Missing x-junjo-api-key header"
    with pytest.raises(grpc.RpcError) as invalid:
        ing.export(make_request(0, 1), key="x" * 64)
    assert (invalid.value.code(), invalid.value.details()) == (
        grpc.StatusCode.UNAUTHENTICATED,
        "Invalid API key",
    )


def test_unreachable_backend_is_unavailable_not_invalid(ingestion_factory) -> None:
    ing = ingestion_factory(BACKEND_GRPC_PORT=str(free_port())).start()
    with pytest.raises(grpc.RpcError) as err:
        ing.export(make_request(0, 1))
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE


def test_revoked_key_is_refused_within_the_cache_ttl(ingestion_factory, backend) -> None:
    ing = ingestion_factory().start()
    key = backend.api.create_api_key("to revoke")
    ing.export(make_request(0, 1), key=key)  # validated and cached
    [entry] = [k for k in backend.api.list_api_keys() if k.get("name") == "to revoke"]
    response = backend.api.http.delete(f"/api_keys/{entry['id']}")
    assert response.status_code in (200, 204), response.text

    def refused() -> bool:
        try:
            ing.export(make_request(10, 1), key=key)
        except grpc.RpcError as exc:
            assert exc.code() == grpc.StatusCode.UNAUTHENTICATED
            return True
        return False

    wait_for(refused, timeout=15, interval=0.25)  # TTL is 10 s


def test_bad_input_is_answered_and_valid_spans_are_kept(ingestion_factory) -> None:
    ing = ingestion_factory(OTLP_MAX_RECEIVE_MB="1").start()
    bad_ids = good_span(5)
    bad_ids.trace_id = b"\x01" * 3
    reply = ing.export(request_with(good_span(1), bad_ids, good_span(2)))
    assert reply.partial_success.rejected_spans == 1
    assert "trace_id must be 16 bytes" in reply.partial_success.error_message

    bad_utf8 = good_span(3)
    bad_utf8.attributes.add(key="bad").value.string_value = "PLACEHOLDER"
    data = request_with(bad_utf8, good_span(4)).SerializeToString().replace(b"PLACEHOLDER", b"\xff" * 11)
    raw = ing.channel().unary_unary("/opentelemetry.proto.collector.trace.v1.TraceService/Export")
    metadata = (("x-junjo-api-key", ing.key),)
    reply = trace_service_pb2.ExportTraceServiceResponse.FromString(raw(data, metadata=metadata))
    assert reply.partial_success.rejected_spans == 1 and "UTF-8" in reply.partial_success.error_message

    reply = trace_service_pb2.ExportTraceServiceResponse.FromString(
        raw(_nested_attribute_request(150, kvlist=True), metadata=metadata)
    )
    assert reply.partial_success.rejected_spans == 1

    assert (
        ing.export(trace_service_pb2.ExportTraceServiceRequest())
        == trace_service_pb2.ExportTraceServiceResponse()
    )

    with pytest.raises(grpc.RpcError) as garbage:
        raw(b"\x0a\xff\xff\xff\xff\x0f", metadata=metadata)
    assert garbage.value.code() == grpc.StatusCode.INVALID_ARGUMENT

    with pytest.raises(grpc.RpcError) as oversized:
        ing.export(make_request(1000, 600))  # ~1.3 MB > OTLP_MAX_RECEIVE_MB=1
    assert oversized.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED

    ing.export(make_request(2000, 100), compression=grpc.Compression.Gzip)

    huge = good_span(6)
    huge.attributes.add(key="huge").value.string_value = "é" * 300_000  # 600 KB, under the 1 MB limit
    assert not ing.export(request_with(huge)).HasField("partial_success")

    ids = set(ing.stored_table(["span_id"])["span_id"].to_pylist())
    expected = {good_span(i).span_id.hex() for i in (1, 2, 4)} | {
        s.span_id.hex() for s in make_request(2000, 100).resource_spans[0].scope_spans[0].spans
    }
    assert ids == expected | {good_span(i).span_id.hex() for i in (0, 6)}  # 0 rode with the nested one
    table = ing.stored_table(["span_id", "attributes"])
    [huge_row] = [r for r in table.to_pylist() if r["span_id"] == good_span(6).span_id.hex()]
    assert orjson.loads(huge_row["attributes"])["huge"] == "é" * 300_000
    assert ing.proc is not None and ing.proc.proc is not None and ing.proc.proc.poll() is None


def test_internal_calls_require_the_token(ingestion_factory) -> None:
    ing = ingestion_factory().start()
    stub = ing.internal()
    for call, request in (
        (stub.FlushWAL, ingestion_pb2.FlushWALRequest()),
        (stub.PrepareHotSnapshot, ingestion_pb2.PrepareHotSnapshotRequest()),
    ):
        for metadata in ((), (("x-junjo-internal-token", "wrong"),)):
            with pytest.raises(grpc.RpcError) as err:
                call(request, metadata=metadata, timeout=10)
            assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
            assert err.value.details() == "Invalid internal workload token"
    for metadata in ((), (("x-junjo-internal-token", "wrong"),)):  # the streaming hot tier
        with pytest.raises(grpc.RpcError) as err:
            list(stub.StreamHotSpans(ingestion_pb2.StreamHotSpansRequest(), metadata=metadata, timeout=10))
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert err.value.details() == "Invalid internal workload token"
    with grpc.insecure_channel(f"127.0.0.1:{ing.stack.internal_port}") as ch:
        with pytest.raises(grpc.RpcError) as err:
            health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=10)
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    probe = subprocess.run(
        [sys.executable, "-m", "ingestion.healthcheck", f"-addr=127.0.0.1:{ing.stack.internal_port}"],
        cwd=ROOT,
        env=ing.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert probe.returncode == 0, probe.stderr


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_stop_signal_flushes_everything_and_exits_zero(ingestion_factory, sig: int) -> None:
    ing = ingestion_factory().start()
    for i in range(5):
        ing.export(make_request(i * 100))
    assert ing.proc is not None
    ing.proc.signal(sig)
    assert ing.proc.proc is not None and ing.proc.proc.wait(60) == 0
    wal = Path(ing.env["WAL_DIR"])
    assert sorted(p.name for p in wal.iterdir()) == [".lock", "ingester_id"]
    ids = [
        i for p in ing.parquet_files() for i in pq.read_table(p, columns=["span_id"])["span_id"].to_pylist()
    ]
    assert len(ids) == 500 == len(set(ids))


def test_backpressure_refuses_then_recovers_after_flush(ingestion_factory) -> None:
    ing = ingestion_factory(BACKPRESSURE_MAX_MB="1", FLUSH_MAX_MB="500").start()
    for i in range(4):  # ~1.3 MB of WAL, above the 1 MiB limit
        ing.export(make_request(i * 100))

    def refused() -> bool:
        try:
            ing.export(make_request(90_000, 1))
        except grpc.RpcError as exc:
            assert exc.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            return True
        return False

    wait_for(refused, timeout=15, interval=0.2)
    ing.flush()
    wait_for(lambda: not refused(), timeout=15, interval=0.2)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("OTLP_GRPC_PORT", "http"),
        ("INTERNAL_GRPC_PORT", "70000"),
        ("FLUSH_MAX_MB", "0"),
        ("BATCH_SIZE", "-1"),
        ("JUNJO_INTERNAL_GRPC_TOKEN", "short"),
        ("JUNJO_LOG_LEVEL", "loud"),
        ("PREPARE_HOT_SNAPSHOT_CACHE_TTL_MS", "1.5"),
    ],
)
def test_bad_configuration_stops_with_one_line_naming_the_variable(
    tmp_path: Path, name: str, value: str
) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "JUNJO_SESSION_SECRET": "s" * 40,
        "WAL_DIR": str(tmp_path / "w"),
        name: value,
    }
    out = subprocess.run(
        [sys.executable, "-m", "ingestion"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )  # cwd without a `.env` that could fill in values
    assert out.returncode != 0
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and name in lines[0], out.stderr


def test_missing_secret_stops_with_one_line(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "ingestion"],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode != 0 and "JUNJO_SESSION_SECRET" in out.stderr.strip()


def test_memory_pressure_refuses_exports(ingestion_factory) -> None:
    ing = ingestion_factory(BACKPRESSURE_MAX_RSS_MB="32").start()  # any Python process is above
    with pytest.raises(grpc.RpcError) as err:
        ing.export(make_request(0, 1))
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert err.value.details().startswith("Server under pressure (memory: RSS ")
    assert err.value.details().endswith(" MiB > 32 MiB), please retry later")
