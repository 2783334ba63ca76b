"""OTLP/HTTP (`POST /v1/traces` on OTLP_HTTP_PORT) of the real `python -m ingestion` process.

Real clients: the opentelemetry-exporter-otlp-proto-http exporter (protobuf, gzip), curl with an
OTLP/JSON body, httpx for everything malformed or hostile. "Identical" means the stored rows of
a request sent over HTTP equal, column for column, those of the same request sent over gRPC.
"""

from __future__ import annotations

import gzip
import shutil
import socket
import struct
import subprocess
import zlib
from pathlib import Path

import httpx
import orjson
import psutil
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from google.rpc import code_pb2, status_pb2
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.sdk.trace.export import SpanExportResult
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

from junjo_common.spanformat import v1
from tests.ingestion.otlp_twins import json_twin
from tests.ingestion.test_convert import good_span, request_with
from tests.ingestion.workload import make_request
from tests.support.otel import add_recorder, service_provider
from tests.support.polling import poll
from tests.support.procs import free_port

PROTOBUF, JSON = "application/x-protobuf", "application/json"
UI_ORIGIN = "http://localhost:5153"  # in the test stack's JUNJO_ALLOW_ORIGINS


def rows(ing, trace_ids: list[str] | None = None) -> list[dict]:
    """Every stored row (timestamps as integers), sorted by span id; only `trace_ids` if given."""
    table = ing.stored_table(list(v1.COLUMNS))
    for name in ("start_time", "end_time"):
        index = table.schema.get_field_index(name)
        table = table.set_column(index, name, table[name].cast(pa.int64()))
    if trace_ids is not None:
        table = table.filter(pc.is_in(table["trace_id"], pa.array(trace_ids)))
    return sorted(table.to_pylist(), key=lambda r: (r["trace_id"], r["span_id"]))


def post(ing, body: bytes, content_type: str = PROTOBUF, key: str | None = None, **headers: str):
    sent = {"content-type": content_type, **headers}
    if key != "":
        sent["x-junjo-api-key"] = key or ing.key
    return httpx.post(ing.stack.otlp_http_url, content=body, headers=sent, timeout=60)


def status_of(response: httpx.Response) -> status_pb2.Status:
    status = status_pb2.Status()
    if response.headers["content-type"].startswith(JSON):
        return status_pb2.Status(**orjson.loads(response.content))
    status.ParseFromString(response.content)
    return status


def test_python_http_exporter_gzip_stores_the_rows_grpc_stores(ingestion_factory) -> None:
    over_grpc, over_http = ingestion_factory().start(), ingestion_factory().start()
    provider = service_provider("http-exporter-app")
    recorder = add_recorder(provider)
    tracer = provider.get_tracer("test", "1.2.3")
    with tracer.start_as_current_span("workflow", kind=SpanKind.SERVER) as root:
        root.set_attributes({"answer": 42, "ratio": 0.5, "ok": True, "tags": ["a", "b"], "state": '{"n": 1}'})
        with tracer.start_as_current_span(
            "node", links=[Link(root.get_span_context(), {"why": "x"})]
        ) as node:
            node.add_event("set_state", {"patch": "[]"})
            node.set_status(Status(StatusCode.ERROR, "failed"))
    spans = recorder.get_finished_spans()
    headers = {"x-junjo-api-key": over_grpc.key}
    grpc_result = GrpcExporter(endpoint=over_grpc.stack.otlp_endpoint, insecure=True, headers=headers).export(
        spans
    )
    http = HttpExporter(endpoint=over_http.stack.otlp_http_url, headers=headers, compression=Compression.Gzip)
    assert (grpc_result, http.export(spans)) == (SpanExportResult.SUCCESS, SpanExportResult.SUCCESS)
    stored = rows(over_http)
    assert len(stored) == 2 and stored == rows(over_grpc)
    assert {r["name"] for r in stored} == {"workflow", "node"}


