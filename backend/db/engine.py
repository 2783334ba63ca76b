"""The application database's engine: SQLite (the default) or PostgreSQL (JUNJO_DATABASE_URL).

Check-then-insert blocks (the first user, the last admin, idempotent evaluation writes) must not
interleave, on either engine, however many backend processes share the database:
- SQLite: pysqlite's own transaction handling defers BEGIN until the first write, which makes a
  check-then-insert race-prone. The driver is put in autocommit mode and SQLAlchemy's `begin`
  event emits the BEGIN itself; `Database.write_transaction()` asks for BEGIN IMMEDIATE, which
  takes the database's write lock up front.
- PostgreSQL: `write_transaction()` takes one transaction-scoped advisory lock first, so these
  blocks run one at a time across every replica, as they do on SQLite; plain sessions are READ
  COMMITTED and never wait for it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from sqlalchemy import CursorResult, Delete, Engine, create_engine, event, make_url, text
from sqlalchemy.orm import Session, sessionmaker

BUSY_TIMEOUT_MS = 5000
_BEGIN_MODE = "junjo_begin_mode"
# pg_advisory_xact_lock key of write_transaction (any constant unique to this application).
WRITE_LOCK_KEY = 0x4A554E4A4F01


def is_postgresql(url: str) -> bool:
    return make_url(url).get_backend_name() == "postgresql"


def safe_url(url: str) -> str:
    """The URL as it may be logged: the password masked."""
    return make_url(url).render_as_string(hide_password=True)


def create_sqlite_engine(url: str) -> Engine:
    database = make_url(url).database
    if database:
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # SQLAlchemy's begin event below owns transactions
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get(_BEGIN_MODE, "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def create_postgresql_engine(url: str) -> Engine:
    # pre_ping: a replica survives a PostgreSQL restart or failover without serving one error per
    # pooled connection.
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def create_database_engine(url: str) -> Engine:
    return create_postgresql_engine(url) if is_postgresql(url) else create_sqlite_engine(url)


class Database:
    """The engine plus session factories; one per process, kept on `app.state.db`."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_postgresql = is_postgresql(url)
        self.engine = create_database_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._immediate = sessionmaker(
            self.engine.execution_options(**{_BEGIN_MODE: "IMMEDIATE"}), expire_on_commit=False
        )

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: commits on success, rolls back on error."""
        with self._sessions.begin() as session:
            yield session

    @contextmanager
    def write_transaction(self) -> Iterator[Session]:
        """Like `session()`, but serialized with every other write transaction (check-then-insert
        safe): SQLite's write lock at BEGIN, PostgreSQL's advisory lock before the first query."""
        with self._immediate.begin() as session:
            if self.is_postgresql:
                session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": WRITE_LOCK_KEY})
            yield session

    @staticmethod
    def delete_rows(session: Session, statement: Delete) -> int:
        """Runs a DELETE and returns how many rows it removed."""
        return cast(CursorResult[Any], session.execute(statement)).rowcount

    def ping(self) -> None:
        """Raises if the database cannot answer a query."""
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1 FROM users LIMIT 1"))

    def dispose(self) -> None:
        self.engine.dispose()
