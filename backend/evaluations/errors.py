"""Errors of the evaluation API, answered with the exact bodies the Junjo Studio client parses.

The client reads a 409 body as exactly `{code, message}` (anything else, FastAPI's `{detail}`
included, is a contract error for it), and evidence routes answer a 409 with
`{code, message, match_count}`. Handlers raise `ApiError` subclasses; `api_error_response`
(registered in backend.app) turns them into that JSON.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response


class ApiError(Exception):
    def __init__(self, status_code: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        super().__init__(body)
        self.status_code = status_code
        self.body = body
        self.headers = headers


class Conflict(ApiError):
    """409 `{code, message}`: a write that contradicts stored immutable content or state."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(409, {"code": code, "message": message})


class NotFound(ApiError):
    def __init__(self, message: str) -> None:
        super().__init__(404, {"detail": message})


class Unprocessable(ApiError):
    """422 in FastAPI's shape, for checks that run after request parsing (cursors, id sets)."""

    def __init__(self, location: list[str], message: str) -> None:
        super().__init__(422, {"detail": [{"type": "value_error", "loc": location, "msg": message}]})


async def api_error_response(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return JSONResponse(exc.body, status_code=exc.status_code, headers=exc.headers)
