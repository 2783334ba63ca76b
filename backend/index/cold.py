"""Where the backend finds the cold Parquet files: a small interface and two implementations, the
local directory (JUNJO_PARQUET_STORAGE_PATH, the default) and S3-compatible object storage
(JUNJO_OBJECT_STORE_URL).

The indexer lists, reads and deletes through it, and the query engine registers object files with
DataFusion through it. A file is named by its location: a path, or an object URL
(`s3://bucket/prefix/year=…/name.parquet`); the index keeps that name. Objects are read in place
with range requests (the footer, then only the column chunks and pages a reader asks for), never
downloaded whole.
"""

from __future__ import annotations

import contextlib
import io
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import obstore
import pyarrow as pa

from junjo_common.object_store import ObjectStoreConfig


@dataclass(frozen=True)
class ColdFile:
    location: str
    size_bytes: int
    mtime_ns: int


class ColdFiles(Protocol):
    root: str  # what the logs name the store by

    def scan(self) -> list[ColdFile]:
        """Every published cold file, sorted by location (hidden and tmp names skipped)."""

    def stat(self, location: str) -> ColdFile | None:
        """The file now, or None when it is gone."""

    def open(self, location: str) -> Any:
        """Something pyarrow.parquet reads the file from (random access)."""

    def delete(self, location: str) -> None:
        """Removes the file; a file already gone is not an error."""


class LocalColdFiles:
    def __init__(self, root: Path) -> None:
        self.root_path = root
        self.root = str(root)

    def scan(self) -> list[ColdFile]:
        if not self.root_path.is_dir():
            return []
        found = []
        for path in self.root_path.rglob("*.parquet"):
            rel = path.relative_to(self.root_path).parts
            if any(p.startswith(".") or p == "tmp" for p in rel[:-1]) or rel[-1].startswith("."):
                continue
            cold = self.stat(str(path))
            if cold is not None:
                found.append(cold)
        return sorted(found, key=lambda f: f.location)

    def stat(self, location: str) -> ColdFile | None:
        try:
            st = os.stat(location)
        except (FileNotFoundError, NotADirectoryError):
            return None
        if not Path(location).is_file():
            return None
        return ColdFile(location, st.st_size, st.st_mtime_ns)

    def open(self, location: str) -> Any:
        return location

    def delete(self, location: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(location)


class ObjectColdFiles:
    """A bucket and prefix on S3-compatible storage (obstore for listing, range reads and deletes;
    DataFusion's own S3 store for queries)."""

    def __init__(self, config: ObjectStoreConfig) -> None:
        self.config = config
        self.root = config.url("").rstrip("/")
        self.client = config.client()
        self._datafusion_store: Any = None
        self._lock = threading.Lock()

    def _key(self, location: str) -> str:
        relative = self.config.relative(location)
        if relative is None:
            raise FileNotFoundError(f"{location} is not under {self.root}")
        return relative

    def scan(self) -> list[ColdFile]:
        found = []
        for page in obstore.list(self.client):
            for meta in page:
                name = meta["path"].rsplit("/", 1)[-1]
                if not name.endswith(".parquet") or name.startswith("."):
                    continue
                mtime_ns = int(meta["last_modified"].timestamp() * 1e9)
                found.append(ColdFile(self.config.url(meta["path"]), int(meta["size"]), mtime_ns))
        return sorted(found, key=lambda f: f.location)

    def stat(self, location: str) -> ColdFile | None:
        try:
            meta = obstore.head(self.client, self._key(location))
        except FileNotFoundError:
            return None
        return ColdFile(location, int(meta["size"]), int(meta["last_modified"].timestamp() * 1e9))

    def open(self, location: str) -> Any:
        cold = self.stat(location)
        if cold is None:
            raise FileNotFoundError(location)
        return pa.PythonFile(RangeReader(self.client, self._key(location), cold.size_bytes), mode="r")

    def delete(self, location: str) -> None:
        obstore.delete(self.client, self._key(location))  # deleting a missing object succeeds

    def datafusion_store(self) -> Any:
        """DataFusion's AmazonS3 store for this bucket (one per process; sessions share it)."""
        with self._lock:
            if self._datafusion_store is None:
                # here, not at the top: DataFusion must load after backend.spans.allocators
                from datafusion.object_store import AmazonS3

                c = self.config
                self._datafusion_store = AmazonS3(
                    bucket_name=c.bucket,
                    region=c.region,
                    access_key_id=c.access_key_id,
                    secret_access_key=c.secret_access_key,
                    endpoint=c.endpoint,
                    allow_http=bool(c.endpoint and c.endpoint.startswith("http://")),
                )
            return self._datafusion_store


class RangeReader(io.RawIOBase):
    """A read-only, seekable view of one object: every read is one range request."""

    def __init__(self, client: Any, key: str, size: int) -> None:
        super().__init__()
        self.client, self.key, self.size = client, key, size
        self.position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        self.position = max(0, base + offset)
        return self.position

    def readinto(self, buffer: Any) -> int:
        length = min(len(buffer), self.size - self.position)
        if length <= 0:
            return 0
        data = obstore.get_range(self.client, self.key, start=self.position, length=length)
        view = memoryview(data)
        buffer[: len(view)] = view
        self.position += len(view)
        return len(view)
