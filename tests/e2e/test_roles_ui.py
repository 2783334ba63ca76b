"""Claiming a production instance and the two roles, in headless Chromium against real processes
(`python -m backend` with JUNJO_ENV=production, the built UI from the project's static server):
the setup page needs the one-time code from the backend's log; a viewer sees no admin controls
and is told so on admin pages, and can still change their own password."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import DIST, ensure_built, open_page
from tests.support.procs import free_port
from tests.support.stack import Stack, setup_code, start_backend, start_static_ui

pytestmark = pytest.mark.e2e

ADMIN = ("owner@example.com", "owner's long password")
VIEWER = ("viewer@example.com", "viewer's long password")


@dataclass
class Production:
    stack: Stack
    ui_url: str


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Production]:
    """UI and API on `localhost` (one site, as production's frontend and api. subdomains are), so
    the Secure, SameSite=Strict session cookie works over plain http on loopback."""
    ensure_built()
    data = tmp_path_factory.mktemp("production-ui")
    ui_port, http_port = free_port(), free_port()
    ui_url, api_url = f"http://localhost:{ui_port}", f"http://localhost:{http_port}"
    env = {
        "JUNJO_ENV": "production",
        "JUNJO_PROD_FRONTEND_URL": ui_url,
        "JUNJO_PROD_BACKEND_URL": api_url,
        "JUNJO_PROD_INGESTION_URL": "http://localhost:4317",
        "JUNJO_ALLOW_ORIGINS": "",
    }
    stack = Stack(data, http_port=http_port, extra_env=env)
    try:
        start_backend(stack, data)
        start_static_ui(stack, ui_port, DIST, data, api_host=api_url)
        yield Production(stack, ui_url)
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def page(browser: Browser, production: Production) -> Iterator[Page]:
    with open_page(browser, production.ui_url, {"width": 1280, "height": 900}, accept_dialogs=True) as p:
        yield p


def _sign_in(page: Page, email: str, password: str) -> None:
    page.goto("/sign-in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def test_setup_page_needs_the_code_from_the_backend_log(page: Page, production: Production) -> None:
    page.goto("/")
    expect(page.get_by_role("heading", name="Welcome")).to_be_visible()
    page.get_by_label("Email").fill(ADMIN[0])
    page.get_by_label("Password").fill(ADMIN[1])
    page.get_by_role("button", name="Create Account").click()
    expect(page.get_by_role("alert")).to_contain_text("Setup code missing or wrong")
    page.get_by_label("Setup code").fill("AAAA-BBBB-CCCC")
    page.get_by_role("button", name="Create Account").click()
    expect(page.get_by_role("alert")).to_contain_text("Setup code missing or wrong")
    page.get_by_label("Setup code").fill(setup_code(production.stack))
    page.get_by_role("button", name="Create Account").click()
    expect(page).to_have_url(re.compile(r"/api-keys$"))
    nav = page.get_by_role("navigation", name="Primary")
    for link in ("Services", "API Keys", "Users", "Settings"):
        expect(nav.get_by_role("link", name=link)).to_be_visible()
    nav.get_by_role("link", name="Settings").click()
    expect(page.get_by_role("button", name="Flush WAL")).to_be_visible()
    expect(page.get_by_role("heading", name="Developer access tokens")).to_be_visible()


def test_admin_creates_a_viewer(page: Page) -> None:
    page.get_by_role("link", name="Users").click()
    form = page.get_by_role("form", name="Create user")
    form.get_by_label("Email").fill(VIEWER[0])
    form.get_by_label("Password").fill(VIEWER[1])
    expect(form.get_by_label("Role")).to_have_value("viewer")
    form.get_by_role("button", name="Create User").click()
    users = page.get_by_role("table", name="Users")
    expect(users.get_by_role("combobox", name=f"Role of {VIEWER[0]}")).to_have_value("viewer")
    # The admin's own row has no controls: nobody demotes, deactivates or deletes themselves.
    expect(users.get_by_role("button", name=f"Delete user {ADMIN[0]}")).to_have_count(0)
    expect(users.get_by_role("combobox", name=f"Role of {ADMIN[0]}")).to_have_count(0)
    page.get_by_role("button", name="Sign out").click()


def test_viewer_sees_no_admin_controls(page: Page) -> None:
    _sign_in(page, *VIEWER)
    nav = page.get_by_role("navigation", name="Primary")
    expect(nav.get_by_role("link", name="Services")).to_be_visible()
    expect(nav.get_by_role("link", name="Settings")).to_be_visible()
    expect(nav.get_by_role("link", name="API Keys")).to_have_count(0)
    expect(nav.get_by_role("link", name="Users")).to_have_count(0)
    nav.get_by_role("link", name="Settings").click()
    expect(page.get_by_role("form", name="Change password")).to_be_visible()
    expect(page.get_by_role("button", name="Flush WAL")).to_have_count(0)
    expect(page.get_by_role("heading", name="Developer access tokens")).to_have_count(0)
    for path in ("/users", "/api-keys"):
        page.goto(path)
        expect(page.get_by_role("heading", name="Admins only")).to_be_visible()
        expect(page.get_by_role("form", name="Create user")).to_have_count(0)


def test_viewer_changes_own_password(page: Page) -> None:
    page.goto("/settings")
    form = page.get_by_role("form", name="Change password")
    form.get_by_label("Current password").fill("not my password")
    form.get_by_label("New password").fill("a new long password")
    form.get_by_role("button", name="Change Password").click()
    expect(page.get_by_role("alert")).to_contain_text("Current password is wrong")
    form.get_by_label("Current password").fill(VIEWER[1])
    form.get_by_role("button", name="Change Password").click()
    expect(page.get_by_role("status")).to_contain_text("Password changed")
    page.get_by_role("button", name="Sign out").click()
    _sign_in(page, VIEWER[0], "a new long password")
