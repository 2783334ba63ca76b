"""Files the services create are readable by their own user only.

Spans, users, password hashes and API key digests live in the data directory; with the usual
umask 022 they would be world-readable (0644 files, 0755 directories) to every other account on
the host. Both services set umask 077 first thing, so SQLite databases, WAL segments, Parquet files
and the directories holding them are created 0600 / 0700. In the containers both services run as
the same user, which is all that needs to read them.
"""

from __future__ import annotations

import os

PRIVATE_UMASK = 0o077


def make_new_files_private() -> None:
    os.umask(PRIVATE_UMASK)
