"""OTLP/HTTP on OTLP_HTTP_PORT: `POST /v1/traces` into the same pipeline as OTLP/gRPC.

A request goes: content type (`application/x-protobuf` or `application/json`, else 415) →
admission (backpressure, API key from `x-junjo-api-key` or `Authorization: Bearer`, as for gRPC)
→ body, read and gunzipped incrementally under byte limits (413 past them; in-flight bytes of all
requests are bounded too, 429 past that) → JSON turned into its protobuf twin (ingestion/otlp_json.py)
→ the shared convert + durable WAL append → `ExportTraceServiceResponse` in the request's encoding
(partial_success when spans were rejected). Refusals answer a `google.rpc.Status` in the request's
encoding with the status the OTLP/HTTP specification gives; the retryable ones (429, 503) carry
`Retry-After`. Browsers may call it from the allowed origins (CORS, preflight included).

Served by uvicorn (h11) on the service's own event loop beside grpc.aio: the socket is bound here
so a taken port fails start-up with a clear line, and the service, not uvicorn, owns the signals.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import socket
import zlib
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from dataclasses import dataclass
from http import HTTPStatus

import structlog
import uvicorn
from google.protobuf import json_format
from google.protobuf.message import Message
from google.rpc import code_pb2, status_pb2
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from ingestion.otlp_json import MalformedJson, json_to_protobuf
from ingestion.pipeline import ExportRefused, Refusal, Stored, TraceExport

log = structlog.get_logger("ingestion.otlp_http")

TRACES_PATH = "/v1/traces"
PROTOBUF, JSON = "application/x-protobuf", "application/json"
API_KEY_HEADER = "x-junjo-api-key"
# A client that stops sending mid-body must not hold its bytes (and a connection) for long.
BODY_TIMEOUT_SECS = 30.0
# Connections plus in-flight requests; beyond it uvicorn answers 503 at once.
MAX_CONCURRENCY = 512
KEEP_ALIVE_SECS = 15
RETRY_AFTER_SECS = {
    Refusal.OVERLOADED: 5,
    Refusal.DISK_FULL: 5,
    Refusal.STORAGE_FAILING: 5,
    Refusal.AUTH_UNAVAILABLE: 5,
    Refusal.AUTH_SATURATED: 1,
}
_REFUSAL_STATUS = {
    Refusal.OVERLOADED: (HTTPStatus.SERVICE_UNAVAILABLE, code_pb2.UNAVAILABLE),
    Refusal.DISK_FULL: (HTTPStatus.SERVICE_UNAVAILABLE, code_pb2.RESOURCE_EXHAUSTED),
    Refusal.STORAGE_FAILING: (HTTPStatus.SERVICE_UNAVAILABLE, code_pb2.UNAVAILABLE),
    Refusal.MISSING_KEY: (HTTPStatus.UNAUTHORIZED, code_pb2.UNAUTHENTICATED),
    Refusal.INVALID_KEY: (HTTPStatus.FORBIDDEN, code_pb2.PERMISSION_DENIED),
    Refusal.AUTH_UNAVAILABLE: (HTTPStatus.SERVICE_UNAVAILABLE, code_pb2.UNAVAILABLE),
    Refusal.AUTH_SATURATED: (HTTPStatus.TOO_MANY_REQUESTS, code_pb2.RESOURCE_EXHAUSTED),
    Refusal.INVALID_REQUEST: (HTTPStatus.BAD_REQUEST, code_pb2.INVALID_ARGUMENT),
    Refusal.INTERNAL: (HTTPStatus.INTERNAL_SERVER_ERROR, code_pb2.INTERNAL),
}


@dataclass(frozen=True)
class HttpLimits:
    max_protobuf_bytes: int  # body, before and after gunzip (OTLP_MAX_RECEIVE_MB, as for gRPC)
    max_json_bytes: int  # same for JSON, which costs far more memory per byte once parsed
    max_inflight_bytes: int  # bodies held by all requests at once


class Refused(Exception):
    """An HTTP answer other than 200, with the body's status message."""

    def __init__(
        self, status: HTTPStatus, code: int, message: str, retry_after: int | None = None, close: bool = False
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.retry_after, self.close = retry_after, close

    @classmethod
    def from_pipeline(cls, refused: ExportRefused, close: bool = False) -> Refused:
        status, code = _REFUSAL_STATUS[refused.reason]
        return cls(status, code, refused.message, RETRY_AFTER_SECS.get(refused.reason), close)


def _serialize(message: Message, media_type: str) -> bytes:
    if media_type == JSON:
        return json_format.MessageToJson(message, indent=None).encode()
    return message.SerializeToString()


def _refusal_response(refused: Refused, media_type: str) -> Response:
    headers = {}
    if refused.retry_after is not None:
        headers["Retry-After"] = str(refused.retry_after)
    else:  # the client's fault, and it will not retry: worth a line (retryable ones can be floods)
        log.info("otlp_http_refused", status=int(refused.status), message=refused.message)
    if refused.status == HTTPStatus.UNAUTHORIZED:
        headers["WWW-Authenticate"] = 'Bearer realm="junjo"'
    if refused.close:  # the rest of the body is not read: the connection cannot be reused
        headers["Connection"] = "close"
    status = status_pb2.Status(code=refused.code, message=refused.message)
    return Response(_serialize(status, media_type), refused.status, headers, media_type)


def _media_type(request: Request) -> str | None:
    value = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return value if value in (PROTOBUF, JSON) else None


def _api_key(request: Request) -> str:
    key = request.headers.get(API_KEY_HEADER, "").strip()
    if key:
        return key
    scheme, _, credentials = request.headers.get("authorization", "").strip().partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else ""


class InflightBytes:
    """Bytes of request bodies held right now, across all requests, against one budget."""

    def __init__(self, limit: int) -> None:
        self.limit, self.held = limit, 0

    @contextlib.contextmanager
    def account(self) -> Iterator[_Reservation]:
        reservation = _Reservation(self)
        try:
            yield reservation
        finally:
            self.held -= reservation.bytes


class _Reservation:
    def __init__(self, pool: InflightBytes) -> None:
        self.pool, self.bytes = pool, 0

    def take(self, n: int) -> None:
        if self.pool.held + n > self.pool.limit:
            raise Refused(
                HTTPStatus.TOO_MANY_REQUESTS,
                code_pb2.RESOURCE_EXHAUSTED,
                "Too many request bytes in flight, please retry later",
                retry_after=1,
                close=True,
            )
        self.pool.held += n
        self.bytes += n


# A refused request's unread body is read and dropped, up to these bounds, before the answer goes
# out: closing a socket that still holds unread data resets the connection, and the reset can
# discard the answer before the client reads it. Past the bounds the connection is just closed.
DRAIN_MAX_BYTES = 8 << 20
DRAIN_SECS = 2.0


async def _drain(request: Request) -> None:
    drained = 0
    try:
        async with asyncio.timeout(DRAIN_SECS):
            async for chunk in request.stream():
                drained += len(chunk)
                if drained > DRAIN_MAX_BYTES:
                    return
    except (TimeoutError, ClientDisconnect):
        return
    except RuntimeError:  # Starlette: the body was already read to its end
        return


def _too_large(limit: int) -> Refused:
    return Refused(
        HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
        code_pb2.RESOURCE_EXHAUSTED,
        f"Request body exceeds {limit} bytes",
        close=True,
    )


async def _decoded_chunks(
    chunks: AsyncIterator[bytes], gzipped: bool, limit: int
) -> AsyncGenerator[bytes, None]:
    """The body's bytes, gunzipped when `gzipped`; never more than `limit` bytes either side."""
    received = 0
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS) if gzipped else None
    produced = 0
    async for chunk in chunks:
        received += len(chunk)
        if received > limit:
            raise _too_large(limit)
        if inflater is None:
            yield chunk
            continue
        try:
            # At most one byte past the limit: a compression bomb stops here, unexpanded.
            out = inflater.decompress(chunk, limit - produced + 1)
        except zlib.error as exc:
            raise Refused(
                HTTPStatus.BAD_REQUEST, code_pb2.INVALID_ARGUMENT, f"Invalid gzip body: {exc}"
            ) from None
        produced += len(out)
        if produced > limit or inflater.unconsumed_tail:
            raise _too_large(limit)
        yield out
    if inflater is not None and (not inflater.eof or inflater.unused_data):
        reason = "data after the gzip stream" if inflater.eof else "truncated gzip stream"
        raise Refused(HTTPStatus.BAD_REQUEST, code_pb2.INVALID_ARGUMENT, f"Invalid gzip body: {reason}")


