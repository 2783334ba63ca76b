"""The placeholder secrets shipped in `.env.example`, which no service may start with.

A `.env` copied from the example but never filled would otherwise run with a publicly known
session secret (forgeable sessions, guessable internal token). `make secrets` replaces them.
"""

from __future__ import annotations

PLACEHOLDER = "change-me-run-make-secrets"
PLACEHOLDER_MESSAGE = "must not be the .env.example placeholder (run `make secrets` or set a real value)"


def is_placeholder(value: str) -> bool:
    return value.strip().lower().startswith("change-me")
