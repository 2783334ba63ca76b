"""Process-wide allocator settings that keep the backend inside its RSS budget (docs/PERFORMANCE.md).

Imported (for its effect) first thing by `python -m backend`, before pyarrow and DataFusion
load, and again by `backend.spans.engine` (a no-op then; it covers library use such as tests).
Three allocators serve the backend, and each keeps freed memory by default:
- DataFusion's mimalloc: its 1 GiB arena is not committed up front
  (`MIMALLOC_ARENA_EAGER_COMMIT=0`; segments are mapped on demand and unmapped when purged,
  which lowers the query peak), and freed pages are purged at once (`MIMALLOC_PURGE_DELAY=0`).
  A delayed purge runs only when the heap that freed them allocates or frees again: the reader
  threads of a query over fat spans then idle holding tens of MiB of decoded text, and the next
  such query starts from there. The pages of tokio's blocking reader threads, which exit after
  idling and leave their heaps "abandoned", are purged too (`MIMALLOC_ABANDONED_PAGE_PURGE`).
  Read by mimalloc when DataFusion's library loads.
- glibc malloc raises its mmap threshold after a large block is freed, so the next large block
  (argon2's 19 MiB per sign-in, Arrow buffers) comes from a heap that keeps it afterwards: the
  threshold is pinned at its 128 KiB default, so such blocks are unmapped when freed.
- pyarrow's own mimalloc pool (the indexer's batches, query results) is replaced by the system
  allocator, so its large buffers go back through the pinned threshold on free (one arena
  fewer, and the indexer's memory is returned, for some indexer CPU in page faults). Set through
  the environment when pyarrow has not loaded yet (then its mimalloc arena is never created),
  else switched at once.
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
