"""Real OpenTelemetry SDK exporters pointed at a test stack's ingestion OTLP port.

Test senders and tests that export spans build their tracer provider here, so every one of them
sends the way an instrumented application does: the SDK's own OTLP/gRPC exporter (or Junjo's
JunjoOtelExporter) on loopback without TLS, with the `x-junjo-api-key` gRPC metadata.
"""

from __future__ import annotations

from junjo.telemetry.junjo_otel_exporter import JunjoOtelExporter
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

API_KEY_HEADER = "x-junjo-api-key"


def service_provider(service: str) -> TracerProvider:
    return TracerProvider(resource=Resource.create({"service.name": service}))


def exporting_provider(service: str, endpoint: str, api_key: str) -> TracerProvider:
    """A provider whose spans go, one export per span, through the SDK's OTLP/gRPC exporter."""
    provider = service_provider(service)
    exporter = OTLPSpanExporter(endpoint=endpoint, insecure=True, headers=((API_KEY_HEADER, api_key),))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


def add_junjo_exporter(provider: TracerProvider, endpoint: str, api_key: str) -> JunjoOtelExporter:
    """Adds the Junjo SDK's own exporter; call `.flush()` on it before the process ends."""
    exporter = JunjoOtelExporter(endpoint=endpoint, api_key=api_key, insecure=True)
    provider.add_span_processor(exporter.span_processor)
    return exporter


def add_recorder(provider: TracerProvider) -> InMemorySpanExporter:
    """Keeps a copy of every finished span, so a sender can report the ids it exported."""
    recorder = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(recorder))
    return recorder


def _context(span: ReadableSpan | trace.Span) -> trace.SpanContext:
    context = span.get_span_context()
    assert context is not None, "a finished SDK span always has a context"
    return context


def trace_id_hex(span: ReadableSpan | trace.Span) -> str:
    return f"{_context(span).trace_id:032x}"


def span_id_hex(span: ReadableSpan | trace.Span) -> str:
    return f"{_context(span).span_id:016x}"
