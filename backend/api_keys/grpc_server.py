"""ingestion.InternalAuthService/ValidateApiKey on GRPC_PORT, called by ingestion per unknown key.

The caller must present `x-junjo-internal-token` (constant-time check). A store failure answers
UNAVAILABLE so ingestion retries instead of rejecting a client's valid key.
"""

from __future__ import annotations

import asyncio

import grpc
import structlog

from backend.api_keys.service import is_valid_key
from backend.db.engine import Database
from junjo_common.internal_token import INVALID_TOKEN_MESSAGE, token_matches
from junjo_common.proto_gen import auth_pb2, auth_pb2_grpc

log = structlog.get_logger(__name__)
STORE_UNAVAILABLE = "API key store unavailable"
STOP_GRACE_SECONDS = 5.0


class InternalAuthServicer(auth_pb2_grpc.InternalAuthServiceServicer):
    def __init__(self, db: Database, internal_token: str) -> None:
        self._db = db
        self._token = internal_token

    async def ValidateApiKey(
        self, request: auth_pb2.ValidateApiKeyRequest, context: grpc.aio.ServicerContext
    ) -> auth_pb2.ValidateApiKeyResponse:
        if not token_matches(self._token, context.invocation_metadata()):
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, INVALID_TOKEN_MESSAGE)
        try:
            valid = await asyncio.to_thread(is_valid_key, self._db, request.api_key)
        except Exception:
            log.exception("api_key_lookup_failed")
            await context.abort(grpc.StatusCode.UNAVAILABLE, STORE_UNAVAILABLE)
        return auth_pb2.ValidateApiKeyResponse(is_valid=valid)


async def start_grpc_server(
    db: Database, internal_token: str, port: int, host: str = "0.0.0.0"
) -> grpc.aio.Server:
    """Binds and starts the server; raises RuntimeError if the port cannot be bound."""
    server = grpc.aio.server()
    auth_pb2_grpc.add_InternalAuthServiceServicer_to_server(InternalAuthServicer(db, internal_token), server)
    try:
        bound = server.add_insecure_port(f"{host}:{port}")
    except RuntimeError as exc:
        raise RuntimeError(f"GRPC_PORT {port}: cannot bind ({exc})") from None
    if bound == 0:
        raise RuntimeError(f"GRPC_PORT {port}: cannot bind")
    await server.start()
    log.info("internal_grpc_listening", port=port)
    return server
