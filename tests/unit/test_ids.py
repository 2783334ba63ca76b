"""Row ids: URL-safe, and usable as a command-line argument."""

from __future__ import annotations

import re

from backend.ids import new_id


def test_ids_are_url_safe_and_never_read_as_an_option() -> None:
    """junjo's `eval` CLI takes `--dataset-id <id>`: an id starting with `-` is read as an option.
    Among 5,000 ids drawn from all 64 characters, one would start with `-` about 78 times."""
    ids = [new_id() for _ in range(5000)]
    assert all(re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{21}", i) for i in ids)
    assert len(set(ids)) == len(ids)
    assert any("-" in i for i in ids) and any("_" in i for i in ids)  # the rest: the whole alphabet
