"""Spans sent over OTLP/HTTP read back through the backend API exactly like their gRPC twins.

One full stack (backend + ingestion on one data directory). Each client sends the same spans
once per transport, every twin moved to its own trace id (first byte XOR k) so they can share the
server; the API's span lists of the twins must then be equal once the trace ids are mapped back.
Clients: the Python SDK through the OTLP/gRPC and OTLP/HTTP (protobuf, gzip) exporters and curl
with an OTLP/JSON body; the JavaScript SDK in Node through its gRPC, HTTP/JSON and HTTP/protobuf
exporters.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExportResult
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode

from tests.ingestion.otlp_twins import json_twin
from tests.ingestion.test_otlp_http_node import NODE_PROJECT
from tests.support.api import OBS
from tests.support.otel import add_recorder, service_provider
from tests.support.stack import Stack, start_ingestion


@pytest.fixture(scope="module")
def stack(backend, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The module's backend plus an ingestion on the same data directory and ports it knows."""
    start_ingestion(backend.stack, tmp_path_factory.mktemp("ingestion-logs"))
    yield backend.stack
    if backend.stack.ingestion is not None:
        backend.stack.ingestion.stop()


def retrace_id(trace_id: int, k: int) -> int:
    return trace_id ^ (k << 120)


def _moved(context: SpanContext | None, original: int, k: int) -> SpanContext | None:
    if context is None or context.trace_id != original:
        return context
    return SpanContext(retrace_id(original, k), context.span_id, context.is_remote, context.trace_flags)


def twin(span: ReadableSpan, k: int) -> ReadableSpan:
    """`span` moved to trace id XOR k (its parent and same-trace links too), all else equal."""
    original = span.context.trace_id
    return ReadableSpan(
        name=span.name,
        context=_moved(span.context, original, k),
        parent=_moved(span.parent, original, k),
        resource=span.resource,
        attributes=span.attributes,
        events=span.events,
        links=[Link(_moved(link.context, original, k), link.attributes) for link in span.links],
        kind=span.kind,
        status=span.status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


def api_spans(backend, trace_id: str, count: int | None = None) -> list[dict]:
    """The trace's spans through the API, asked again until `count` (or any) are there: the backend
    sees acknowledged spans within about a second (its hot-tier answer is cached that long)."""
    deadline = time.monotonic() + 20
    while True:
        reply = backend.api.http.get(f"{OBS}/traces/{trace_id}/spans")
        assert reply.status_code == 200, reply.text
        spans = sorted(reply.json(), key=lambda s: s["span_id"])
        if (len(spans) == count if count is not None else spans) or time.monotonic() > deadline:
            return spans
        time.sleep(0.25)


def same_as_original(backend, original: str, twin_id: str) -> None:
    want = api_spans(backend, original)
    got = json.loads(json.dumps(api_spans(backend, twin_id, len(want))).replace(twin_id, original))
    assert want and got == want


def test_python_clients_over_http_read_back_like_grpc(backend, stack: Stack, tmp_path: Path) -> None:
    provider = service_provider("api-twins-python")
    recorder = add_recorder(provider)
    tracer = provider.get_tracer("twins", "0.1")
    with tracer.start_as_current_span("workflow", kind=SpanKind.SERVER) as root:
        root.set_attributes({"junjo.span_type": "workflow", "n": 3, "ratio": 0.5, "tags": ["a", "b"]})
        with tracer.start_as_current_span("node", links=[Link(root.get_span_context(), {"k": "v"})]) as node:
            node.add_event("set_state", {"junjo.state_json_patch": '[{"op":"add","path":"/a","value":1}]'})
            node.set_status(Status(StatusCode.ERROR, "boom"))
    spans = recorder.get_finished_spans()
    original = spans[0].context.trace_id
    headers = {"x-junjo-api-key": backend.key}

    grpc = GrpcExporter(endpoint=stack.otlp_endpoint, insecure=True, headers=headers)
    assert grpc.export(spans) == SpanExportResult.SUCCESS
    http = HttpExporter(endpoint=stack.otlp_http_url, headers=headers, compression=Compression.Gzip)
    assert http.export([twin(s, 1) for s in spans]) == SpanExportResult.SUCCESS
    body = tmp_path / "twin.json"
    body.write_bytes(orjson.dumps(json_twin(encode_spans([twin(s, 2) for s in spans]))))
    headers = ["-H", "Content-Type: application/json", "-H", f"x-junjo-api-key: {backend.key}"]
    upload = ["--data-binary", f"@{body}", stack.otlp_http_url]
    curl = subprocess.run(
        ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", *headers, *upload],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert curl.stdout == "200", curl.stderr

    for k in (1, 2):
        same_as_original(backend, f"{original:032x}", f"{retrace_id(original, k):032x}")


def test_node_sdk_over_http_json_and_protobuf_reads_back_like_grpc(backend, stack: Stack) -> None:
    assert (NODE_PROJECT / "node_modules" / "@opentelemetry").is_dir(), "npm ci in " + str(NODE_PROJECT)
    sent = subprocess.run(
        [
            "node",
            "send.mjs",
            "--distinct-traces",
            f"grpc={stack.otlp_endpoint}",
            f"http-json={stack.otlp_http_url}",
            f"http-proto={stack.otlp_http_url}",
        ],
        cwd=NODE_PROJECT,
        env={**os.environ, "OTEL_EXPORTER_OTLP_HEADERS": f"x-junjo-api-key={backend.key}"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert sent.returncode == 0, sent.stdout + sent.stderr
    results = orjson.loads(sent.stdout.splitlines()[-1])["results"]
    assert [r["code"] for r in results.values()] == [0, 0, 0]
    original = results["grpc"]["trace_id"]
    assert len(api_spans(backend, original, 2)) == 2
    for name in ("http-json", "http-proto"):
        assert results[name]["trace_id"] != original
        same_as_original(backend, original, results[name]["trace_id"])
