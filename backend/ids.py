"""Random identifiers for rows (nanoid-style: URL-safe alphabet, drawn from `secrets`).

The first character is a letter or digit: ids are passed as command-line arguments (junjo's
`eval` CLI takes `--dataset-id <id>`), where an id starting with `-` reads as an option.
"""

from __future__ import annotations

import secrets
import string

ALPHANUMERIC = string.ascii_letters + string.digits
URL_SAFE_ALPHABET = ALPHANUMERIC + "_-"


def new_id(size: int = 22) -> str:
    return secrets.choice(ALPHANUMERIC) + "".join(secrets.choice(URL_SAFE_ALPHABET) for _ in range(size - 1))
