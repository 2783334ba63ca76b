"""Every alembic revision upgrades from the previous one and downgrades back; head matches the
models; upgrading twice (a restart with RUN_MIGRATIONS=true) is a no-op."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine

from backend.db.migrate import alembic_config, downgrade, upgrade
from backend.db.models import Base
from backend.evaluations import models as _evaluation_tables  # noqa: F401  (registers them on Base)

REVISIONS = list(reversed(list(ScriptDirectory.from_config(alembic_config(Path("x"))).walk_revisions())))


def _tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    conn.close()
    return names - {"alembic_version"}


def _version(path: Path) -> str | None:
    with sqlite3.connect(path) as conn:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    conn.close()
    return row[0] if row else None


@pytest.mark.parametrize("revision", REVISIONS, ids=[r.revision for r in REVISIONS])
def test_revision_upgrades_and_downgrades(tmp_path: Path, revision: object) -> None:
    db = tmp_path / "junjo.db"
    previous = revision.down_revision  # type: ignore[attr-defined]
    upgrade(db, previous or "base")
    before = _tables(db)
    upgrade(db, revision.revision)  # type: ignore[attr-defined]
    assert _version(db) == revision.revision  # type: ignore[attr-defined]
    assert _tables(db) > before
    downgrade(db, previous or "base")
    assert _tables(db) == before
    assert _version(db) == previous


def test_head_matches_models_and_is_idempotent(tmp_path: Path) -> None:
    db = tmp_path / "junjo.db"
    upgrade(db)
    upgrade(db)  # restart
    assert _version(db) == REVISIONS[-1].revision
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
    engine = create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []
