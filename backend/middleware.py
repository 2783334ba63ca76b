"""CSRF guard for every route: state-changing requests must come from an allowed origin.

A pure ASGI middleware, so it also covers streaming requests and never buffers a body.
(Body size limits are FastAPI's own `max_body_size`, set in backend.app.)
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

MIB = 1024 * 1024
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_DETAIL = (
    "Cross-site request refused: the Origin or Referer header must be one of the allowed "
    "origins (JUNJO_ALLOW_ORIGINS)"
)


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


def _bearer_without_cookie(headers: Headers) -> bool:
    return "cookie" not in headers and headers.get("authorization", "")[:7].lower() == "bearer "


class CsrfOriginMiddleware:
    """403 for a state-changing request that does not come from an allowed origin.

    Browsers always send Origin on cross-origin POST/PUT/PATCH/DELETE, so a forged form or fetch
    from another site is refused here even before the SameSite=Strict cookie would be checked.
    Non-browser clients (scripts, tests) send an allowed Origin header explicitly. A request with
    an `Authorization: Bearer` header and no cookie is let through: it carries no ambient browser
    credential to forge, and the route authenticates the token itself (developer access tokens).
    """

    def __init__(self, app: ASGIApp, allowed_origins: list[str]) -> None:
        self.app = app
        self.allowed = frozenset(o.lower() for o in allowed_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] in UNSAFE_METHODS
            and not _bearer_without_cookie(headers := Headers(scope=scope))
            and request_origin(headers) not in self.allowed
        ):
            await JSONResponse({"detail": CSRF_DETAIL}, 403)(scope, receive, send)
            return
        await self.app(scope, receive, send)
