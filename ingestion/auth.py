"""API-key validation through the backend's InternalAuthService, behind a bounded positive cache.

Valid keys are cached for a fixed TTL (never extended, never served after expiry,
even while the backend is down); invalid keys and failures are never cached; at most one
validation per key is in flight (followers await the leader's task, which survives a cancelled
leader); refreshes are bounded (no queueing: saturation answers UNAVAILABLE). An unreachable
backend is UNAVAILABLE — retryable — never "invalid". One gRPC channel is reused for all calls.
"""

from __future__ import annotations

import asyncio
import enum
import time
from collections import OrderedDict
from dataclasses import dataclass

import grpc
import structlog

from junjo_common.internal_token import call_metadata
from junjo_common.proto_gen import auth_pb2, auth_pb2_grpc

log = structlog.get_logger("ingestion.auth")


class Verdict(enum.Enum):
    VALID = "valid"
    INVALID = "invalid"
    UNAVAILABLE = "unavailable"
    SATURATED = "saturated"


@dataclass
class AuthStats:
    cache_hits: int = 0
    backend_calls: int = 0


class ApiKeyValidator:
    def __init__(
        self,
        target: str,
        internal_token: str,
        ttl_secs: float,
        max_entries: int,
        max_concurrency: int,
        timeout_secs: float,
    ) -> None:
        self._target = target
        self._metadata = call_metadata(internal_token)
        self._ttl, self._max_entries = ttl_secs, max_entries
        self._max_concurrency, self._timeout = max_concurrency, timeout_secs
        self._cache: OrderedDict[str, float] = OrderedDict()  # key → expiry (monotonic), insertion order
        self._inflight: dict[str, asyncio.Task[Verdict]] = {}
        self._channel: grpc.aio.Channel | None = None
        self._stub: auth_pb2_grpc.InternalAuthServiceStub | None = None
        self.stats = AuthStats()

    def _get_stub(self) -> auth_pb2_grpc.InternalAuthServiceStub:
        if self._stub is None:
            self._channel = grpc.aio.insecure_channel(self._target)
            self._stub = auth_pb2_grpc.InternalAuthServiceStub(self._channel)
        return self._stub

    async def close(self) -> None:
        for task in list(self._inflight.values()):
            task.cancel()
        if self._channel is not None:
            await self._channel.close()

    async def validate(self, key: str) -> Verdict:
        expiry = self._cache.get(key)
        if expiry is not None:
            if time.monotonic() < expiry:
                self.stats.cache_hits += 1
                return Verdict.VALID
            del self._cache[key]
        task = self._inflight.get(key)
        if task is None:
            if len(self._inflight) >= self._max_concurrency:
                return Verdict.SATURATED
            task = asyncio.get_running_loop().create_task(self._refresh(key))
            self._inflight[key] = task
        # shield: a cancelled caller must not cancel the shared refresh
        return await asyncio.shield(task)

    async def _refresh(self, key: str) -> Verdict:
        try:
            self.stats.backend_calls += 1
            try:
                reply = await self._get_stub().ValidateApiKey(
                    auth_pb2.ValidateApiKeyRequest(api_key=key),
                    metadata=self._metadata,
                    timeout=self._timeout,
                )
            except grpc.aio.AioRpcError as exc:
                if exc.code() == grpc.StatusCode.UNAUTHENTICATED:
                    log.error(
                        "backend_rejected_internal_token",
                        hint="JUNJO_INTERNAL_GRPC_TOKEN / JUNJO_SESSION_SECRET differ between services",
                    )
                else:
                    log.warning("api_key_validation_unavailable", code=exc.code().name)
                return Verdict.UNAVAILABLE
            if not reply.is_valid:
                return Verdict.INVALID
            if self._ttl > 0:
                self._insert(key)
            return Verdict.VALID
        finally:
            self._inflight.pop(key, None)

    def _insert(self, key: str) -> None:
        now = time.monotonic()
        for k in [k for k, exp in self._cache.items() if exp <= now]:
            del self._cache[k]
        while len(self._cache) >= self._max_entries:
            self._cache.popitem(last=False)
        self._cache[key] = now + self._ttl
