"""A real PostgreSQL 15 server for the tests: Debian's binaries, a throwaway cluster on loopback.

`PostgresServer` runs `initdb` and `pg_ctl` from /usr/lib/postgresql/15/bin in a temporary
directory. As root it runs them as the unprivileged `postgres` user (the server refuses to run as
root) in a directory that user owns; otherwise as the current user. The server listens on a free
127.0.0.1 port and a unix socket inside that directory only, asks for a password (scram-sha-256),
and is stopped and deleted at the end of the test session. Every wait is bounded.

The `postgres_server` fixture (session scope, registered by tests/conftest.py) starts it on first
use; tests take a fresh database from it with `create_database()`.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.procs import free_port

PG_BIN = Path("/usr/lib/postgresql/15/bin")
SUPERUSER = "junjo"
_START_TIMEOUT_SECS = 60
# Test clusters trade durability for speed; `durable=True` keeps PostgreSQL's defaults (benchmarks).
_FAST_SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")


def _as_server_user() -> list[str]:
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


@dataclass
class PostgresServer:
    durable: bool = False
    port: int = field(default_factory=free_port)
    password: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="junjo-pg-")))
    _databases: int = 0

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log_path(self) -> Path:
        return self.root / "server.log"

    def _run(self, *args: str, timeout: float = _START_TIMEOUT_SECS) -> None:
        out = subprocess.run(
            [*_as_server_user(), *args], capture_output=True, text=True, timeout=timeout, check=False
        )
        if out.returncode != 0:
            log = self.log_path.read_text(errors="replace")[-3000:] if self.log_path.exists() else ""
            raise RuntimeError(f"{args[0]} exited with {out.returncode}: {out.stderr[-3000:]}\n{log}")

    def start(self) -> PostgresServer:
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
        password_file = self.root / "password"
        password_file.write_text(self.password)
        if os.geteuid() == 0:
            os.chown(password_file, owner.pw_uid, owner.pw_gid)
        password_file.chmod(0o600)
        self._run(
            str(PG_BIN / "initdb"),
            "--pgdata",
            str(self.data_dir),
            "--username",
            SUPERUSER,
            "--pwfile",
            str(password_file),
            "--auth",
            "scram-sha-256",
            "--encoding",
            "UTF8",
            "--locale",
            "C",
            "--no-sync",
        )
        password_file.unlink()
        options = [
            f"-p {self.port}",
            "-c listen_addresses=127.0.0.1",
            f"-c unix_socket_directories={self.root}",
            "-c max_connections=200",
            *([] if self.durable else [f"-c {s}" for s in _FAST_SETTINGS]),
        ]
        self._run(
            str(PG_BIN / "pg_ctl"),
            "--pgdata",
            str(self.data_dir),
            "--log",
            str(self.log_path),
            "--options",
            " ".join(options),
            "--wait",
            "--timeout",
            str(_START_TIMEOUT_SECS),
            "start",
        )
        return self

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{SUPERUSER}:{self.password}@127.0.0.1:{self.port}/{database}"

    def execute(self, statement: str) -> None:
        """Runs one statement outside a transaction (CREATE/DROP DATABASE) as the superuser."""
        import psycopg

        connection = psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user=SUPERUSER,
            password=self.password,
            dbname="postgres",
            autocommit=True,
            connect_timeout=10,
        )
        with connection as conn:
            conn.execute(statement)  # test-made statement text

    def create_database(self) -> str:
        """A new empty database; returns its SQLAlchemy URL (with the password)."""
        self._databases += 1
        name = f"junjo_test_{self._databases}"
        self.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def stop(self) -> None:
        if self.data_dir.exists():
            try:
                self._run(
                    str(PG_BIN / "pg_ctl"),
                    "--pgdata",
                    str(self.data_dir),
                    "--mode",
                    "immediate" if not self.durable else "fast",
                    "--wait",
                    "--timeout",
                    "30",
                    "stop",
                )
            except (RuntimeError, subprocess.TimeoutExpired):
                self._kill_postmaster()
        shutil.rmtree(self.root, ignore_errors=True)

    def _kill_postmaster(self) -> None:
        """SIGKILL of this cluster's postmaster (its pid file's first line), when pg_ctl failed."""
        pid_file = self.data_dir / "postmaster.pid"
        with contextlib.suppress(OSError, ValueError, IndexError):  # no pid file or no such process
            os.kill(int(pid_file.read_text().split()[0]), signal.SIGKILL)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server = PostgresServer().start()
    try:
        yield server
    finally:
        server.stop()


ENGINES = ("sqlite", "postgresql")


@pytest.fixture(params=ENGINES)
def index_url(request: pytest.FixtureRequest) -> str | None:
    """Each index engine in turn, for MetadataIndex's `url`: None, metadata.db under tmp_path;
    else a fresh PostgreSQL database's URL."""
    if request.param == "sqlite":
        return None
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.create_database()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """`backend_engine` is "sqlite", or each of ENGINES in turn in a module that sets ENGINES."""
    if "backend_engine" in metafunc.fixturenames:
        engines = getattr(metafunc.module, "ENGINES", ("sqlite",))
        metafunc.parametrize("backend_engine", engines, indirect=True, scope="module")


@pytest.fixture(scope="module")
def backend_engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=ENGINES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty application database on each engine in turn: a SQLite file, a PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite+pysqlite:///{tmp_path / 'junjo.db'}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.create_database()
