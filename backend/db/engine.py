"""SQLite engine setup: WAL journal, busy timeout, and explicit BEGIN so `BEGIN IMMEDIATE` works.

pysqlite's own transaction handling defers BEGIN until the first write, which makes a
check-then-insert race-prone. The driver is put in autocommit mode and SQLAlchemy's `begin` event
emits the BEGIN itself; a block that must reserve the write lock up front asks for it with
`Database.write_transaction()` (BEGIN IMMEDIATE).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from sqlalchemy import CursorResult, Delete, Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

BUSY_TIMEOUT_MS = 5000
_BEGIN_MODE = "junjo_begin_mode"


def create_sqlite_engine(path: Path) -> Engine:
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(f"sqlite+pysqlite:///{path}", connect_args={"check_same_thread": False})

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


class Database:
    """The engine plus session factories; one per process, kept on `app.state.db`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.engine = create_sqlite_engine(path)
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
        """Like `session()` but takes SQLite's write lock at BEGIN (check-then-insert safe)."""
        with self._immediate.begin() as session:
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
