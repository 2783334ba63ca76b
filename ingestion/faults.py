"""Test-only fault injection for the fault suite (tests/ingestion/test_faults.py); off by default.

`JUNJO_TEST_FAULT_WAL_SHORT_WRITE_EVERY=N` makes every Nth WAL write stop half-way (a short count)
and the call that continues it fail with ENOSPC, which is what a write into a nearly full disk
does. Unset -- always, outside that suite -- `ENABLED` is False and the WAL calls os.pwritev itself.
"""

from __future__ import annotations

import errno
import itertools
import os

_EVERY = int(os.environ.get("JUNJO_TEST_FAULT_WAL_SHORT_WRITE_EVERY", "0") or 0)
ENABLED = _EVERY > 0
_calls = itertools.count(1)
_fail_next = False


def wal_write(fd: int, views: list[memoryview], offset: int) -> int:
    """os.pwritev, except for the injected short write and the failure that follows it."""
    global _fail_next
    if _fail_next:
        _fail_next = False
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC) + " (injected by JUNJO_TEST_FAULT)")
    if next(_calls) % _EVERY:
        return os.pwritev(fd, views, offset)
    _fail_next = True
    half = sum(v.nbytes for v in views) // 2
    kept: list[memoryview] = []
    for v in views:
        if half <= 0:
            break
        kept.append(v[:half])
        half -= kept[-1].nbytes
    return os.pwritev(fd, kept, offset) if kept else 0
