"""The OpenTelemetry JavaScript SDK in Node sends the same spans over OTLP/HTTP JSON, OTLP/HTTP
protobuf (gzip) and OTLP/gRPC: all three store identical rows.

The exporters are the real npm packages, pinned in tests/ingestion/node_exporter/package-lock.json
and installed by `make test` (`npm ci`); the API key comes from OTEL_EXPORTER_OTLP_HEADERS, the
way users configure those exporters.
"""

from __future__ import annotations

import os
import subprocess

import orjson

from tests.ingestion.test_otlp_http import rows
from tests.support.procs import ROOT

NODE_PROJECT = ROOT / "tests" / "ingestion" / "node_exporter"


def test_node_sdk_json_protobuf_and_grpc_exporters_store_identical_rows(ingestion_factory) -> None:
    assert (NODE_PROJECT / "node_modules" / "@opentelemetry").is_dir(), (
        "npm ci in tests/ingestion/node_exporter (make test does it)"
    )
    over_json, over_proto, over_grpc = (ingestion_factory().start() for _ in range(3))
    sent = subprocess.run(
        [
            "node",
            "send.mjs",
            f"http-json={over_json.stack.otlp_http_url}",
            f"http-proto={over_proto.stack.otlp_http_url}",
            f"grpc={over_grpc.stack.otlp_endpoint}",
        ],
        cwd=NODE_PROJECT,
        env={**os.environ, "OTEL_EXPORTER_OTLP_HEADERS": f"x-junjo-api-key={over_json.key}"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert sent.returncode == 0, sent.stdout + sent.stderr
    report = orjson.loads(sent.stdout.splitlines()[-1])
    assert {name: r["code"] for name, r in report["results"].items()} == {
        "http-json": 0,
        "http-proto": 0,
        "grpc": 0,
    }
    stored = rows(over_json)
    assert sorted(r["name"] for r in stored) == ["llm call", "workflow"]
    assert {r["trace_id"] for r in stored} == {report["trace_id"]}
    assert all(r["service_name"] == "node-sdk-app" for r in stored)
    workflow = next(r for r in stored if r["name"] == "workflow")
    assert orjson.loads(workflow["attributes"])["big"] == 2**53 - 1
    assert stored == rows(over_proto) == rows(over_grpc)
