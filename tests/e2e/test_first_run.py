"""The first run, in a real browser: with no data yet the home page is a guided card; the key
created there is filled into the snippets (install line, endpoint, protocol per SDK), and the page
turns into the services list by itself when the first span arrives through the real exporter.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import UPDATE_SCREENSHOTS, Shots, UiStack, open_page
from tests.support.api import ApiClient
from tests.support.procs import run_sender

pytestmark = pytest.mark.e2e

EMAIL = "first@example.com"
PASSWORD = "correct horse battery"
SERVICE = "first-app"


@pytest.fixture(scope="module")
def page(browser: Browser, ui_stack: UiStack) -> Iterator[Page]:
    with ApiClient(ui_stack.api_url, origin=ui_stack.ui_url) as api:
        api.create_first_user(EMAIL, PASSWORD)
    with open_page(browser, ui_stack.ui_url, {"width": 1440, "height": 900}) as p:
        p.context.grant_permissions(["clipboard-read", "clipboard-write"])
        p.goto("/sign-in")
        p.get_by_label("Email").fill(EMAIL)
        p.get_by_label("Password").fill(PASSWORD)
        p.get_by_role("button", name="Sign In").click()
        yield p


def test_first_run_card_until_the_first_span_arrives(page: Page, ui_stack: UiStack, shots: Shots) -> None:
    card = page.get_by_role("region", name="Get started")
    expect(card).to_be_visible()
    expect(card.get_by_role("status")).to_contain_text("Waiting for the first span")
    snippet = card.get_by_label("Junjo (Python) snippet")
    expect(snippet).to_contain_text("<your API key>")
    expect(card.get_by_label("Install command", exact=True)).to_have_text(
        "pip install junjo opentelemetry-sdk"
    )

    card.get_by_role("button", name="Create API Key").click()
    expect(card).to_contain_text("filled into the snippet")
    text = snippet.inner_text()
    key = re.search(r"JUNJO_AI_STUDIO_API_KEY=([A-Za-z0-9]{64})", text)
    assert key, text
    with ApiClient(ui_stack.api_url, origin=ui_stack.ui_url) as api:
        configured = api.http.get("/api/config").json()["otlp_endpoint"]
    expect(snippet).to_contain_text(f'endpoint="{configured.split("//")[-1]}"')

    card.get_by_role("radio", name="JavaScript / TypeScript").click()
    expect(card).to_contain_text("OTLP over HTTP by default")
    expect(card.get_by_label("JavaScript / TypeScript snippet")).to_contain_text(":4318/v1/traces")
    card.get_by_role("radio", name="Environment variables").click()
    expect(card.get_by_label("Environment variables snippet")).to_contain_text(
        f"x-junjo-api-key={key.group(1)}"
    )
    if UPDATE_SCREENSHOTS:  # the docs show the Python snippet
        card.get_by_role("radio", name="Junjo (Python)").click()
        shots.take(page, "first-run")

    run_sender("tests.e2e.send_llm_traces", ui_stack.stack.otlp_endpoint, key.group(1), SERVICE)
    # no reload: the page polls while it waits
    expect(page.get_by_role("table", name="Services")).to_contain_text(SERVICE, timeout=60_000)
    expect(card).to_have_count(0)
