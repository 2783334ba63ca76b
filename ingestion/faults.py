"""Test-only fault injection for the fault suite (tests/ingestion/test_faults.py); off by default.

`JUNJO_TEST_FAULT_WAL_SHORT_WRITE_EVERY=N` makes every Nth write of a batch group stop half-way (a
short count) and the call that continues it fail with ENOSPC, which is what a write into a nearly
full disk does. Only group writes count: a segment's schema header (offset 0) and its end-of-stream
marker are left alone, because a segment of a steady load takes a fixed number of writes, and a
period that lined up with the end-of-stream write would never fail an export.
Unset -- always, outside that suite -- `ENABLED` is False and the WAL calls os.pwritev itself.
"""

from __future__ import annotations

import errno
import itertools
import os

from ingestion import wal_format

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
    if offset == 0 or sum(v.nbytes for v in views) <= len(wal_format.EOS) or next(_calls) % _EVERY:
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
