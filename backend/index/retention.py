"""Retention: delete whole cold Parquet files, oldest data first, by age and by total size.

JUNJO_RETENTION_DAYS drops files whose newest span ended before now - days;
JUNJO_RETENTION_MAX_GB then drops the oldest files until the indexed total fits. Unset = keep.
Safe while queries run: a file leaves the index first (no new query picks it), then is deleted;
queries already reading a local file hold an open descriptor (backend/spans/engine.py), so they
finish; a query still reading a deleted object skips it and says so (its spans are expired).
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog

from backend.index.cold import ColdFiles
from backend.index.store import MetadataIndex

log = structlog.get_logger(__name__)
_NS_PER_DAY = 86_400 * 10**9


@dataclass(frozen=True)
class RetentionPolicy:
    days: float | None = None
    max_bytes: int | None = None

    @classmethod
    def from_settings(cls, days: float | None, max_gb: float | None) -> RetentionPolicy:
        return cls(days=days, max_bytes=int(max_gb * 1024**3) if max_gb else None)

    @property
    def enabled(self) -> bool:
        return self.days is not None or self.max_bytes is not None


def select_expired(
    files_oldest_first: list[tuple[str, int, int]], policy: RetentionPolicy, now_ns: int
) -> list[str]:
    """Pure selection over (path, max_end_ns, size_bytes) rows sorted oldest first."""
    expired: list[str] = []
    remaining = list(files_oldest_first)
    if policy.days is not None:
        cutoff = now_ns - int(policy.days * _NS_PER_DAY)
        while remaining and remaining[0][1] < cutoff:
            expired.append(remaining.pop(0)[0])
    if policy.max_bytes is not None:
        total = sum(size for _, _, size in remaining)
        while remaining and total > policy.max_bytes:
            path, _, size = remaining.pop(0)
            expired.append(path)
            total -= size
    return expired


def apply_retention(index: MetadataIndex, policy: RetentionPolicy, now_ns: int, cold: ColdFiles) -> list[str]:
    """Deletes expired files (index rows first, then the files); returns the deleted paths."""
    if not policy.enabled:
        return []
    expired = select_expired(index.files_oldest_first(), policy, now_ns)
    if not expired:
        return []
    index.forget(expired)
    for path in expired:
        try:
            cold.delete(path)
        except Exception as exc:  # OSError locally; the object store client's errors otherwise
            log.warning("retention_delete_failed", path=path, error=str(exc))
    log.info("retention_deleted_files", count=len(expired))
    return expired
