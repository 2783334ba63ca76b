"""Password hashing with argon2id (argon2-cffi).

Parameters follow OWASP's argon2id minimum (19 MiB, t=2, p=1) so ten concurrent sign-ups fit in a
1 GB machine; a semaphore additionally bounds how many hashes run at once. Unlike bcrypt there is
no 72-byte truncation: the API bounds passwords to 8..1024 characters instead.
"""

from __future__ import annotations

import threading

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
_CONCURRENT_HASHES = threading.BoundedSemaphore(2)
# Verified when the email is unknown, so a miss costs the same time as a wrong password.
_DUMMY_HASH = _HASHER.hash("junjo-dummy-password-for-timing")


def hash_password(password: str) -> str:
    with _CONCURRENT_HASHES:
        return _HASHER.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    """True only if `password` matches; never raises for a malformed or missing hash."""
    with _CONCURRENT_HASHES:
        try:
            return _HASHER.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
