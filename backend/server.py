"""Runs the backend: internal gRPC server first, then uvicorn with the HTTP API, until SIGTERM.

The gRPC server is bound before the HTTP API can answer /health, so anything that waits for the
backend's readiness may call ValidateApiKey. If the gRPC server dies, the whole process stops
with a non-zero code rather than running half-alive.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Iterator

import structlog
import uvicorn

from backend.api_keys.grpc_server import STOP_GRACE_SECONDS, start_grpc_server
from backend.app import create_app
from backend.db.engine import Database
from backend.settings import Settings

log = structlog.get_logger("backend")
EXIT_RUNTIME_FAILURE = 1


class _Server(uvicorn.Server):
    """uvicorn without its own signal capture (which re-raises SIGTERM after shutdown and would
    kill the process before the gRPC server stops gracefully); `serve` installs the handlers."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve(settings: Settings) -> int:
    """Serves until SIGTERM/SIGINT (returns 0) or until the gRPC server dies (returns 1)."""
    db = Database(settings.database_url)
    grpc_server = await start_grpc_server(db, settings.internal_token, settings.grpc_port)
    server = _Server(
        uvicorn.Config(
            create_app(settings, db),
            host="0.0.0.0",
            port=settings.port,
            log_config=None,
            server_header=False,
            lifespan="on",
        )
    )
    exit_code = 0

    def request_stop() -> None:
        server.should_exit = True

    async def supervise_grpc() -> None:
        nonlocal exit_code
        await grpc_server.wait_for_termination()
        if not server.should_exit:
            log.error("internal_grpc_stopped_unexpectedly", action="shutting down")
            exit_code = EXIT_RUNTIME_FAILURE
            server.should_exit = True

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, request_stop)
    supervisor = asyncio.create_task(supervise_grpc())
    try:
        await server.serve()
    except SystemExit:  # uvicorn's reaction to a startup failure such as PORT in use (logged)
        log.error("http_server_start_failed", port=settings.port)
    finally:
        server.should_exit = True  # tells the supervisor this stop is intended
        await grpc_server.stop(STOP_GRACE_SECONDS)
        await supervisor
        db.dispose()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
    if not server.started:
        return EXIT_RUNTIME_FAILURE
    log.info("backend_stopped", exit_code=exit_code)
    return exit_code
