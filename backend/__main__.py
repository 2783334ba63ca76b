"""`python -m backend`: settings -> logging -> migrations -> serve (backend.server).

Configuration is validated before the web and gRPC stacks are even imported, so a bad variable
is reported at once, as one line naming it. Exit codes: 0 clean stop, 1 runtime failure
(port taken, gRPC server died, migration failed), 2 bad configuration.
"""

from __future__ import annotations

import asyncio
import sys

import structlog
from pydantic import ValidationError

from backend.settings import get_settings
from junjo_common.logging_setup import configure_logging
from junjo_common.private_files import make_new_files_private
from junjo_common.settings import describe_error

EXIT_RUNTIME_FAILURE = 1
EXIT_BAD_CONFIG = 2


def main() -> int:
    make_new_files_private()
    try:
        settings = get_settings()
    except ValidationError as exc:
        print(describe_error(exc), file=sys.stderr)
        return EXIT_BAD_CONFIG
    configure_logging(settings.junjo_log_level, settings.junjo_log_format, service="backend")
    log = structlog.get_logger("backend")
    from backend.spans import allocators  # noqa: F401  (allocator settings, before pyarrow loads)

    # isort: split
    from backend.db.engine import safe_url  # heavy imports only once the configuration is good
    from backend.db.migrate import upgrade
    from backend.server import serve

    if settings.run_migrations:
        database = safe_url(settings.database_url)
        try:
            upgrade(settings.database_url)
        except Exception as exc:
            log.error("migrations_failed", database=database, error=str(exc))
            return EXIT_RUNTIME_FAILURE
        log.info("migrations_applied", database=database)
    try:
        return asyncio.run(serve(settings))
    except (OSError, RuntimeError) as exc:
        log.error("backend_start_failed", error=str(exc))
        return EXIT_RUNTIME_FAILURE


if __name__ == "__main__":
    sys.exit(main())
