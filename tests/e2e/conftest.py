"""Browser end-to-end fixtures: the real backend and ingestion processes, the built frontend served
by the project's static server (with a config.js pointing at that backend), and headless Debian
Chromium driven by Playwright. Chromium comes from the system (/usr/bin/chromium): Playwright's
own browser download is never used.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, ViewportSize, expect, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.support.chromium import launch_chromium
from tests.support.procs import ROOT
from tests.support.stack import Stack, running_ui

# Generous waits: the suite shares a 2-core machine with every other suite (no timing asserts).
expect.set_options(timeout=15_000)

DIST = ROOT / "frontend" / "dist"
SCREENSHOTS = ROOT / "docs" / "screenshots"
UPDATE_SCREENSHOTS = os.environ.get("JUNJO_UPDATE_SCREENSHOTS") == "1"
FIRST_USER_EMAIL = "ada@example.com"
FIRST_USER_PASSWORD = "correct horse battery"


@dataclass
class UiStack:
    stack: Stack
    ui_url: str
    log_dir: Path

    @property
    def api_url(self) -> str:
        return self.stack.http_url


def reload_until(page: Page, attempt: Callable[[], object], what: str, timeout: float) -> None:
    """Retries `attempt` (a Playwright expectation or wait with a short timeout of its own),
    reloading between tries: spans are queryable within about a second of the export's
    acknowledgement, slower on a loaded machine, and some views only fetch on load."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            attempt()
            return
        except (AssertionError, PlaywrightTimeout):
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            page.reload()


def ensure_built() -> None:
    if not (DIST / "index.html").exists():
        subprocess.run(["npm", "run", "build"], cwd=ROOT / "frontend", check=True, timeout=300)


@pytest.fixture(scope="module")
def ui_stack_env() -> dict[str, str]:
    """Extra backend/ingestion environment; a test module overrides it (e.g. LLM provider base URLs)."""
    return {}


@pytest.fixture(scope="module")
def ui_stack(tmp_path_factory: pytest.TempPathFactory, ui_stack_env: dict[str, str]) -> Iterator[UiStack]:
    ensure_built()
    data = tmp_path_factory.mktemp("e2e")
    with running_ui(data, data, DIST, ui_stack_env) as (stack, ui_url):
        yield UiStack(stack, ui_url, data)


@pytest.fixture(scope="module")
def playwright_instance() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright_instance: Playwright) -> Iterator[Browser]:
    b = launch_chromium(playwright_instance)
    try:
        yield b
    finally:
        b.close()


@contextmanager
def open_page(
    browser: Browser, base_url: str, viewport: ViewportSize, accept_dialogs: bool = False
) -> Iterator[Page]:
    """A page in a browser context of its own; on leaving, the context is closed and the test
    fails if the page threw an uncaught error. Unless `accept_dialogs`, a dialog is dismissed."""
    context = browser.new_context(viewport=viewport, base_url=base_url)
    page = context.new_page()
    if accept_dialogs:
        page.on("dialog", lambda d: d.accept())
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield page
    context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


@pytest.fixture(scope="module")
def viewport() -> ViewportSize:
    """The browser window of `page`; a test module overrides it (e.g. taller for its screenshots)."""
    return {"width": 1440, "height": 900}


@pytest.fixture(scope="module")
def page(browser: Browser, ui_stack: UiStack, viewport: ViewportSize) -> Iterator[Page]:
    """A page on the UI, signed in as the first user (created here through the API, whose
    session cookie the page's context keeps). A module that signs in otherwise overrides it."""
    with open_page(browser, ui_stack.ui_url, viewport) as p:
        created = p.request.post(
            f"{ui_stack.api_url}/users/create-first-user",
            data={"email": FIRST_USER_EMAIL, "password": FIRST_USER_PASSWORD},
            headers={"Origin": ui_stack.ui_url},
        )
        assert created.ok, created.text()
        yield p


class Shots:
    """The screenshots a test module takes (into `out`)."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.taken: list[Path] = []

    def take(self, page: Page, name: str, full_page: bool = False) -> None:
        path = self.out / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        self.taken.append(path)


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shots]:
    """With JUNJO_UPDATE_SCREENSHOTS=1 the module's screenshots replace docs/screenshots' files of
    the same names when the module is done."""
    s = Shots(tmp_path_factory.mktemp("screenshots"))
    yield s
    if UPDATE_SCREENSHOTS:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for path in s.taken:
            shutil.copy(path, SCREENSHOTS / path.name)
