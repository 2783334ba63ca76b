"""Browser end-to-end fixtures: the real backend and ingestion processes, the built frontend served
by the project's static server (with a config.js pointing at that backend), and headless Debian
Chromium driven by Playwright. Chromium comes from the system (/usr/bin/chromium): Playwright's
own browser download is never used.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Playwright, expect, sync_playwright

from tests.support.procs import free_port
from tests.support.stack import Stack, start_backend, start_ingestion

# Generous waits: the suite shares a 2-core machine with every other suite (no timing asserts).
expect.set_options(timeout=15_000)

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "frontend" / "dist"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@dataclass
class UiStack:
    stack: Stack
    ui_url: str
    log_dir: Path

    @property
    def api_url(self) -> str:
        return self.stack.http_url


def ensure_built() -> None:
    if not (DIST / "index.html").exists():
        subprocess.run(["npm", "run", "build"], cwd=ROOT / "frontend", check=True, timeout=300)


def _serving(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="module")
def ui_stack_env() -> dict[str, str]:
    """Extra backend/ingestion environment; a test module overrides it (e.g. LLM provider base URLs)."""
    return {}


@pytest.fixture(scope="module")
def ui_stack(tmp_path_factory: pytest.TempPathFactory, ui_stack_env: dict[str, str]) -> Iterator[UiStack]:
    ensure_built()
    data = tmp_path_factory.mktemp("e2e")
    ui_port = free_port()
    ui_url = f"http://127.0.0.1:{ui_port}"
    stack = Stack(data, extra_env={**ui_stack_env, "JUNJO_ALLOW_ORIGINS": ui_url})
    server: subprocess.Popen[bytes] | None = None
    try:
        start_backend(stack, data)
        start_ingestion(stack, data)
        with (data / "static.log").open("wb") as log:
            server = subprocess.Popen(
                [
                    sys.executable,
                    str(ROOT / "scripts" / "static_server.py"),
                    "--dir",
                    str(DIST),
                    "--port",
                    str(ui_port),
                    "--api-host",
                    stack.http_url,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while not _serving(f"{ui_url}/config.js"):
            assert server.poll() is None and time.monotonic() < deadline, (
                f"static server did not start: {(data / 'static.log').read_text()}"
            )
            time.sleep(0.1)
        yield UiStack(stack, ui_url, data)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
        stack.stop()


@pytest.fixture(scope="module")
def playwright_instance() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright_instance: Playwright) -> Iterator[Browser]:
    b = playwright_instance.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    try:
        yield b
    finally:
        b.close()
