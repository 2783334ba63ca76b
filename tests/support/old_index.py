"""metadata.db files as an older release left them, for the index's migration tests."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from backend.index.schema import MIGRATIONS


def index_at_schema(db: Path, version: int) -> sqlite3.Connection:
    """A new SQLite metadata.db at schema `version` (its first `version` migrations), open for the
    caller to record files in and close; opening it with MetadataIndex migrates it on from there."""
    db.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(db, isolation_level=None)
    for migration in MIGRATIONS[:version]:
        for statement in migration.split(";"):
            if statement.strip():
                conn.execute(statement)
    conn.execute(f"PRAGMA user_version={version}")
    return conn


def index_with_one_file(
    db: Path, version: int, path: Path, min_start_ns: int, max_start_ns: int, max_end_ns: int, rows: int
) -> None:
    """metadata.db at schema `version` (2 or later: listing keys exist) recording one indexed file,
    `path`, holding `rows` spans; nothing else about the file, so a migration that needs more of
    it has the indexer summarise it again."""
    with closing(index_at_schema(db, version)) as conn:
        conn.execute(
            "INSERT INTO parquet_files (file_path, min_start_ns, max_start_ns, max_end_ns, row_count,"
            " size_bytes, keys_indexed) VALUES (?, ?, ?, ?, ?, 1, 1)",
            (str(path), min_start_ns, max_start_ns, max_end_ns, rows),
        )
