"""Where a flushed Parquet file becomes cold (readable by the backend): a small interface and two
implementations: the local directory here (the default), S3-compatible object storage in
cold_store_s3.py (imported only when JUNJO_OBJECT_STORE_URL is set).

The flush (ingestion/flush.py) calls the steps in this order for every file, and a crash between
any two of them is finished or undone at the next start from the file's intent record:
  stage(tmp, final)     outside the WAL lock; may fail (the segments stay, the flush is retried)
  commit(tmp, final)    under the WAL lock, with the segments leaving the live set; returns the
                        location readers name the file by
  settle(final)         after the commit, before the segments are deleted
  release(final)        after the segments are deleted
`finish(final)` says whether an interrupted flush's file is published (finishing it if it can).

Local: the rename into PARQUET_OUTPUT_DIR is the commit point, as always. Object storage: the file
is made durable locally under PARQUET_OUTPUT_DIR first, then uploaded to its deterministic name
(the same relative path under the bucket's prefix); only a confirmed upload lets the commit drop
the segments, and the local copy goes after them. An upload interrupted by a crash is repeated at
the next start under the same name (a PUT replaces an object whole), so a span is never stored
twice, and an object that exists already is not uploaded again.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

from ingestion.disk import fsync_dir


class ColdStore(Protocol):
    def stage(self, tmp: Path, final: Path) -> None: ...

    def commit(self, tmp: Path, final: Path) -> str: ...

    def settle(self, final: Path) -> None: ...

    def release(self, final: Path) -> None: ...

    def finish(self, final: Path) -> bool:
        """Whether the interrupted flush of `final` is published; raises OSError when that cannot
        be known or done now (the bucket is unreachable)."""

    def list_files(self) -> list[str]:
        """Every published cold file's location, oldest first."""


class LocalColdStore:
    """PARQUET_OUTPUT_DIR on the local file system."""

    def __init__(self, parquet_dir: Path) -> None:
        self.parquet_dir = parquet_dir

    def stage(self, tmp: Path, final: Path) -> None:
        pass  # the rename under the WAL lock publishes

    def commit(self, tmp: Path, final: Path) -> str:
        os.replace(tmp, final)
        return str(final)

    def settle(self, final: Path) -> None:
        fsync_dir(final.parent)

    def release(self, final: Path) -> None:
        pass  # the file is the cold copy

    def finish(self, final: Path) -> bool:
        return final.exists()

    def list_files(self) -> list[str]:
        root = self.parquet_dir
        return sorted(str(p) for p in root.rglob("*.parquet")) if root.exists() else []
