"""Arrow's allocator for ingestion: pyarrow's mimalloc, committing memory only on demand and
handing freed pages back at once.

Imported (for its effect) first thing by `python -m ingestion`, before pyarrow loads (mimalloc
reads its options when the library loads). The peaks of ingestion's RSS are the cold flush's and
hot snapshot's row groups (a row group read from the WAL plus its Parquet encoding, ~20 MB of
Arrow buffers) that are freed a few milliseconds later. Measured on a 31 MB WAL flushed in
process (docs/PERFORMANCE.md, "Reading the WAL by position"): the process grew by +37 MB with
mimalloc's purge delay at 0 alone, because its arena is committed eagerly; +24 MB once it is
committed on demand (`MIMALLOC_ARENA_EAGER_COMMIT=0`, as the backend does). jemalloc with a decay
of 0 ms reached +25-27 MB but cost the service ~15 % more CPU per span and slower hot snapshots;
the system allocator +29 MB at twice the flush CPU.
"""

from __future__ import annotations

import os

# Set, not defaulted: a parent process's choice (the backend picks the system allocator, and a
# test runner that imported it passes that on) must not become ingestion's.
os.environ["ARROW_DEFAULT_MEMORY_POOL"] = "mimalloc"
os.environ.setdefault("MIMALLOC_PURGE_DELAY", "0")
os.environ.setdefault("MIMALLOC_ARENA_EAGER_COMMIT", "0")