def test_curl_json_and_protobuf_twins_store_the_same_rows(ingestion_factory) -> None:
    protobuf, camel, snake = (ingestion_factory().start() for _ in range(3))
    request = make_request(0, 100)
    request.resource_spans[0].scope_spans[0].spans[0].CopyFrom(
        request_with(good_span(0)).resource_spans[0].scope_spans[0].spans[0]
    )
    assert post(protobuf, request.SerializeToString()).status_code == 200
    body = camel.data / "twin.json"
    body.write_bytes(orjson.dumps(json_twin(request)))
    curl = subprocess.run(
        [
            shutil.which("curl") or "curl",
            "-sS",
            "-w",
            "\n%{http_code}",
            "-H",
            "Content-Type: application/json",
            "-H",
            f"x-junjo-api-key: {camel.key}",
            "--data-binary",
            f"@{body}",
            camel.stack.otlp_http_url,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert curl.stdout.splitlines() == ["{}", "200"], curl.stderr
    snake_body = orjson.dumps(json_twin(request, proto_names=True, int64_as_numbers=True))
    reply = post(snake, gzip.compress(snake_body), JSON, **{"content-encoding": "gzip"})
    assert (reply.status_code, reply.json(), reply.headers["content-type"]) == (200, {}, JSON)
    expected = rows(protobuf)
    assert len(expected) == 100
    assert rows(camel) == expected and rows(snake) == expected


def test_rejected_spans_answer_partial_success_in_the_request_encoding(ingestion_factory) -> None:
    ing = ingestion_factory().start()
    bad = good_span(1)
    bad.span_id = b"\x01\x02"
    request = request_with(good_span(0), bad)
    reply = post(ing, request.SerializeToString())
    assert reply.status_code == 200 and reply.headers["content-type"] == PROTOBUF
    response = trace_service_pb2.ExportTraceServiceResponse.FromString(reply.content)
    assert response.partial_success.rejected_spans == 1 and response.partial_success.error_message
    twin = request_with(good_span(2), bad)
    reply = post(ing, orjson.dumps(json_twin(twin)), JSON)
    partial = reply.json()["partialSuccess"]
    assert reply.status_code == 200 and partial["rejectedSpans"] == "1" and partial["errorMessage"]
    assert len(rows(ing)) == 2  # both good spans kept


def test_api_key_header_bearer_and_refusals(ingestion_factory) -> None:
    ing = ingestion_factory().start()
    body = request_with(good_span(0)).SerializeToString()
    missing = post(ing, body, key="")
    assert missing.status_code == 401 and missing.headers["www-authenticate"].startswith("Bearer")
    assert status_of(missing).code == code_pb2.UNAUTHENTICATED
    assert status_of(missing).message == "Missing x-junjo-api-key header"
    invalid = post(ing, body, JSON, key="not-a-key")
    assert invalid.status_code == 403 and invalid.json() == {"code": 7, "message": "Invalid API key"}
    bearer = post(ing, body, key="", authorization=f"Bearer {ing.key}")
    assert bearer.status_code == 200
    assert post(ing, body, key="", authorization=f"Basic {ing.key}").status_code == 401
    assert len(rows(ing)) == 1


def _bomb(mib: int) -> bytes:
    """A valid gzip member of `mib` MiB of zeros, ~1000x smaller: one independently compressed
    (full-flush) MiB block repeated, then the end block and the trailer."""
    squeeze = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    block = bytes(1 << 20)
    compressed = squeeze.compress(block) + squeeze.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(mib):
        crc = zlib.crc32(block, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    return header + compressed * mib + b"\x03\x00" + struct.pack("<II", crc, (mib << 20) & 0xFFFFFFFF)


def test_malformed_and_unsupported_bodies(ingestion_factory) -> None:
    ing = ingestion_factory(OTLP_MAX_RECEIVE_MB="1").start()
    good = request_with(good_span(0)).SerializeToString()
    cases = [
        # (body, content type, extra headers, status, expected text in the message)
        (good, "text/plain", {}, 415, "Content-Type"),
        (good, "application/protobuf+xml", {}, 415, "Content-Type"),
        (good, PROTOBUF, {"content-encoding": "br"}, 415, "Content-Encoding"),
        (b"\xff\xff\xff\xff\x0f garbage", PROTOBUF, {}, 400, ""),
        (b"{not json", JSON, {}, 400, "invalid JSON"),
        (b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "xyz"}]}]}]}', JSON, {}, 400, "hex"),
        (good, PROTOBUF, {"content-encoding": "gzip"}, 400, "gzip"),
        (gzip.compress(good)[:-9], PROTOBUF, {"content-encoding": "gzip"}, 400, "truncated"),
        (gzip.compress(good) + b"tail", PROTOBUF, {"content-encoding": "gzip"}, 400, "after the gzip"),
        (b"\x00" * (2 << 20), PROTOBUF, {}, 413, "exceeds"),
        (b" " * (3 << 19), JSON, {}, 413, "exceeds"),
        (gzip.compress(b" " * (3 << 19)), JSON, {"content-encoding": "gzip"}, 413, "exceeds"),
        (_bomb(64), PROTOBUF, {"content-encoding": "gzip"}, 413, "exceeds"),
    ]
    for body, content_type, headers, status, text in cases:
        reply = post(ing, body, content_type, **headers)
        assert reply.status_code == status, (content_type, headers, reply.status_code, reply.content[:200])
        assert text in status_of(reply).message
    # Streamed without a length: the limit holds on the bytes actually received.
    chunks = iter([b"\x00" * (512 << 10)] * 4)
    streamed = httpx.post(
        ing.stack.otlp_http_url,
        content=chunks,
        headers={"content-type": PROTOBUF, "x-junjo-api-key": ing.key},
        timeout=60,
    )
    assert streamed.status_code == 413
    assert httpx.get(ing.stack.otlp_http_url).status_code == 405
    assert httpx.post(ing.stack.otlp_http_url.replace("/v1/traces", "/v1/logs")).status_code == 404
    assert post(ing, good).status_code == 200  # still serving, nothing lost
    assert len(rows(ing)) == 1


