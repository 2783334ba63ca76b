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
from backend.search import models as _search_tables  # noqa: F401  (registers them on Base)

REVISIONS = list(reversed(list(ScriptDirectory.from_config(alembic_config(Path("x"))).walk_revisions())))


def _schema(path: Path) -> set[tuple[str, str]]:
    """(table, column) pairs, alembic's own table left out."""
    with sqlite3.connect(path) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        columns = {
            (t, c[1])
            for t in tables
            if t != "alembic_version"
            for c in conn.execute(f"PRAGMA table_info({t})")
        }
    conn.close()
    return columns


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
    before = _schema(db)
    upgrade(db, revision.revision)  # type: ignore[attr-defined]
    assert _version(db) == revision.revision  # type: ignore[attr-defined]
    assert _schema(db) > before
    downgrade(db, previous or "base")
    assert _schema(db) == before
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


def test_roles_migration_makes_existing_users_admins_and_keeps_them_on_downgrade(tmp_path: Path) -> None:
    db = tmp_path / "junjo.db"
    upgrade(db, "0004_evaluation_store")
    with sqlite3.connect(db) as conn:
        conn.execute(
            "INSERT INTO users (id, email, password_hash, created_at, updated_at)"
            " VALUES ('u1', 'a@example.com', 'h', '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
        )
    conn.close()
    upgrade(db, "0005_roles")
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT id, role, is_active FROM users").fetchall() == [("u1", "admin", 1)]
        with pytest.raises(sqlite3.IntegrityError):
            conn.execute("UPDATE users SET role = 'owner'")
        with pytest.raises(sqlite3.IntegrityError):  # new rows must name their role
            conn.execute(
                "INSERT INTO users (id, email, password_hash, created_at, updated_at)"
                " VALUES ('u2', 'b@example.com', 'h', '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
            )
    conn.close()
    downgrade(db, "0004_evaluation_store")
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT id, email FROM users").fetchall() == [("u1", "a@example.com")]
    conn.close()