class TracesEndpoint:
    """`POST /v1/traces`."""

    def __init__(self, export: TraceExport, limits: HttpLimits) -> None:
        self.export, self.limits = export, limits
        self.inflight = InflightBytes(limits.max_inflight_bytes)
        # One JSON body is parsed at a time, in a worker thread: its Python objects stay bounded and
        # the event loop (gRPC included) keeps running while it is parsed.
        self._json_parse = asyncio.Semaphore(1)

    async def post(self, request: Request) -> Response:
        media_type = _media_type(request)
        if media_type is None:
            message = f"Content-Type must be {PROTOBUF} or {JSON}"
            refused = Refused(
                HTTPStatus.UNSUPPORTED_MEDIA_TYPE, code_pb2.INVALID_ARGUMENT, message, close=True
            )
            await _drain(request)
            return _refusal_response(refused, JSON)
        try:
            stored = await self._export(request, media_type)
        except Refused as refused:
            await _drain(request)
            return _refusal_response(refused, media_type)
        except ExportRefused as refused:
            await _drain(request)
            return _refusal_response(Refused.from_pipeline(refused), media_type)
        return Response(_serialize(stored.response(), media_type), media_type=media_type)

    async def _export(self, request: Request, media_type: str) -> Stored:
        encoding = request.headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("gzip", "identity", ""):
            raise Refused(
                HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                code_pb2.INVALID_ARGUMENT,
                "Content-Encoding must be gzip or identity",
                close=True,
            )
        try:
            await self.export.admit(_api_key(request))
        except ExportRefused as refused:
            raise Refused.from_pipeline(refused, close=True) from None
        limit = self.limits.max_json_bytes if media_type == JSON else self.limits.max_protobuf_bytes
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise _too_large(limit)
        with self.inflight.account() as reservation:
            body = await self._read_body(request, encoding == "gzip", limit, reservation)
            if media_type == JSON:
                async with self._json_parse:
                    try:
                        body = await asyncio.to_thread(json_to_protobuf, body)
                    except MalformedJson as exc:
                        raise Refused(HTTPStatus.BAD_REQUEST, code_pb2.INVALID_ARGUMENT, str(exc)) from None
            return await self.export.ingest(body)

    async def _read_body(
        self, request: Request, gzipped: bool, limit: int, reservation: _Reservation
    ) -> bytes:
        parts: list[bytes] = []
        try:
            decoded = _decoded_chunks(request.stream(), gzipped, limit)
            async with asyncio.timeout(BODY_TIMEOUT_SECS), contextlib.aclosing(decoded):
                async for part in decoded:
                    reservation.take(len(part))
                    parts.append(part)
        except TimeoutError:
            raise Refused(
                HTTPStatus.REQUEST_TIMEOUT,
                code_pb2.DEADLINE_EXCEEDED,
                "Request body not received in time",
                close=True,
            ) from None
        except ClientDisconnect:
            raise Refused(
                HTTPStatus.BAD_REQUEST, code_pb2.CANCELLED, "Client disconnected", close=True
            ) from None
        return parts[0] if len(parts) == 1 else b"".join(parts)