def test_gzip_bomb_stops_at_the_limit_without_growing_the_process(ingestion_factory) -> None:
    ing = ingestion_factory().start()
    process = psutil.Process(ing.proc.proc.pid)
    before = _peak_rss(process)
    bomb = _bomb(2048)  # 2 GiB of zeros in ~2 MB
    for _ in range(3):
        reply = post(ing, bomb, **{"content-encoding": "gzip"})
        assert reply.status_code == 413
    assert _peak_rss(process) - before < 48 << 20  # at most the 16 MiB limit, plus working memory


def _peak_rss(process: psutil.Process) -> int:
    for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def test_unreachable_key_validation_answers_503_with_retry_after(ingestion_factory) -> None:
    ing = ingestion_factory(BACKEND_GRPC_PORT=str(free_port())).start()  # nothing listens there
    reply = post(ing, request_with(good_span(0)).SerializeToString(), JSON)
    assert reply.status_code == 503 and int(reply.headers["retry-after"]) > 0
    assert reply.json() == {"code": code_pb2.UNAVAILABLE, "message": "API key validation service unavailable"}


def test_backpressure_answers_503_with_retry_after(ingestion_factory) -> None:
    ing = ingestion_factory(BACKPRESSURE_MAX_RSS_MB="32").start()  # always above 32 MiB
    reply = post(ing, request_with(good_span(0)).SerializeToString())
    assert reply.status_code == 503 and int(reply.headers["retry-after"]) > 0
    assert status_of(reply).code == code_pb2.UNAVAILABLE
    assert rows(ing) == []


def test_bytes_in_flight_beyond_the_budget_answer_429(ingestion_factory) -> None:
    """An upload held open (a raw socket that stops before its last bytes) keeps most of the
    2 MiB budget, so a concurrent request crosses it: 429 with Retry-After. Once the held upload
    ends it is acknowledged and the whole budget is free again."""
    ing = ingestion_factory(OTLP_MAX_RECEIVE_MB="2", OTLP_HTTP_MAX_INFLIGHT_MB="2").start()
    held = make_request(0, 800).SerializeToString()  # ~1.8 MB
    assert 1 << 20 < len(held) < 2 << 20
    head = (
        f"POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {PROTOBUF}\r\n"
        f"x-junjo-api-key: {ing.key}\r\nContent-Length: {len(held)}\r\nConnection: close\r\n\r\n"
    ).encode()
    other = make_request(10_000, 200).SerializeToString()  # ~440 KB
    with socket.create_connection(("127.0.0.1", ing.stack.otlp_http_port), timeout=60) as upload:
        upload.sendall(head + held[:-1000])
        refused = poll(lambda: post(ing, other), lambda r: r.status_code != 200, deadline=30, interval=0.2)
        assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
        assert status_of(refused).code == code_pb2.RESOURCE_EXHAUSTED
        upload.sendall(held[-1000:])
        assert upload.makefile("rb").readline().startswith(b"HTTP/1.1 200")
    assert post(ing, held).status_code == 200  # nothing stayed reserved


def test_cors_allows_only_the_allowed_origins(ingestion_factory) -> None:
    ing = ingestion_factory().start()
    preflight = {
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type,x-junjo-api-key",
    }
    allowed = httpx.options(ing.stack.otlp_http_url, headers={"origin": UI_ORIGIN, **preflight})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == UI_ORIGIN
    assert "x-junjo-api-key" in allowed.headers["access-control-allow-headers"].lower()
    stranger = httpx.options(ing.stack.otlp_http_url, headers={"origin": "https://evil.example", **preflight})
    assert stranger.status_code == 400 and "access-control-allow-origin" not in stranger.headers
    body = request_with(good_span(0)).SerializeToString()
    reply = post(ing, body, origin=UI_ORIGIN)
    assert reply.status_code == 200 and reply.headers["access-control-allow-origin"] == UI_ORIGIN

    own = ingestion_factory(OTLP_HTTP_ALLOW_ORIGINS="https://app.example.com").start()
    app = httpx.options(own.stack.otlp_http_url, headers={"origin": "https://app.example.com", **preflight})
    assert app.status_code == 200
    ui = httpx.options(own.stack.otlp_http_url, headers={"origin": UI_ORIGIN, **preflight})
    assert ui.status_code == 400


def test_taken_port_fails_start_with_one_line(ingestion_factory) -> None:
    first = ingestion_factory().start()
    second = ingestion_factory(OTLP_HTTP_PORT=str(first.stack.otlp_http_port))
    second.stack.otlp_http_port = first.stack.otlp_http_port
    with pytest.raises(RuntimeError):
        second.start()
    log = (second.data / "logs" / "ingestion.log").read_text()
    assert f"OTLP_HTTP_PORT {first.stack.otlp_http_port} could not be bound" in log
