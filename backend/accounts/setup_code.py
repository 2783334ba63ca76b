"""The one-time setup code that claims an instance with no users.

Whoever reaches a fresh backend first would otherwise become its owner. While no user exists the
backend holds a random code and prints it in its log (`setup_code_issued`), where only the operator
sees it; creating the first user requires it. In development a request from a loopback address may
skip it (the operator's own machine). The code is spent when the first user is created; should the
users table ever be emptied behind the backend's back, the next attempt issues and logs a new one.
"""

from __future__ import annotations

import ipaddress
import secrets
import threading

import structlog

log = structlog.get_logger(__name__)

# Crockford-style alphabet without 0/O, 1/I/L: easy to read off a log and type; 12 symbols = 60 bits.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
GROUPS, GROUP_LENGTH = 3, 4
MAX_INPUT_LENGTH = 64


def normalize(code: str) -> str:
    """`abcd-efgh ijkl` -> `ABCDEFGHIJKL`: case, spaces and dashes do not matter."""
    return "".join(c for c in code.upper() if c not in " -\t")


def is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


class SetupCode:
    def __init__(self) -> None:
        self._code: str | None = None
        self._lock = threading.Lock()

    def issue(self) -> None:
        """Creates a code if none is live, and logs it (again) for the operator."""
        with self._lock:
            if self._code is None:
                self._code = "".join(secrets.choice(ALPHABET) for _ in range(GROUPS * GROUP_LENGTH))
            shown = "-".join(
                self._code[i : i + GROUP_LENGTH] for i in range(0, len(self._code), GROUP_LENGTH)
            )
        log.warning(
            "setup_code_issued", setup_code=shown, use="enter it on the setup page to create the first user"
        )

    def matches(self, candidate: str | None) -> bool:
        with self._lock:
            code = self._code
        if code is None or not candidate:
            return False
        return secrets.compare_digest(normalize(candidate).encode(), code.encode())

    def spend(self) -> None:
        with self._lock:
            self._code = None

    @property
    def live(self) -> bool:
        with self._lock:
            return self._code is not None
