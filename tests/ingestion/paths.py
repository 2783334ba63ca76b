"""Running a test on a compiled part of ingestion or on the pure-Python path that stands in for it.

Both must give the same results; the compiled one must be built (`make` builds it), so a missing
build fails the test instead of quietly testing the Python path twice.
"""

from __future__ import annotations

from types import ModuleType

import pytest

from ingestion import convert, wal_read

PATHS = ["compiled", "python"]


def use(
    path: str, monkeypatch: pytest.MonkeyPatch, module: ModuleType, attribute: str, built: bool, source: str
) -> str:
    """For "python", hides `module.attribute` (the compiled entry point) for this test."""
    if path == "python":
        monkeypatch.setattr(module, attribute, None)
    else:
        assert built, f"{source} is not built (make builds it)"
    return path


def converter(path: str, monkeypatch: pytest.MonkeyPatch) -> str:
    return use(path, monkeypatch, convert, "_fastconvert", convert.COMPILED, "ingestion/_fastconvert.c")


def segment_reader(path: str, monkeypatch: pytest.MonkeyPatch) -> str:
    return use(path, monkeypatch, wal_read, "gather", wal_read.COMPILED, "ingestion/_segread.c")
