"""The attributes the index records per file, and the one text form their values are kept in."""

from __future__ import annotations

INDEXED_ATTRIBUTES = (
    "user.id",
    "session.id",
    "enduser.id",
    "gen_ai.request.model",
    "llm.model_name",
    "junjo.agent.key",
)
"""Attributes whose values the index records per file: an equality search on one of them reads
only the files that hold the value."""

MAX_VALUES_PER_FILE = 20_000
"""Distinct values of one attribute recorded per file; above it the file is read for any value."""
MAX_VALUE_CHARS = 256
"""A longer value is not recorded: the file is read for any value of that attribute."""


def canonical(value: str | int | float | bool) -> str:
    """The index's text of an attribute value: strings as they are, numbers in one form (so `42`,
    `42.0` and `"42"` share a key), booleans as `true`/`false`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        number = float(value)
        return str(int(number)) if number.is_integer() and abs(number) < 2**53 else repr(number)
    return value
