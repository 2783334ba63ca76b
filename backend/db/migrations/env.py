"""Alembic environment: runs migrations on the URL set by backend.db.migrate.

SQLite: WAL mode, and batch mode (a table is rebuilt for the ALTERs SQLite lacks). PostgreSQL:
plain ALTERs, inside a transaction that first takes an advisory lock, so replicas started together
with RUN_MIGRATIONS=true migrate one after the other (the later ones find the work done).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, text

from backend.db.models import Base
from backend.evaluations import models as _evaluation_tables  # noqa: F401  (registers them on Base)
from backend.search import models as _search_tables  # noqa: F401  (registers them on Base)

MIGRATION_LOCK_KEY = 0x4A554E4A4F02

engine = create_engine(context.config.attributes["url"])
with engine.connect() as connection:
    if engine.dialect.name == "sqlite":
        connection.exec_driver_sql("PRAGMA journal_mode=WAL")
        connection.commit()
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        if engine.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        context.run_migrations()
    connection.commit()
engine.dispose()
