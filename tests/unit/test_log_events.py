"""Log events are snake_case names with fields (`wal_flushed rows=… seconds=…`), never sentences,
in every service: a reader (or a log query) finds an event by one stable name."""

from __future__ import annotations

import ast
import re

from tests.support.procs import ROOT

LOG_METHODS = {"debug", "info", "warning", "warn", "error", "exception", "critical", "msg"}
EVENT_NAME = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
PACKAGES = ("backend", "ingestion", "junjo_common")


def log_events() -> list[tuple[str, int, str]]:
    """(file, line, event) of every call `<something log-like>.<level>(event, ...)`."""
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "proto_gen" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                    continue
                target = node.func.value
                name = target.id if isinstance(target, ast.Name) else getattr(target, "attr", "")
                if node.func.attr not in LOG_METHODS or "log" not in name.lower() or not node.args:
                    continue
                first = node.args[0]
                event = first.value if isinstance(first, ast.Constant) else ast.unparse(first)
                found.append((str(path.relative_to(ROOT)), node.lineno, str(event)))
    return found


def test_every_log_event_is_a_snake_case_name() -> None:
    events = log_events()
    assert len(events) > 20  # the scan finds the services' log calls
    bad = [f"{file}:{line}: {event!r}" for file, line, event in events if not EVENT_NAME.match(event)]
    assert not bad, "log events must be snake_case names (put values in fields):\n" + "\n".join(bad)
