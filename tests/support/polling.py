"""Waiting for something another process does (a span to be queryable, a key to be refused).

Tests never assert on timing: these deadlines are generous bounds on waiting on a shared 2-core
machine, and a timeout fails with the last value seen so the failure says what was there instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

DEADLINE = 20.0


def poll(
    fetch: Callable[[], Any], ok: Callable[[Any], bool], deadline: float = DEADLINE, interval: float = 0.1
) -> Any:
    """Calls `fetch` until `ok(value)` and returns that value; fails after `deadline` seconds."""
    end = time.monotonic() + deadline
    value = fetch()
    while not ok(value):
        if time.monotonic() > end:
            raise AssertionError(f"condition not met within {deadline}s; last value: {str(value)[:2000]}")
        time.sleep(interval)
        value = fetch()
    return value


def wait_for(predicate: Callable[[], Any], timeout: float = 30.0, interval: float = 0.1) -> Any:
    """Calls `predicate` until it returns something truthy and returns that."""
    return poll(predicate, bool, timeout, interval)
