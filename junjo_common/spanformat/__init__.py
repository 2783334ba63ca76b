"""The span storage format, versioned apart from the services.

Each version is a module (`v1`, `v2`, ...) with the Arrow schema, the JSON rules and the Parquet options;
its schema stamps `FORMAT_VERSION` into every file's metadata under `FORMAT_METADATA_KEY`.
Writers use `CURRENT`. Readers look up the version stamped in each file (`format_of`) and refuse a
file whose version they do not know with `UnknownFormatVersion`, which names the file: such a file
is reported and left alone, never read with the wrong schema. docs/STORAGE.md describes the format.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import ModuleType

from junjo_common.spanformat import v1, v2

CURRENT = v2
VERSIONS: dict[int, ModuleType] = {v1.FORMAT_VERSION: v1, v2.FORMAT_VERSION: v2}
FORMAT_METADATA_KEY = v1.FORMAT_METADATA_KEY  # the same key in every version


class UnknownFormatVersion(ValueError):
    """A span file stamped with a format version this code cannot read."""

    def __init__(self, path: str, stamped: str | None) -> None:
        known = ", ".join(str(v) for v in sorted(VERSIONS))
        what = f"unknown span format version {stamped!r}" if stamped is not None else "no span format version"
        self.path, self.stamped = path, stamped
        self.reason = f"{what} (this build reads version {known})"
        super().__init__(f"{path}: {self.reason}")


def format_of(path: str, schema_metadata: Mapping[bytes, bytes] | None) -> ModuleType:
    """The format module for a file whose Arrow schema metadata is `schema_metadata`."""
    raw = (schema_metadata or {}).get(FORMAT_METADATA_KEY)
    stamped = raw.decode("utf-8", "replace") if raw is not None else None
    version = int(stamped) if stamped is not None and stamped.isdecimal() else None
    if version not in VERSIONS:
        raise UnknownFormatVersion(path, stamped)
    return VERSIONS[version]


__all__ = ["CURRENT", "FORMAT_METADATA_KEY", "VERSIONS", "UnknownFormatVersion", "format_of", "v1", "v2"]