def build_app(export: TraceExport, limits: HttpLimits, allow_origins: list[str]) -> Starlette:
    cors = Middleware(
        CORSMiddleware,
        allow_origins=allow_origins,
        allow_methods=["POST"],
        allow_headers=["content-type", "content-encoding", API_KEY_HEADER, "authorization"],
        max_age=600,
    )
    endpoint = TracesEndpoint(export, limits)
    return Starlette(routes=[Route(TRACES_PATH, endpoint.post, methods=["POST"])], middleware=[cors])


class _EmbeddedServer(uvicorn.Server):
    """uvicorn inside the ingestion process: SIGTERM/SIGINT stay with `python -m ingestion`."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class OtlpHttpServer:
    def __init__(self, server: _EmbeddedServer, sock: socket.socket) -> None:
        self._server, self._sock = server, sock
        self._task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]))

    async def started(self) -> None:
        while not self._server.started:
            if self._task.done():
                self._task.result()  # re-raises what stopped it
                raise OSError("OTLP/HTTP server stopped during start-up")
            await asyncio.sleep(0.01)

    async def stop(self, grace: float) -> None:
        """Stops accepting, lets requests in flight finish (and be acknowledged) for `grace` seconds."""
        self._server.config.timeout_graceful_shutdown = math.ceil(grace)  # uvicorn takes whole seconds
        self._server.should_exit = True
        await self._task


def bind_otlp_http_socket(port: int) -> socket.socket:
    """The listening socket, bound before anything else starts so a taken port stops start-up cleanly."""
    try:
        return socket.create_server(("0.0.0.0", port), backlog=1024)
    except OSError as exc:
        raise OSError(f"OTLP_HTTP_PORT {port} could not be bound ({os.strerror(exc.errno or 0)})") from None


async def start_otlp_http_server(
    sock: socket.socket, export: TraceExport, limits: HttpLimits, allow_origins: list[str]
) -> OtlpHttpServer:
    config = uvicorn.Config(
        build_app(export, limits, allow_origins),
        http="h11",
        lifespan="off",
        log_config=None,
        log_level="warning",
        access_log=False,
        proxy_headers=False,
        server_header=False,
        limit_concurrency=MAX_CONCURRENCY,
        timeout_keep_alive=KEEP_ALIVE_SECS,
    )
    server = OtlpHttpServer(_EmbeddedServer(config), sock)
    await server.started()
    return server
