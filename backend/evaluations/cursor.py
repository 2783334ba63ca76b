"""Opaque keyset cursors: unpadded urlsafe base64 of a small JSON object naming the list and the
last row's sort key. Clients send them back verbatim; anything that does not decode to a cursor
of the expected kind is a 422, never a silent first page.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any

from backend.evaluations.errors import Unprocessable

MAX_CURSOR_BYTES = 1024
VERSION = 1


def encode_cursor(kind: str, **position: Any) -> str:
    payload = {"v": VERSION, "kind": kind, **position}
    raw = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str, kind: str, fields: tuple[str, ...]) -> dict[str, Any]:
    """The position fields of a cursor of `kind`; 422 for anything else."""
    try:
        if len(cursor.encode("utf-8")) > MAX_CURSOR_BYTES:
            raise ValueError("too long")
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(raw)
    except (ValueError, UnicodeError, binascii.Error):
        raise Unprocessable(["query", "cursor"], "cursor is not a cursor this API issued") from None
    if (
        not isinstance(payload, dict)
        or payload.get("v") != VERSION
        or payload.get("kind") != kind
        or set(payload) != {"v", "kind", *fields}
        or not all(isinstance(payload[f], str) and 0 < len(payload[f]) <= 256 for f in fields)
    ):
        raise Unprocessable(["query", "cursor"], "cursor is not a cursor this API issued")
    return {f: payload[f] for f in fields}


def created_at_of(position: dict[str, Any]) -> datetime:
    try:
        value = datetime.fromisoformat(position["created_at"])
    except ValueError:
        raise Unprocessable(["query", "cursor"], "cursor is not a cursor this API issued") from None
    if value.tzinfo is None:
        raise Unprocessable(["query", "cursor"], "cursor is not a cursor this API issued")
    return value
