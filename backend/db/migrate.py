"""Alembic run programmatically (no alembic.ini): `upgrade(path)` brings junjo.db to head.

Used at start when RUN_MIGRATIONS=true, by `make run`, and by tests. Command line:
`python -m backend.db.migrate [upgrade|downgrade] [revision]` against JUNJO_SQLITE_PATH.
"""

from __future__ import annotations

import sys
from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def alembic_config(db_path: Path) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", f"sqlite+pysqlite:///{db_path}")
    return config


def upgrade(db_path: Path, revision: str = "head") -> None:
    db_path.parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(db_path), revision)


def downgrade(db_path: Path, revision: str) -> None:
    command.downgrade(alembic_config(db_path), revision)


def main(argv: list[str]) -> None:
    from backend.settings import get_settings

    action = argv[0] if argv else "upgrade"
    revision = argv[1] if len(argv) > 1 else ("head" if action == "upgrade" else "-1")
    path = get_settings().junjo_sqlite_path
    {"upgrade": upgrade, "downgrade": downgrade}[action](path, revision)


if __name__ == "__main__":
    main(sys.argv[1:])
