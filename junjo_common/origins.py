"""Allowed browser origins (JUNJO_ALLOW_ORIGINS and the ingestion's OTLP/HTTP CORS list).

One syntax for both services: a comma-separated list or a JSON list of `scheme://host[:port]`
origins, never `*`; unset means the production frontend URL, or the development UI ports.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

DEV_ALLOW_ORIGINS = ("http://localhost:5151", "http://localhost:5153")


def normalize_origin(value: str) -> str:
    """`https://App.example.com/` -> `https://app.example.com` (scheme://host[:port], lower-case)."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value!r} is not an http(s) origin")
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname.lower()}{port}"


def parse_origins(value: object) -> list[str] | None:
    """The normalized origins of a CSV/JSON-list value (None when empty); ValueError names the fault."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ValueError(f"is not a valid JSON list ({exc.msg})") from None
        else:
            value = [item for item in text.split(",") if item.strip()]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError("must be a comma-separated list or a JSON list of origins")
    if "*" in (v.strip() for v in value):
        raise ValueError("'*' cannot be used with credentialed requests; list the origins")
    return [normalize_origin(v) for v in value] or None


def default_origins(production: bool, frontend_url: str | None) -> list[str]:
    """The allow-list when none is configured: the frontend URL (production) or the dev ports."""
    if production and frontend_url:
        return [normalize_origin(frontend_url)]
    return list(DEV_ALLOW_ORIGINS)
