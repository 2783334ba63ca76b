"""auth.py against a real gRPC InternalAuthService on loopback that counts its calls.

The backend's real servicer is exercised by test_service.py (revocation, invalid keys); here a
small servicer implementing the same proto lets the tests count calls, add delay and go away,
which is what the cache's guarantees are about.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import grpc
import pytest

from ingestion.auth import ApiKeyValidator, Verdict
from junjo_common.internal_token import INVALID_TOKEN_MESSAGE, token_matches
from junjo_common.proto_gen import auth_pb2, auth_pb2_grpc
from tests.support.procs import free_port

TOKEN = "t" * 40
GOOD, BAD, A, B, C, OTHER = ("Good" + "1" * 60, "Bad0" + "2" * 60, "a" * 64, "b" * 64, "c" * 64, "o" * 64)


class CountingAuth(auth_pb2_grpc.InternalAuthServiceServicer):
    def __init__(self) -> None:
        self.valid = {GOOD}
        self.calls = 0
        self.delay = 0.0

    async def ValidateApiKey(
        self, request: auth_pb2.ValidateApiKeyRequest, context: grpc.aio.ServicerContext
    ) -> auth_pb2.ValidateApiKeyResponse:
        if not token_matches(TOKEN, context.invocation_metadata()):
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, INVALID_TOKEN_MESSAGE)
        self.calls += 1
        await asyncio.sleep(self.delay)
        return auth_pb2.ValidateApiKeyResponse(is_valid=request.api_key in self.valid)


Make = Callable[..., ApiKeyValidator]
Scenario = Callable[[CountingAuth, Make, grpc.aio.Server], Awaitable[None]]


def run(scenario: Scenario) -> None:
    async def main() -> None:
        port = free_port()
        server = grpc.aio.server()
        servicer = CountingAuth()
        auth_pb2_grpc.add_InternalAuthServiceServicer_to_server(servicer, server)
        server.add_insecure_port(f"127.0.0.1:{port}")
        await server.start()
        made: list[ApiKeyValidator] = []

        def validator(
            ttl: float = 10,
            max_entries: int = 1024,
            concurrency: int = 8,
            token: str = TOKEN,
            timeout: float = 2.0,
            invalid_ttl: float = 5.0,
        ) -> ApiKeyValidator:
            v = ApiKeyValidator(
                f"127.0.0.1:{port}", token, ttl, max_entries, concurrency, timeout, invalid_ttl
            )
            made.append(v)
            return v

        try:
            await scenario(servicer, validator, server)
        finally:
            for v in made:
                await v.close()
            await server.stop(0)

    asyncio.run(main())


def test_valid_key_is_cached_and_concurrent_misses_share_one_call() -> None:
    async def scenario(auth: CountingAuth, make: Make, _: grpc.aio.Server) -> None:
        auth.delay = 0.2
        v = make()
        verdicts = await asyncio.gather(*(v.validate(GOOD) for _ in range(100)))
        assert set(verdicts) == {Verdict.VALID} and auth.calls == 1
        assert await v.validate(GOOD) is Verdict.VALID and auth.calls == 1

    run(scenario)


def test_invalid_answers_are_cached_briefly() -> None:
    async def scenario(auth: CountingAuth, make: Make, _: grpc.aio.Server) -> None:
        v = make(invalid_ttl=0.3)
        assert await v.validate(BAD) is Verdict.INVALID
        assert await v.validate(BAD) is Verdict.INVALID
        assert auth.calls == 1
        await asyncio.sleep(0.35)
        assert await v.validate(BAD) is Verdict.INVALID
        assert auth.calls == 2
        auth.valid.add(BAD)  # a key created after an invalid answer works once that answer expires
        await asyncio.sleep(0.35)
        assert await v.validate(BAD) is Verdict.VALID

    run(scenario)


def test_invalid_answers_are_not_cached_with_a_zero_ttl() -> None:
    async def scenario(auth: CountingAuth, make: Make, _: grpc.aio.Server) -> None:
        v = make(invalid_ttl=0)
        assert await v.validate(BAD) is Verdict.INVALID
        assert await v.validate(BAD) is Verdict.INVALID
        assert auth.calls == 2

    run(scenario)


@pytest.mark.parametrize("key", ["", "short", "x" * 63, "x" * 65, "é" * 64, "a" * 63 + "-", "a" * 63 + "\n"])
def test_keys_that_cannot_exist_are_refused_without_a_backend_call(key: str) -> None:
    async def scenario(auth: CountingAuth, make: Make, _: grpc.aio.Server) -> None:
        v = make()
        assert await v.validate(key) is Verdict.INVALID
        assert auth.calls == 0 and v.stats.malformed == 1

    run(scenario)


def test_known_keys_revalidate_while_unknown_keys_fill_every_general_slot() -> None:
    async def scenario(auth: CountingAuth, make: Make, _: grpc.aio.Server) -> None:
        v = make(ttl=0.2, concurrency=2)
        assert await v.validate(GOOD) is Verdict.VALID  # now a known key
        await asyncio.sleep(0.25)  # its cache entry expired
        auth.delay = 0.3
        randoms = [asyncio.ensure_future(v.validate(f"{i:064d}")) for i in range(50)]
        await asyncio.sleep(0.05)
        assert await v.validate(f"{99:064d}") is Verdict.SATURATED  # the general slots are full
        assert await v.validate(GOOD) is Verdict.VALID  # ... and the known key has its own
        verdicts = await asyncio.gather(*randoms)
        assert verdicts.count(Verdict.INVALID) == 2 and verdicts.count(Verdict.SATURATED) == 48

    run(scenario)


def test_ttl_is_fixed_so_a_revoked_key_stops_working() -> None:
    async def scenario(auth: CountingAuth, make: Make, _: grpc.aio.Server) -> None:
        v = make(ttl=0.3)
        assert await v.validate(GOOD) is Verdict.VALID
        auth.valid.clear()  # revoked in the backend
        assert await v.validate(GOOD) is Verdict.VALID  # still inside the TTL
        await asyncio.sleep(0.35)
        assert await v.validate(GOOD) is Verdict.INVALID

    run(scenario)


def test_unreachable_backend_is_unavailable_and_expired_entries_are_not_served() -> None:
    async def scenario(auth: CountingAuth, make: Make, server: grpc.aio.Server) -> None:
        v = make(ttl=0.3, timeout=0.5)
        assert await v.validate(GOOD) is Verdict.VALID
        await server.stop(0)
        assert await v.validate(GOOD) is Verdict.VALID  # cached, backend not needed
        await asyncio.sleep(0.35)
        assert await v.validate(GOOD) is Verdict.UNAVAILABLE
        assert await v.validate(OTHER) is Verdict.UNAVAILABLE

    run(scenario)


def test_wrong_internal_token_is_unavailable_not_invalid() -> None:
    async def scenario(auth: CountingAuth, make: Make, _: grpc.aio.Server) -> None:
        assert await make(token="w" * 40).validate(GOOD) is Verdict.UNAVAILABLE

    run(scenario)


def test_capacity_evicts_the_oldest_entry() -> None:
    async def scenario(auth: CountingAuth, make: Make, _: grpc.aio.Server) -> None:
        auth.valid = {A, B, C}
        v = make(max_entries=2)
        for key in (A, B, C):
            await v.validate(key)
        assert auth.calls == 3
        await v.validate(C)
        await v.validate(B)
        assert auth.calls == 3
        await v.validate(A)  # evicted
        assert auth.calls == 4

    run(scenario)


def test_refreshes_are_bounded_without_queueing() -> None:
    async def scenario(auth: CountingAuth, make: Make, _: grpc.aio.Server) -> None:
        auth.delay, auth.valid = 0.3, {A, B}
        v = make(concurrency=1)
        first = asyncio.ensure_future(v.validate(A))
        await asyncio.sleep(0.05)
        assert await v.validate(B) is Verdict.SATURATED
        assert await first is Verdict.VALID

    run(scenario)


def test_a_cancelled_caller_does_not_cancel_the_shared_refresh() -> None:
    async def scenario(auth: CountingAuth, make: Make, _: grpc.aio.Server) -> None:
        auth.delay = 0.2
        v = make()
        leader = asyncio.ensure_future(v.validate(GOOD))
        await asyncio.sleep(0.05)
        follower = asyncio.ensure_future(v.validate(GOOD))
        leader.cancel()
        with pytest.raises(asyncio.CancelledError):
            await leader
        assert await follower is Verdict.VALID and auth.calls == 1

    run(scenario)
