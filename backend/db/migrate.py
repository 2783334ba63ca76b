"""Alembic run programmatically (no alembic.ini): `upgrade(url)` brings the application database
(the SQLite file or PostgreSQL) to head.

Used at start when RUN_MIGRATIONS=true, by `make run`, and by tests. Command line:
`python -m backend.db.migrate [upgrade|downgrade] [revision]` against JUNJO_DATABASE_URL, else
JUNJO_SQLITE_PATH.
"""

from __future__ import annotations

import sys
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import make_url

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["url"] = url  # not the ini option: it would interpolate a password's `%`
    return config


def upgrade(url: str, revision: str = "head") -> None:
    database = make_url(url)
    if database.get_backend_name() == "sqlite" and database.database:
        Path(database.database).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


def main(argv: list[str]) -> None:
    from backend.settings import get_settings

    action = argv[0] if argv else "upgrade"
    revision = argv[1] if len(argv) > 1 else ("head" if action == "upgrade" else "-1")
    url = get_settings().database_url
    {"upgrade": upgrade, "downgrade": downgrade}[action](url, revision)


if __name__ == "__main__":
    main(sys.argv[1:])
