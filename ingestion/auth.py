"""API-key validation through the backend's InternalAuthService, behind bounded caches.

Valid keys are cached for a fixed TTL (never extended, never served after expiry, even while the
backend is down). Invalid answers are cached briefly too, so one key repeated does not cost a
backend call per request. Failures are never cached: an unreachable backend is UNAVAILABLE —
retryable — never "invalid". At most one validation per key is in flight (followers await the
leader's task, which survives a cancelled leader), and calls are bounded without queueing
(saturation answers UNAVAILABLE).

Two things keep a stream of made-up keys from costing real exporters anything:
- a key that cannot be one (the backend issues 64 ASCII letters and digits) is refused here,
  without a backend call;
- keys that were valid recently ("known") revalidate through slots of their own, so random keys
  filling the general slots cannot starve an exporter whose cache entry just expired.
Keys are held by their SHA-256 digest only.
"""

from __future__ import annotations

import asyncio
import enum
import hashlib
import re
import time
from collections import OrderedDict
from dataclasses import dataclass

import grpc
import structlog

from junjo_common.internal_token import call_metadata
from junjo_common.proto_gen import auth_pb2, auth_pb2_grpc

log = structlog.get_logger("ingestion.auth")

KEY_FORMAT = re.compile(r"[A-Za-z0-9]{64}")
# How long a key counts as "known" (validated at least once) for the reserved validation slots.
KNOWN_KEY_SECS = 24 * 3600.0


class Verdict(enum.Enum):
    VALID = "valid"
    INVALID = "invalid"
    UNAVAILABLE = "unavailable"
    SATURATED = "saturated"


@dataclass
class AuthStats:
    cache_hits: int = 0
    backend_calls: int = 0
    malformed: int = 0


class ExpiringSet:
    """Digests with an expiry each, bounded: the oldest insertion goes first when full."""

    def __init__(self, ttl_secs: float, max_entries: int) -> None:
        self.ttl, self.max_entries = ttl_secs, max_entries
        self._items: OrderedDict[bytes, float] = OrderedDict()  # digest → expiry (monotonic)

    def __contains__(self, digest: bytes) -> bool:
        expiry = self._items.get(digest)
        if expiry is None:
            return False
        if time.monotonic() < expiry:
            return True
        del self._items[digest]
        return False

    def add(self, digest: bytes) -> None:
        if self.ttl <= 0:
            return
        now = time.monotonic()
        self._items.pop(digest, None)
        while self._items and next(iter(self._items.values())) <= now:
            self._items.popitem(last=False)
        while len(self._items) >= self.max_entries:
            self._items.popitem(last=False)
        self._items[digest] = now + self.ttl

    def discard(self, digest: bytes) -> None:
        self._items.pop(digest, None)


class ApiKeyValidator:
    def __init__(
        self,
        target: str,
        internal_token: str,
        ttl_secs: float,
        max_entries: int,
        max_concurrency: int,
        timeout_secs: float,
        invalid_ttl_secs: float = 5.0,
        invalid_max_entries: int = 4096,
    ) -> None:
        self._target = target
        self._metadata = call_metadata(internal_token)
        self._max_concurrency, self._timeout = max_concurrency, timeout_secs
        self._valid = ExpiringSet(ttl_secs, max_entries)  # fixed TTL from the backend's answer
        self._invalid = ExpiringSet(invalid_ttl_secs, invalid_max_entries)
        self._known = ExpiringSet(KNOWN_KEY_SECS, max_entries)
        # One pool of slots for known keys, one for the rest; a key's task is in exactly one.
        self._inflight: dict[bytes, asyncio.Task[Verdict]] = {}
        self._busy = {True: 0, False: 0}
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
        if not KEY_FORMAT.fullmatch(key):
            self.stats.malformed += 1
            return Verdict.INVALID
        digest = hashlib.sha256(key.encode()).digest()
        if digest in self._valid:
            self.stats.cache_hits += 1
            return Verdict.VALID
        if digest in self._invalid:
            self.stats.cache_hits += 1
            return Verdict.INVALID
        task = self._inflight.get(digest)
        if task is None:
            known = digest in self._known
            if self._busy[known] >= self._max_concurrency:
                return Verdict.SATURATED
            self._busy[known] += 1
            task = asyncio.get_running_loop().create_task(self._refresh(key, digest, known))
            self._inflight[digest] = task
        # shield: a cancelled caller must not cancel the shared refresh
        return await asyncio.shield(task)

    async def _refresh(self, key: str, digest: bytes, known: bool) -> Verdict:
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
                self._invalid.add(digest)
                self._known.discard(digest)
                return Verdict.INVALID
            self._valid.add(digest)
            self._known.add(digest)
            return Verdict.VALID
        finally:
            self._inflight.pop(digest, None)
            self._busy[known] -= 1
