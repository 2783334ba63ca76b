"""HTTP guards that apply to every route: request body size limit and CSRF origin check.

Both are pure ASGI middlewares so they also cover streaming bodies and never buffer a request.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MIB = 1024 * 1024
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_DETAIL = ("Cross-site request refused: the Origin or Referer header must be one of the allowed "
               "origins (JUNJO_ALLOW_ORIGINS)")


def _too_large(limit: int) -> str:
    return f"Request body too large (limit {limit} bytes)"


class BodySizeLimitMiddleware:
    """413 for bodies above the limit: early from Content-Length, or while streaming the body.

    `overrides` maps a path prefix to its own limit (longest prefix wins).
    """

    def __init__(self, app: ASGIApp, max_bytes: int = MIB,
                 overrides: Mapping[str, int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.overrides = sorted((overrides or {}).items(), key=lambda item: -len(item[0]))

    def limit_for(self, path: str) -> int:
        return next((limit for prefix, limit in self.overrides if path.startswith(prefix)), self.max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = Headers(scope=scope).get("content-length")
        if declared is not None:
            if not declared.isdigit():
                await JSONResponse({"detail": "Invalid Content-Length header"}, 400)(scope, receive, send)
                return
            if int(declared) > limit:
                await JSONResponse({"detail": _too_large(limit)}, 413)(scope, receive, send)
                return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise HTTPException(413, _too_large(limit))  # rendered by FastAPI's handler
            return message

        await self.app(scope, limited_receive, send)


def request_origin(headers: Headers) -> str | None:
    """The Origin header, else the origin part of the Referer header."""
    origin = headers.get("origin")
    if origin and origin != "null":
        return origin.rstrip("/").lower()
    referer = headers.get("referer")
    if referer:
        parts = urlsplit(referer)
        if parts.scheme and parts.netloc:
            return f"{parts.scheme}://{parts.netloc}".lower()
    return None


class CsrfOriginMiddleware:
    """403 for a state-changing request that does not come from an allowed origin.

    Browsers always send Origin on cross-origin POST/PUT/PATCH/DELETE, so a forged form or fetch
    from another site is refused here even before the SameSite=Strict cookie would be checked.
    Non-browser clients (scripts, tests) send an allowed Origin header explicitly.
    """

    def __init__(self, app: ASGIApp, allowed_origins: list[str]) -> None:
        self.app = app
        self.allowed = frozenset(o.lower() for o in allowed_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] == "http" and scope["method"] in UNSAFE_METHODS
                and request_origin(Headers(scope=scope)) not in self.allowed):
            await JSONResponse({"detail": CSRF_DETAIL}, 403)(scope, receive, send)
            return
        await self.app(scope, receive, send)
