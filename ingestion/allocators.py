"""Arrow's allocator for ingestion: jemalloc, handing freed pages back at once.

Imported (for its effect) first thing by `python -m ingestion`, before pyarrow loads. The peaks
of ingestion's RSS are the cold flush's and hot snapshot's row groups (a row group read from the
WAL and its Parquet encoding, ~20 MB of Arrow buffers), freed a few milliseconds later. Measured
on a 25 MB flush (docs/PERFORMANCE.md): the process grew by +37 MB with pyarrow's default
mimalloc (purging at once), +24-27 MB with jemalloc and a decay of 0 ms (freed pages are
returned immediately instead of after jemalloc's default decay), +29 MB and twice the CPU with
the system allocator. Where pyarrow has no jemalloc, its default pool is kept with mimalloc's
purge delay at 0 (the next best: it was +47 -> +37 MB for that pool in the same measurement).
"""

from __future__ import annotations

import os

os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "jemalloc")
os.environ.setdefault("MIMALLOC_PURGE_DELAY", "0")

import pyarrow as pa  # after its pool is chosen

if pa.default_memory_pool().backend_name == "jemalloc":
    pa.jemalloc_set_decay_ms(0)
