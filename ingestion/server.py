"""The two grpc.aio servers: public OTLP TraceService/Export, internal snapshot/flush + health.

Export runs the shared pipeline (ingestion/pipeline.py) and maps its refusals to gRPC codes.
Nothing of the request body is read before the pipeline admits the call: Export is registered as
a client-streaming method (the same bytes on the wire as a unary call), so the handler runs on
the headers alone and pulls the one message only once the API key is accepted; a caller without
a valid key costs no receiving, decompressing or converting. gRPC decompresses gzip requests
itself and stops at OTLP_MAX_RECEIVE_MB of decompressed bytes (RESOURCE_EXHAUSTED), so a gzip
bomb costs at most that much memory; OTLP_MAX_CONCURRENT_RPCS bounds the calls in the server at
once (the rest get RESOURCE_EXHAUSTED, which exporters retry). The request is taken as raw bytes
(no generic deserializer) for convert.py.
Every internal method (including health) requires `x-junjo-internal-token`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
import structlog
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio

from ingestion.pipeline import ExportRefused, Refusal, TraceExport
from ingestion.storage import SpanStore
from junjo_common.internal_token import INVALID_TOKEN_MESSAGE, token_matches
from junjo_common.proto_gen import ingestion_pb2, ingestion_pb2_grpc

log = structlog.get_logger("ingestion.server")

API_KEY_HEADER = "x-junjo-api-key"
EXPORT_METHOD = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
GRPC_CODES = {
    Refusal.OVERLOADED: grpc.StatusCode.RESOURCE_EXHAUSTED,
    Refusal.DISK_FULL: grpc.StatusCode.RESOURCE_EXHAUSTED,  # a resource to wait for
    Refusal.STORAGE_FAILING: grpc.StatusCode.UNAVAILABLE,  # cannot take writes now
    Refusal.MISSING_KEY: grpc.StatusCode.UNAUTHENTICATED,
    Refusal.INVALID_KEY: grpc.StatusCode.UNAUTHENTICATED,
    Refusal.AUTH_UNAVAILABLE: grpc.StatusCode.UNAVAILABLE,
    Refusal.AUTH_SATURATED: grpc.StatusCode.UNAVAILABLE,
    Refusal.INVALID_REQUEST: grpc.StatusCode.INVALID_ARGUMENT,
    Refusal.INTERNAL: grpc.StatusCode.INTERNAL,
}


def _api_key(context: grpc.aio.ServicerContext) -> str:
    for item in context.invocation_metadata() or ():
        if item.key == API_KEY_HEADER:
            return item.value if isinstance(item.value, str) else item.value.decode(errors="replace")
    return ""


class GrpcTraceExport:
    """The OTLP/gRPC Export handler."""

    def __init__(self, export: TraceExport) -> None:
        self.export = export

    async def export_traces(self, requests: AsyncIterator[bytes], context: grpc.aio.ServicerContext) -> bytes:
        try:
            await self.export.admit(_api_key(context))
            request = b""
            async for message in requests:  # a unary call: one message (a second one is never read)
                request = message
                break
            stored = await self.export.ingest(request)
        except ExportRefused as refused:
            await context.abort(GRPC_CODES[refused.reason], refused.message)
        return stored.response().SerializeToString()


def otlp_handler(export: TraceExport) -> grpc.GenericRpcHandler:
    method = grpc.stream_unary_rpc_method_handler(
        GrpcTraceExport(export).export_traces, request_deserializer=None, response_serializer=None
    )
    return grpc.method_handlers_generic_handler(
        "opentelemetry.proto.collector.trace.v1.TraceService", {"Export": method}
    )


class InternalService(ingestion_pb2_grpc.InternalIngestionServiceServicer):
    def __init__(self, store: SpanStore) -> None:
        self.store = store

    async def PrepareHotSnapshot(
        self, request: Any, context: Any
    ) -> ingestion_pb2.PrepareHotSnapshotResponse:
        try:
            result = await asyncio.to_thread(self.store.snapshot)
        except Exception as exc:
            log.exception("hot_snapshot_failed")
            return ingestion_pb2.PrepareHotSnapshotResponse(success=False, error_message=str(exc))
        return ingestion_pb2.PrepareHotSnapshotResponse(
            snapshot_path=result.path,
            row_count=result.row_count,
            file_size_bytes=result.size_bytes,
            success=True,
            recent_cold_paths=result.recent_cold_paths,
        )

    async def StreamHotSpans(self, request: Any, context: Any) -> AsyncIterator[ingestion_pb2.HotSpansChunk]:
        stream = await asyncio.to_thread(self.store.hot_spans)
        try:
            recent = stream.recent_cold_paths
            while (chunk := await asyncio.to_thread(stream.next_chunk)) is not None:
                yield ingestion_pb2.HotSpansChunk(arrow_ipc=chunk, recent_cold_paths=recent)
                recent = []
        finally:
            stream.close()

    async def FlushWAL(self, request: Any, context: Any) -> ingestion_pb2.FlushWALResponse:
        try:
            await self.store.flush()
        except Exception as exc:
            log.exception("flush_wal_failed")
            return ingestion_pb2.FlushWALResponse(success=False, error_message=str(exc))
        return ingestion_pb2.FlushWALResponse(success=True)


class InternalTokenInterceptor(grpc.aio.ServerInterceptor):
    """Rejects any internal call without the right `x-junjo-internal-token` (constant time)."""

    def __init__(self, token: str) -> None:
        self._token = token

        async def deny(request: Any, context: grpc.aio.ServicerContext) -> None:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, INVALID_TOKEN_MESSAGE)

        self._deny_unary = grpc.unary_unary_rpc_method_handler(deny)

        async def deny_stream(request: Any, context: grpc.aio.ServicerContext) -> Any:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, INVALID_TOKEN_MESSAGE)
            yield  # pragma: no cover - makes this an async generator for the streaming methods

        self._deny_stream = grpc.unary_stream_rpc_method_handler(deny_stream)

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        if token_matches(self._token, handler_call_details.invocation_metadata):
            return await continuation(handler_call_details)
        if handler_call_details.method.endswith(("/Watch", "/StreamHotSpans")):
            return self._deny_stream
        return self._deny_unary


async def start_internal_server(
    port: int, token: str, service: InternalService, health: health_aio.HealthServicer
) -> grpc.aio.Server:
    server = grpc.aio.server(
        interceptors=[InternalTokenInterceptor(token)], options=[("grpc.so_reuseport", 0)]
    )
    ingestion_pb2_grpc.add_InternalIngestionServiceServicer_to_server(service, server)
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    if server.add_insecure_port(f"0.0.0.0:{port}") == 0:
        raise OSError(f"INTERNAL_GRPC_PORT {port} could not be bound")
    await server.start()
    return server


async def start_otlp_server(
    port: int, export: TraceExport, max_receive_bytes: int, max_concurrent_rpcs: int
) -> grpc.aio.Server:
    server = grpc.aio.server(
        options=[("grpc.max_receive_message_length", max_receive_bytes), ("grpc.so_reuseport", 0)],
        maximum_concurrent_rpcs=max_concurrent_rpcs,
    )
    server.add_generic_rpc_handlers((otlp_handler(export),))
    if server.add_insecure_port(f"0.0.0.0:{port}") == 0:
        raise OSError(f"OTLP_GRPC_PORT {port} could not be bound")
    await server.start()
    return server


SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
