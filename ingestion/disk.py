"""The file system under the WAL and Parquet: durable directory changes, and what a failure means.

A file is only durable once the directory entry naming it is, so every directory change that
must survive a crash is followed by an fsync of that directory. When a write fails, the errno
says whether waiting helps: a full disk (space can be freed, a flush frees WAL space) or a
file system that refuses writes (read-only, I/O errors, a vanished directory). `WriteFailure`
names that cause in the words clients and operators see.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from pathlib import Path

_DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_dirs_durably(directory: Path) -> None:
    """mkdir -p, fsyncing each parent whose entries changed, so a published file survives a crash."""
    missing = []
    while not directory.exists():
        missing.append(directory)
        directory = directory.parent
    for d in reversed(missing):
        d.mkdir(exist_ok=True)
        fsync_dir(d.parent)


def describe(exc: OSError) -> str:
    """`No space left on device (ENOSPC)`, or the message itself for an error without errno."""
    if exc.errno is None:
        return str(exc)
    name = errno.errorcode.get(exc.errno, str(exc.errno))
    return f"{exc.strerror or os.strerror(exc.errno)} ({name})"


@dataclass(frozen=True)
class WriteFailure:
    """Why span storage cannot take writes right now."""

    disk_full: bool
    cause: str  # e.g. "No space left on device (ENOSPC)"

    @classmethod
    def of(cls, exc: OSError) -> WriteFailure:
        return cls(exc.errno in _DISK_FULL, describe(exc))

    @property
    def message(self) -> str:
        """What an exporter is told (no paths: those are for the operator's log)."""
        what = "disk full" if self.disk_full else "writes failing"
        return f"Span storage {what}: {self.cause}; please retry later"
