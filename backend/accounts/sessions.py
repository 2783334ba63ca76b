"""The `session` cookie: JSON payload, signed (itsdangerous, JUNJO_SESSION_SECRET) then encrypted
(Fernet, JUNJO_SECURE_COOKIE_KEY), so it can be neither forged nor read by the browser.

The middleware exposes the decoded dict as `request.session` and re-issues the cookie on every
response while the session is non-empty (30-day sliding expiry); clearing the dict deletes it.
A cookie that fails decryption, signature or age checks is treated as no session at all.

Sliding renewal alone would keep a stolen cookie alive forever as long as it is used. The payload
therefore records the sign-in time (`at`), which renewal copies unchanged, and `require_user`
refuses a session older than ABSOLUTE_LIFETIME however recently it was renewed.
"""

from __future__ import annotations

import base64
import json
import secrets
from datetime import datetime, timedelta
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from itsdangerous import BadSignature, TimestampSigner
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

COOKIE_NAME = "session"
MAX_AGE_SECONDS = 30 * 24 * 3600
ABSOLUTE_LIFETIME = timedelta(days=30)
_SALT = "junjo-ai-studio.session"


def new_session(user_id: str, revision: int, now: datetime) -> dict[str, Any]:
    """The payload of a fresh sign-in: user, their session revision, a random id, sign-in time."""
    return {
        "uid": user_id,
        "rev": revision,
        "sid": secrets.token_urlsafe(16),
        "at": now.isoformat(timespec="seconds"),
    }


def session_expired(session: dict[str, Any], now: datetime) -> bool:
    """True when the sign-in time is missing, malformed, or more than ABSOLUTE_LIFETIME ago."""
    started = session.get("at")
    if not isinstance(started, str):
        return True
    try:
        signed_in = datetime.fromisoformat(started)
    except ValueError:
        return True
    if signed_in.tzinfo is None:
        return True
    return signed_in <= now - ABSOLUTE_LIFETIME


class SessionCodec:
    def __init__(self, session_secret: str, cookie_key_b64: str) -> None:
        self._signer = TimestampSigner(session_secret, salt=_SALT)
        # Fernet wants urlsafe base64 of 32 bytes; the setting is standard base64 of 32 bytes.
        self._fernet = Fernet(base64.urlsafe_b64encode(base64.b64decode(cookie_key_b64)))

    def encode(self, data: dict[str, Any]) -> str:
        signed = self._signer.sign(base64.urlsafe_b64encode(json.dumps(data).encode()))
        return self._fernet.encrypt(signed).decode("ascii")

    def decode(self, cookie: str) -> dict[str, Any] | None:
        try:
            signed = self._fernet.decrypt(cookie.encode("ascii"), ttl=MAX_AGE_SECONDS)
            payload = self._signer.unsign(signed, max_age=MAX_AGE_SECONDS)
            data = json.loads(base64.urlsafe_b64decode(payload))
        except (InvalidToken, BadSignature, ValueError, UnicodeError):
            return None
        return data if isinstance(data, dict) else None


class SessionMiddleware:
    """Pure ASGI middleware (works for streaming responses too)."""

    def __init__(self, app: ASGIApp, codec: SessionCodec, secure: bool) -> None:
        self.app = app
        self.codec = codec
        self.secure = secure

    def _cookie(self, value: str, max_age: int) -> str:
        parts = [f"{COOKIE_NAME}={value}", "Path=/", f"Max-Age={max_age}", "HttpOnly", "SameSite=Strict"]
        if self.secure:
            parts.append("Secure")
        return "; ".join(parts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw = HTTPConnection(scope).cookies.get(COOKIE_NAME)
        session = (self.codec.decode(raw) if raw else None) or {}
        scope["session"] = session
        had_cookie = raw is not None

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                current = scope["session"]
                if current:
                    headers.append("set-cookie", self._cookie(self.codec.encode(current), MAX_AGE_SECONDS))
                elif had_cookie:
                    headers.append("set-cookie", self._cookie("null", 0))
            await send(message)

        await self.app(scope, receive, send_with_cookie)
