"""Polling with a generous deadline for the query end-to-end tests (no timing assertions)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

OBS = "/api/v1/observability"
DEADLINE = 20.0  # shared 2-core CI machine: generous, and only a bound on waiting


def poll(fetch: Callable[[], Any], ok: Callable[[Any], bool], deadline: float = DEADLINE) -> Any:
    """Calls `fetch` until `ok(value)`; fails with the last value after `deadline` seconds."""
    end = time.monotonic() + deadline
    value = fetch()
    while not ok(value):
        if time.monotonic() > end:
            raise AssertionError(f"condition not met within {deadline}s; last value: {str(value)[:2000]}")
        time.sleep(0.1)
        value = fetch()
    return value
