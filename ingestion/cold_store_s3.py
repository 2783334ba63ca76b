"""The cold tier on S3-compatible object storage (ingestion/cold_store.py says how a flush uses it).

PARQUET_OUTPUT_DIR holds each file until its upload is confirmed; the upload goes to the file's
deterministic name (the same relative path under the bucket's prefix).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import obstore
import structlog

from ingestion.disk import fsync_dir
from junjo_common.object_store import ObjectStoreConfig

log = structlog.get_logger("ingestion.cold_store")


class ObjectColdStore:
    """A bucket (and prefix) on S3-compatible storage; PARQUET_OUTPUT_DIR holds the files until
    their upload is confirmed."""

    def __init__(self, parquet_dir: Path, config: ObjectStoreConfig, client: Any = None) -> None:
        self.parquet_dir = parquet_dir
        self.config = config
        self.client = client if client is not None else config.client()

    def _relative(self, final: Path) -> str:
        return final.relative_to(self.parquet_dir).as_posix()

    def stage(self, tmp: Path, final: Path) -> None:
        os.replace(tmp, final)
        fsync_dir(final.parent)
        self._upload(final)

    def _upload(self, final: Path) -> None:
        relative = self._relative(final)
        try:
            obstore.put(self.client, relative, final)
        except Exception as exc:  # obstore raises its own errors for HTTP and connection failures
            raise _unreachable(self.config, "upload", exc) from exc
        log.info("cold_file_uploaded", object=self.config.url(relative), bytes=final.stat().st_size)

    def commit(self, tmp: Path, final: Path) -> str:
        return self.config.url(self._relative(final))

    def settle(self, final: Path) -> None:
        pass

    def release(self, final: Path) -> None:
        final.unlink(missing_ok=True)
        fsync_dir(final.parent)

    def finish(self, final: Path) -> bool:
        if final.exists():
            self._upload(final)  # again: the same name, whole or not at all
            return True
        try:
            obstore.head(self.client, self._relative(final))
        except FileNotFoundError:
            return False
        except Exception as exc:
            raise _unreachable(self.config, "check", exc) from exc
        return True

    def list_files(self) -> list[str]:
        try:
            found = [meta["path"] for page in obstore.list(self.client) for meta in page]
        except Exception as exc:
            raise _unreachable(self.config, "list", exc) from exc
        return sorted(self.config.url(p) for p in found if p.endswith(".parquet"))


def _unreachable(config: ObjectStoreConfig, action: str, exc: Exception) -> OSError:
    """The client's error as an OSError the flush scheduler reports (first line only: no request dump)."""
    first_line = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
    return OSError(f"object store s3://{config.bucket}: {action} failed: {first_line}")
