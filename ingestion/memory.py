"""Process memory shared by the cold flush and the hot snapshot: one peak at a time, handed back after.

Both build Parquet row groups from the WAL in worker threads. Their peaks (a row group read and
being encoded) must never add up, and the memory they free must go back to the OS rather than
stay at the high-water mark of the last flush.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading

import pyarrow as pa

# One memory peak at a time in the whole process: a row group being built and encoded (cold flush
# or hot snapshot) or a flush reading its chunk's light columns, so the flush's and a snapshot's
# peaks never add up; each holds it for tens of milliseconds at a time.
ROW_GROUP_LOCK = threading.Lock()

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")


def release_memory() -> None:
    """Hands freed memory back to the OS after a flush or snapshot (glibc heap and Arrow's pool).

    Without it RSS stays at the high-water mark of the last flush.
    """
    pa.default_memory_pool().release_unused()
    _libc.malloc_trim(0)
