"""Process-wide allocator settings that keep the backend inside its RSS budget (CONTRACT §11).

Imported (for its effect) first thing by `python -m backend`, before pyarrow and DataFusion
load, and again by `backend.spans.engine` (a no-op then; it covers library use such as tests).
Three allocators serve the backend, and each keeps freed memory by default:
- DataFusion's mimalloc: freed pages go back at once (`MIMALLOC_PURGE_DELAY=0`; measured 322 →
  252 MB peak), and so do the pages of tokio's blocking reader threads, which exit after idling
  and leave their heaps "abandoned" (measured +49 → +19 MB over bench_query's acknowledged ->
  queryable loop). Its 1 GiB arena is not committed up front (`MIMALLOC_ARENA_EAGER_COMMIT=0`):
  segments are then mapped on demand and unmapped when purged; measured in bench_query: peak
  327 → 289 MB, listings ~285 → ~250 MB, for about twice the page faults (kernel time) per query.
  Read by mimalloc when DataFusion's library loads.
- glibc malloc raises its mmap threshold after a large block is freed, so the next large block
  (argon2's 19 MiB per sign-in, Arrow buffers) comes from a heap that keeps it afterwards: the
  threshold is pinned at its 128 KiB default (measured: -19 MB resident after a sign-in).
- pyarrow's own mimalloc pool (the indexer's batches, query results) is replaced by the system
  allocator, so its large buffers go back through the pinned threshold on free (measured: -9 MB
  at idle, one 1 GiB arena fewer). Set through the environment when pyarrow has not loaded yet
  (then its mimalloc arena is never created), else switched at once.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

os.environ.setdefault("MIMALLOC_PURGE_DELAY", "0")
os.environ.setdefault("MIMALLOC_ABANDONED_PAGE_PURGE", "1")
os.environ.setdefault("MIMALLOC_ARENA_EAGER_COMMIT", "0")
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")

import pyarrow as pa  # after its pool is chosen

_M_MMAP_THRESHOLD = -3  # glibc mallopt parameter; setting it also disables the dynamic threshold
_MMAP_THRESHOLD_BYTES = 128 * 1024


def _pin_glibc_mmap_threshold() -> None:
    name = ctypes.util.find_library("c")
    if not name:
        return
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt): nothing to pin
        return
    mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_BYTES)


_pin_glibc_mmap_threshold()
pa.set_memory_pool(pa.system_memory_pool())
