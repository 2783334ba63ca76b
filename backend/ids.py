"""Random identifiers for rows (nanoid-style: URL-safe alphabet, drawn from `secrets`)."""

from __future__ import annotations

import secrets
import string

URL_SAFE_ALPHABET = string.ascii_letters + string.digits + "_-"


def new_id(size: int = 22) -> str:
    return "".join(secrets.choice(URL_SAFE_ALPHABET) for _ in range(size))
