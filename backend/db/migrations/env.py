"""Alembic environment: runs migrations on the URL set by backend.db.migrate (WAL, batch mode)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from backend.db.models import Base
from backend.evaluations import models as _evaluation_tables  # noqa: F401  (registers them on Base)
from backend.search import models as _search_tables  # noqa: F401  (registers them on Base)

url = context.config.get_main_option("sqlalchemy.url")
engine = create_engine(url or "")
with engine.connect() as connection:
    connection.exec_driver_sql("PRAGMA journal_mode=WAL")
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()  # the PRAGMA autobegan a transaction: without this the version stamp is lost
engine.dispose()
