"""The span search bar in a real browser: typing a query, the URL round trip (reload, Back), the
API's syntax errors under the box, "/" to focus it, and saved searches (save, run from another
list, delete). Spans with known attributes are sent through the OpenTelemetry SDK's OTLP/gRPC
exporter; the expected rows are counted from what was sent. With JUNJO_UPDATE_SCREENSHOTS=1 the
screenshot is copied to docs/screenshots.
"""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from opentelemetry import trace
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Shots, UiStack, reload_until
from tests.support.otel import exporting_provider

pytestmark = pytest.mark.e2e

SERVICE = "search-ui"
USERS = ["u-1", "u-2", "u-1", "u-3", "u-1", "u-2"]
MODELS = ["gpt-4o", "claude-3"]


@pytest.fixture(scope="module", autouse=True)
def sent(page: Page, ui_stack: UiStack) -> None:
    """The spans every test here searches, sent once before the first test."""
    key = page.request.post(
        f"{ui_stack.api_url}/api_keys", data={"name": "search"}, headers={"Origin": ui_stack.ui_url}
    ).json()["key"]
    provider = exporting_provider(SERVICE, ui_stack.stack.otlp_endpoint, key)
    tracer = provider.get_tracer("search-ui")
    for i, user in enumerate(USERS):
        with (
            tracer.start_as_current_span(f"handle request {i}", attributes={"user.id": user}),
            tracer.start_as_current_span("llm call") as child,
        ):
            child.set_attribute("gen_ai.request.model", MODELS[i % 2])
            child.set_attribute("input.value", "please refund my order" if i == 3 else "hello")
            if i == 3:
                child.set_status(trace.Status(trace.StatusCode.ERROR, "refused"))
    provider.shutdown()


def _rows(page: Page, table: str) -> object:
    return page.get_by_role("table", name=table).locator("tbody tr")


def test_typing_a_query_filters_and_the_url_keeps_it(page: Page, shots: Shots) -> None:
    page.goto(f"/traces/{quote(SERVICE)}")
    reload_until(
        page, lambda: expect(_rows(page, "Traces")).to_have_count(len(USERS), timeout=3_000), "traces", 60
    )
    page.keyboard.press("/")
    box = page.get_by_label("Search spans")
    expect(box).to_be_focused()
    expect(page.locator("#query-hint")).to_contain_text("traces holding at least one matching span")
    box.fill('user.id = "u-1"')
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"search=user\.id"))
    expect(_rows(page, "Traces")).to_have_count(USERS.count("u-1"))
    shots.take(page, "search")

    page.reload()
    expect(page.get_by_label("Search spans")).to_have_value('user.id = "u-1"')
    expect(_rows(page, "Traces")).to_have_count(USERS.count("u-1"))

    page.go_back()  # the search was a history entry: Back shows the unfiltered list again
    expect(page.get_by_label("Search spans")).to_have_value("")
    expect(_rows(page, "Traces")).to_have_count(len(USERS))
    page.go_forward()
    expect(_rows(page, "Traces")).to_have_count(USERS.count("u-1"))

    # The same search carried to the span list: LLM calls are children, so none has user.id.
    page.get_by_role("link", name="Spans →").click()
    expect(page).to_have_url(re.compile(r"/spans/.*search=user\.id"))
    expect(page.locator("#query-hint")).to_contain_text("Lists the spans that match")
    expect(_rows(page, "Spans")).to_have_count(USERS.count("u-1"))


def test_span_search_combines_terms_and_shows_syntax_errors(page: Page) -> None:
    page.goto(f"/spans/{quote(SERVICE)}")
    box = page.get_by_label("Search spans")
    box.fill("gen_ai.request.model = gpt-4o")
    box.press("Enter")
    expect(_rows(page, "Spans")).to_have_count(sum(1 for i in range(len(USERS)) if i % 2 == 0))
    box.fill("refund status = error")
    box.press("Enter")
    expect(_rows(page, "Spans")).to_have_count(1)
    expect(_rows(page, "Spans")).to_contain_text("llm call")
    box.fill("user.id =")
    box.press("Enter")
    expect(page.get_by_role("alert")).to_contain_text("expected a value, found end of query")
    expect(box).to_have_attribute("aria-invalid", "true")


def test_saved_search_is_kept_and_runs_from_another_list(page: Page) -> None:
    page.goto(f"/spans/{quote(SERVICE)}?search={quote('user.id = u-2')}")
    expect(_rows(page, "Spans")).to_have_count(USERS.count("u-2"))
    page.get_by_role("button", name="Save search…").click()
    page.get_by_label("Name of the saved search").fill("second user")
    page.get_by_label("Name of the saved search").press("Enter")
    saved = page.get_by_label("Saved searches")
    expect(saved.locator("option", has_text="second user")).to_have_count(1)
    expect(saved).to_have_value(re.compile(".+"))  # the current query is the saved one

    page.goto(f"/traces/{quote(SERVICE)}")
    expect(_rows(page, "Traces")).to_have_count(len(USERS))
    page.get_by_label("Saved searches").select_option(label="second user")
    expect(page).to_have_url(re.compile(r"search=user\.id"))
    expect(page.get_by_label("Search spans")).to_have_value("user.id = u-2")
    expect(_rows(page, "Traces")).to_have_count(USERS.count("u-2"))

    page.reload()  # saved searches are stored server-side
    page.get_by_role("button", name="Delete saved search second user").click()
    expect(page.get_by_label("Saved searches").locator("option", has_text="second user")).to_have_count(0)
