"""The built app in Chromium behind the real frontend/nginx.conf (with the CSP, config.js and
security headers the container's entrypoint writes) talking to a real backend: nothing the UI does
is refused by the Content-Security-Policy, cross-origin credentialed calls work, and a deep link
is served by the SPA fallback.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.deploy.nginx_support import Nginx, web_root
from tests.e2e.conftest import ensure_built
from tests.support.stack import Stack, start_backend

pytestmark = pytest.mark.e2e


@pytest.fixture
def nginx_ui(tmp_path: Path) -> Iterator[tuple[Nginx, Stack]]:
    ensure_built()
    stack = Stack(tmp_path / "data")
    server = Nginx(
        tmp_path / "prefix",
        web_root(tmp_path),
        {
            "JUNJO_ENV": "production",
            "JUNJO_PROD_FRONTEND_URL": "http://127.0.0.1",
            "JUNJO_PROD_BACKEND_URL": stack.http_url,
            "JUNJO_PROD_INGESTION_URL": "http://127.0.0.1:1",
        },
    )
    stack.extra_env["JUNJO_ALLOW_ORIGINS"] = server.url
    try:
        start_backend(stack, tmp_path)
        server.start()
        yield server, stack
    finally:
        server.stop()
        stack.stop()


def test_app_runs_under_the_nginx_csp(browser: Browser, nginx_ui: tuple[Nginx, Stack]) -> None:
    server, _ = nginx_ui
    context = browser.new_context(base_url=server.url)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    try:
        page.goto("/traces/some-service/0123456789abcdef0123456789abcdef")
        expect(page.get_by_role("heading", name="Welcome")).to_be_visible()
        page.get_by_label("Email").fill("nginx@example.com")
        page.get_by_label("Password").fill("long enough password")
        page.get_by_role("button", name="Create Account").click()
        expect(page).to_have_url(re.compile(r"/api-keys$"))
        page.get_by_label("Key name").fill("via nginx")
        page.get_by_role("button", name="Create API Key").click()
        expect(page.get_by_test_id("new-api-key")).to_be_visible()
        page.goto("/traces/some-service/0123456789abcdef0123456789abcdef")
        expect(page.get_by_role("alert")).to_contain_text("Trace not found")
    finally:
        context.close()
    refused = [p for p in problems if "Content Security Policy" in p or "Refused" in p]
    assert not refused, refused
    # 401 (session check before sign-up) and 404 (the unknown trace) are the API's expected answers.
    expected = re.compile(r"Failed to load resource: .* status of (401|404)")
    unexpected = [p for p in problems if not expected.search(p)]
    assert not unexpected, unexpected
