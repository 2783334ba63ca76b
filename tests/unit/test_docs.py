"""Docs describe the product as it is: no references to documents the reader does not have, and a
performance report a user can act on rather than a log of how it came about."""

from __future__ import annotations

import re
import subprocess

from tests.support.procs import ROOT

TEAM_CONTRACT = "CONTRACT " + "\u00a7"  # spelled apart so this file does not match itself


def test_no_file_cites_the_team_contract() -> None:
    tracked = subprocess.run(
        ["git", "grep", "-l", "-F", TEAM_CONTRACT], cwd=ROOT, capture_output=True, text=True
    ).stdout.split()
    assert tracked == []


def test_performance_report_is_short() -> None:
    lines = (ROOT / "docs" / "PERFORMANCE.md").read_text().splitlines()
    assert len(lines) < 200, (
        "docs/PERFORMANCE.md: keep it a short current-state report (history lives in git)"
    )


def test_docs_link_to_pages_that_exist() -> None:
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(((?:docs/)?[A-Z]+\.md)(?:#[\w-]+)?\)", page.read_text()):
            base = ROOT if target.startswith("docs/") or page.parent == ROOT else page.parent
            assert (base / target).is_file(), f"{page.name} links to missing {target}"
