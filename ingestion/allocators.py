"""Arrow's allocator for ingestion: pyarrow's mimalloc, committing memory only on demand and
handing freed pages back at once.

Imported (for its effect) first thing by `python -m ingestion`, before pyarrow loads (mimalloc
reads its options when the library loads). The peaks of ingestion's RSS are the cold flush's and
hot snapshot's row groups (a row group read from the WAL plus its Parquet encoding) that are
freed a few milliseconds later. With a purge delay of 0 alone the flush peak stays high because
mimalloc commits its arena eagerly; committed on demand (`MIMALLOC_ARENA_EAGER_COMMIT=0`, as the
backend does) it is the lowest of the allocators compared (docs/PERFORMANCE.md): jemalloc with a
decay of 0 reached about the same peak for more CPU per span and slower hot snapshots, the system
allocator a higher peak for much more flush CPU.
"""

from __future__ import annotations

import os

# Set, not defaulted: a parent process's choice (the backend picks the system allocator, and a
# test runner that imported it passes that on) must not become ingestion's.
os.environ["ARROW_DEFAULT_MEMORY_POOL"] = "mimalloc"
os.environ.setdefault("MIMALLOC_PURGE_DELAY", "0")
os.environ.setdefault("MIMALLOC_ARENA_EAGER_COMMIT", "0")
