"""Every alembic revision upgrades from the previous one and downgrades back, on SQLite and on
PostgreSQL; head matches the models; upgrading twice (a restart with RUN_MIGRATIONS=true) is a
no-op, and so are replicas migrating one database at the same time."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import IntegrityError

from backend.db.migrate import alembic_config, downgrade, upgrade
from backend.db.models import Base
from backend.evaluations import models as _evaluation_tables  # noqa: F401  (registers them on Base)
from backend.search import models as _search_tables  # noqa: F401  (registers them on Base)
from tests.support.postgres import PostgresServer
from tests.support.procs import ROOT

REVISIONS = list(reversed(list(ScriptDirectory.from_config(alembic_config("sqlite://")).walk_revisions())))


def _schema(url: str) -> set[tuple[str, str]]:
    """(table, column) pairs, alembic's own table left out."""
    engine = create_engine(url)
    try:
        schema = inspect(engine)
        tables = [t for t in schema.get_table_names() if t != "alembic_version"]
        return {(t, c["name"]) for t in tables for c in schema.get_columns(t)}
    finally:
        engine.dispose()


def _query(url: str, sql: str) -> list[tuple[object, ...]]:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            result = conn.execute(text(sql))
            return [tuple(r) for r in result] if result.returns_rows else []
    finally:
        engine.dispose()


def _version(url: str) -> str | None:
    rows = _query(url, "SELECT version_num FROM alembic_version")
    return str(rows[0][0]) if rows else None


@pytest.mark.parametrize("revision", REVISIONS, ids=[r.revision for r in REVISIONS])
def test_revision_upgrades_and_downgrades(database_url: str, revision: object) -> None:
    previous = revision.down_revision  # type: ignore[attr-defined]
    upgrade(database_url, previous or "base")
    before = _schema(database_url)
    upgrade(database_url, revision.revision)  # type: ignore[attr-defined]
    assert _version(database_url) == revision.revision  # type: ignore[attr-defined]
    assert _schema(database_url) > before
    downgrade(database_url, previous or "base")
    assert _schema(database_url) == before
    assert _version(database_url) == previous


def test_head_matches_models_and_is_idempotent(database_url: str) -> None:
    upgrade(database_url)
    upgrade(database_url)  # restart
    assert _version(database_url) == REVISIONS[-1].revision
    if database_url.startswith("sqlite"):
        assert _query(database_url, "PRAGMA journal_mode") == [("wal",)]
    engine = create_engine(database_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []


def test_replicas_migrating_at_once_both_succeed(postgres_server: PostgresServer) -> None:
    """Two backends started together with RUN_MIGRATIONS=true on one PostgreSQL: neither fails
    (they take turns on the migration lock), the schema is whole."""
    url = postgres_server.create_database()
    code = "import os, sys; from backend.db.migrate import upgrade; upgrade(os.environ['MIGRATE_URL'])"
    env = {**os.environ, "MIGRATE_URL": url}
    procs = [
        subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    results = [(p.wait(timeout=120), p.stderr.read().decode() if p.stderr else "") for p in procs]
    assert [code for code, _ in results] == [0, 0], results
    assert _version(url) == REVISIONS[-1].revision


def test_roles_migration_makes_existing_users_admins_and_keeps_them_on_downgrade(database_url: str) -> None:
    upgrade(database_url, "0004_evaluation_store")
    insert = (
        "INSERT INTO users (id, email, password_hash, created_at, updated_at)"
        " VALUES ('{id}', '{email}', 'h', '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
    )
    _query(database_url, insert.format(id="u1", email="a@example.com"))
    upgrade(database_url, "0005_roles")
    assert _query(database_url, "SELECT id, role, is_active FROM users") == [("u1", "admin", True)]
    with pytest.raises(IntegrityError):
        _query(database_url, "UPDATE users SET role = 'owner'")
    with pytest.raises(IntegrityError):  # new rows must name their role
        _query(database_url, insert.format(id="u2", email="b@example.com"))
    downgrade(database_url, "0004_evaluation_store")
    assert _query(database_url, "SELECT id, email FROM users") == [("u1", "a@example.com")]
