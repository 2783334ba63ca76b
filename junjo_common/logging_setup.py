"""structlog configuration shared by both services (JUNJO_LOG_LEVEL, JUNJO_LOG_FORMAT).

Secrets never reach a log line: any event key that names a secret is redacted before rendering.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

import structlog

LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}
FORMATS = ("json", "text")
# Names that hold a secret; "...key" only at the end, so an `api_key_id` stays readable.
_SECRET_KEY = re.compile(r"(password|secret|token|cookie|authorization|key$)", re.I)
REDACTED = "[redacted]"


def _redact_secrets(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    for key in event_dict:
        if key != "event" and _SECRET_KEY.search(key):
            event_dict[key] = REDACTED
    return event_dict


def configure_logging(level: str = "info", fmt: str = "json", service: str = "") -> None:
    """Routes structlog and the stdlib root logger (uvicorn, grpc, alembic) to stderr."""
    if level.lower() not in LEVELS:
        raise ValueError(f"JUNJO_LOG_LEVEL must be one of debug|info|warn|error, got {level!r}")
    if fmt.lower() not in FORMATS:
        raise ValueError(f"JUNJO_LOG_FORMAT must be json or text, got {fmt!r}")
    numeric = LEVELS[level.lower()]
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _redact_secrets,
    ]
    if service:
        shared.insert(0, lambda _l, _m, ev: {"service": service, **ev})
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt.lower() == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric)
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        cache_logger_on_first_use=True,
    )
