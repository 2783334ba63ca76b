"""The shared secret carried in `x-junjo-internal-token` on internal gRPC calls.

JUNJO_INTERNAL_GRPC_TOKEN when set, otherwise derived from JUNJO_SESSION_SECRET, so a `.env`
without the token works unchanged in both services.
"""

from __future__ import annotations

import hashlib
import hmac

METADATA_KEY = "x-junjo-internal-token"
_DERIVATION_LABEL = b"junjo-ai-studio/internal-grpc-token/v1"
INVALID_TOKEN_MESSAGE = "Invalid internal workload token"  # noqa: S105 (a message, not a secret)


def resolve_internal_token(explicit_token: str | None, session_secret: str | None) -> str:
    """Returns the token both services must agree on; raises ValueError if neither input is set."""
    if explicit_token:
        return explicit_token
    if not session_secret:
        raise ValueError("JUNJO_SESSION_SECRET: is required unless JUNJO_INTERNAL_GRPC_TOKEN is set")
    return hmac.new(session_secret.encode(), _DERIVATION_LABEL, hashlib.sha256).hexdigest()


def token_matches(expected: str, metadata: tuple[tuple[str, str | bytes], ...] | None) -> bool:
    """Constant-time check of the token in a call's invocation metadata."""
    presented = ""
    for key, value in metadata or ():
        if key == METADATA_KEY:
            presented = value.decode() if isinstance(value, bytes) else value
            break
    return hmac.compare_digest(presented.encode(), expected.encode())


def call_metadata(token: str) -> tuple[tuple[str, str]]:
    return ((METADATA_KEY, token),)
