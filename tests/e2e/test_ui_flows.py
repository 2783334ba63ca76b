"""The whole product through a real browser: first-user setup → API key → a Junjo SDK workflow and
a plain OpenTelemetry LLM trace exported with that key → the lists → the workflow debugger (graph,
node selection, state stepping, failure marking) → trace detail with LLM messages → sign-out →
sign-in in place at a deep link. Screenshots of each main page are taken on the way; with
JUNJO_UPDATE_SCREENSHOTS=1 they replace docs/screenshots/*.png.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.e2e.conftest import Shots, UiStack, open_page, reload_until
from tests.support.procs import run_sender

pytestmark = pytest.mark.e2e

EMAIL = "ada@example.com"
PASSWORD = "correct horse battery"
WORKFLOW_SERVICE = "e2e-app"
LLM_SERVICE = "chat-app"


def _send(mode: str, ui: UiStack, key: str, service: str, count: int = 1) -> str:
    """`junjo`: the demo workflow (tests/support/junjo_demo.py); `llm`: `count` LLM traces."""
    args = (ui.stack.otlp_endpoint, key, service)
    if mode == "junjo":
        return run_sender("tests.support.junjo_demo", *args)["trace_id"]
    return run_sender("tests.e2e.send_llm_traces", *args, str(count))["trace_id"]


def _eventually(page: Page, locator: Locator, count: int, what: str, timeout: float = 60.0) -> None:
    """Waits (reloading between tries) until `locator` matches `count` elements."""
    reload_until(page, lambda: expect(locator).to_have_count(count, timeout=5_000), what, timeout)


@pytest.fixture(scope="module")
def page(browser: Browser, ui_stack: UiStack) -> Iterator[Page]:
    with open_page(browser, ui_stack.ui_url, {"width": 1440, "height": 900}, accept_dialogs=True) as p:
        yield p


@pytest.fixture(scope="module")
def flow_state() -> dict[str, str]:
    return {}


def test_setup_wizard_creates_first_user_and_lands_on_api_keys(page: Page, shots: Shots) -> None:
    page.goto("/")
    expect(page.get_by_role("heading", name="Welcome")).to_be_visible()
    shots.take(page, "setup")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill("short")
    page.get_by_role("button", name="Create Account").click()
    # The browser's own validation blocks < 8 characters before the API is called.
    expect(page).to_have_url(re.compile(r"/$"))
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create Account").click()
    expect(page).to_have_url(re.compile(r"/api-keys$"))
    expect(page.get_by_role("heading", name="API Keys")).to_be_visible()
    expect(page.get_by_text("No API keys yet")).to_be_visible()


def test_api_key_is_shown_once_and_listed_by_prefix(
    page: Page, shots: Shots, flow_state: dict[str, str]
) -> None:
    page.get_by_label("Key name").fill("e2e key")
    page.get_by_role("button", name="Create API Key").click()
    key = page.get_by_test_id("new-api-key").inner_text().strip()
    assert re.fullmatch(r"[A-Za-z0-9_\-]{32,}", key), key
    table = page.get_by_role("table", name="API keys")
    expect(table.get_by_role("row")).to_have_count(2)
    expect(table).to_contain_text("e2e key")
    expect(table).not_to_contain_text(key)
    snippet = page.get_by_label("Junjo SDK snippet")
    expect(snippet).to_contain_text("JunjoOtelExporter")
    page.get_by_role("radio", name="OpenTelemetry").click()
    expect(page.get_by_label("OpenTelemetry snippet")).to_contain_text("x-junjo-api-key")
    page.get_by_role("radio", name="OTLP/HTTP").click()
    expect(page.get_by_label("OTLP/HTTP snippet")).to_contain_text(":4318/v1/traces")
    page.get_by_role("radio", name="OpenTelemetry").click()
    shots.take(page, "api-keys")
    flow_state["key"] = key
    page.get_by_label("Key name").fill("temporary key")
    page.get_by_role("button", name="Create API Key").click()
    expect(table.get_by_role("row")).to_have_count(3)
    page.get_by_role("button", name="Delete API key temporary key").click()  # confirm() is accepted
    expect(table.get_by_role("row")).to_have_count(2)
    expect(table).not_to_contain_text("temporary key")


def test_exported_workflow_opens_in_the_debugger(
    page: Page, ui_stack: UiStack, shots: Shots, flow_state: dict[str, str]
) -> None:
    flow_state["older_trace"] = _send("junjo", ui_stack, flow_state["key"], WORKFLOW_SERVICE)
    flow_state["llm_trace"] = _send("llm", ui_stack, flow_state["key"], LLM_SERVICE)
    page.get_by_role("link", name="Services").click()
    link = page.get_by_role("link", name=f"Workflow executions of {WORKFLOW_SERVICE}")
    _eventually(page, link, 1, "the service to be listed")
    shots.take(page, "services")
    link.click()
    rows = page.get_by_role("table", name="Workflow executions").get_by_role("row")
    _eventually(page, rows, 2, "the workflow execution to be listed")
    # Live refresh: a new execution appears without reloading the page.
    flow_state["workflow_trace"] = _send("junjo", ui_stack, flow_state["key"], WORKFLOW_SERVICE)
    expect(rows).to_have_count(3, timeout=30_000)
    expect(page.get_by_role("img", name="Failed")).to_have_count(2)
    expect(page.get_by_text(re.compile(r"^(≈ )?2 total$"))).to_be_visible()
    shots.take(page, "workflow-executions")
    page.get_by_role("link", name="HandleMessage").first.click()
    expect(page).to_have_url(
        re.compile(rf"/workflows/{WORKFLOW_SERVICE}/{flow_state['workflow_trace']}/[0-9a-f]{{16}}$")
    )
    flow_state["debugger_url"] = page.url

    graph = page.get_by_role("region", name="Workflow graph")
    for name in ("Node CountNode", "Node LoadHistoryNode", "Node LoadContactNode", "Subflow Doubler"):
        expect(graph.get_by_role("button", name=name, exact=True)).to_be_visible()
    expect(graph.get_by_role("button", name="Concurrent group InitialLoad")).to_be_visible()
    expect(graph.get_by_role("img", name="Node SkippedNode (not executed)")).to_be_visible()
    failing = graph.get_by_role("button", name="Node ReplyNode (failed)")
    expect(failing).to_be_visible()
    expect(failing).to_have_attribute("data-failed", "true")
    expect(graph.locator(".g-edge.conditional")).to_have_count(2)


def test_graph_click_selects_span_and_arrow_keys_step_state(
    page: Page, shots: Shots, flow_state: dict[str, str]
) -> None:
    graph = page.get_by_role("region", name="Workflow graph")
    graph.get_by_role("button", name="Node LoadContactNode", exact=True).click()
    expect(page).to_have_url(re.compile(r"/[0-9a-f]{16}/[0-9a-f]{16}$"))
    tree = page.get_by_role("tree", name="Workflow span tree")
    expect(tree.get_by_role("treeitem", name="LoadContactNode", exact=True)).to_have_attribute(
        "aria-selected", "true"
    )
    expect(graph.get_by_role("button", name="Node LoadContactNode", exact=True)).to_have_attribute(
        "aria-pressed", "true"
    )

    page.keyboard.press("ArrowRight")
    strip = page.get_by_role("region", name="State transitions")
    expect(strip).to_contain_text("set_contact")
    expect(page).to_have_url(re.compile(r"\?t="))
    tabs = page.get_by_role("tablist", name="State and details")
    panel = page.get_by_role("tabpanel")
    tabs.get_by_role("tab", name="Before").click()
    expect(panel).not_to_contain_text('"Ada"')
    tabs.get_by_role("tab", name="After").click()
    expect(panel).to_contain_text('"Ada"')
    tabs.get_by_role("tab", name="Patch").click()
    expect(panel).to_contain_text("replace")
    expect(panel).to_contain_text("/contact")
    tabs.get_by_role("tab", name="Changes").click()
    expect(page.get_by_role("table", name="State changes")).to_contain_text("/contact")
    tabs.get_by_role("tab", name="After").click()
    expect(panel.locator(".j-changed")).to_contain_text("Ada")
    shots.take(page, "workflow-debugger")

    position = strip.get_by_label("Transition position")
    before = position.inner_text()
    page.keyboard.press("ArrowRight")
    expect(position).not_to_have_text(before)
    tabs.get_by_role("tab", name="Patch").click()
    expect(panel).to_contain_text("op")
    page.keyboard.press("ArrowLeft")
    expect(position).to_have_text(before)
    expect(strip).to_contain_text("set_contact")
    page.reload()  # the URL holds the span and the transition
    expect(strip).to_contain_text("set_contact")
    expect(strip.get_by_label("Transition position")).to_have_text(before)
    expect(page.get_by_role("alert", name="State history not verified")).to_have_count(0)


def test_failing_node_is_marked_with_its_exception(
    page: Page, shots: Shots, flow_state: dict[str, str]
) -> None:
    tree = page.get_by_role("tree", name="Workflow span tree")
    failed_row = tree.get_by_role("treeitem", name="ReplyNode (failed)")
    expect(failed_row).to_be_visible()
    page.get_by_role("tablist", name="Span lists").get_by_role("tab", name=re.compile("Failures")).click()
    expect(page.get_by_role("region", name="Workflow spans")).to_contain_text("reply model unavailable")
    page.get_by_role("region", name="Workflow graph").get_by_role(
        "button", name="Node ReplyNode (failed)"
    ).click()
    page.get_by_role("tablist", name="State and details").get_by_role("tab", name="Failures").click()
    panel = page.get_by_role("tabpanel")
    expect(panel).to_contain_text("RuntimeError")
    expect(panel).to_contain_text("Traceback")
    shots.take(page, "workflow-failure")
    # The same span from the raw trace view, and back into the debugger.
    page.get_by_role("link", name="View full trace").click()
    trace_tree = page.get_by_role("tree", name="Trace spans")
    trace_tree.get_by_role("treeitem", name="ReplyNode (failed)").click()
    page.get_by_role("link", name="Show in workflow debugger →").click()
    expect(page).to_have_url(
        re.compile(
            rf"/workflows/{WORKFLOW_SERVICE}/{flow_state['workflow_trace']}/[0-9a-f]{{16}}/[0-9a-f]{{16}}$"
        )
    )
    expect(page.get_by_role("button", name="Node ReplyNode (failed)")).to_have_attribute(
        "aria-pressed", "true"
    )


def test_previous_next_execution_and_subflow_graph(
    page: Page, shots: Shots, flow_state: dict[str, str]
) -> None:
    newer = page.get_by_role("button", name="Previous (newer) execution")
    older = page.get_by_role("button", name="Next (older) execution")
    expect(newer).to_be_disabled()
    older.click()
    expect(page).to_have_url(
        re.compile(rf"/workflows/{WORKFLOW_SERVICE}/{flow_state['older_trace']}/[0-9a-f]{{16}}$")
    )
    expect(
        page.get_by_role("region", name="Workflow graph").get_by_role("button", name="Node CountNode")
    ).to_be_visible()
    expect(older).to_be_disabled()
    newer.click()
    expect(page).to_have_url(flow_state["debugger_url"])
    page.emulate_media(color_scheme="dark")
    page.get_by_role("region", name="Workflow graph").get_by_role("button", name="Subflow Doubler").click()
    expect(page.get_by_role("region", name="Workflow graph").get_by_role("figure")).to_have_count(2)
    expect(page.get_by_role("figure", name="Graph of Subflow: Doubler")).to_contain_text("DoubleNode")
    shots.take(page, "workflow-debugger-dark")
    page.emulate_media(color_scheme="light")


def test_plain_otel_llm_trace_renders_messages(page: Page, shots: Shots, flow_state: dict[str, str]) -> None:
    page.goto(f"/traces/{LLM_SERVICE}")
    rows = page.get_by_role("table", name="Traces").get_by_role("row")
    _eventually(page, rows, 2, "the LLM trace to be listed")
    shots.take(page, "traces")
    # Filters go to the backend (URL holds them); each narrows or keeps the one trace.
    page.get_by_label("Has LLM spans").check()
    page.get_by_label("Time range").select_option("15m")
    expect(page).to_have_url(re.compile(r"range=15m"))
    expect(rows).to_have_count(2)
    # Each step waits for its filter to be in the URL: the list keeps showing the previous answer
    # while the next one loads, so what is on screen alone does not say which filter it answers.
    page.get_by_label("Errors only").check()
    expect(page).to_have_url(re.compile(r"errors=1"))
    expect(page.get_by_text("No traces match these filters.")).to_be_visible()
    page.get_by_label("Errors only").uncheck()
    expect(page).not_to_have_url(re.compile(r"errors=1"))
    page.get_by_label("Search names").fill("no such span")
    expect(page).to_have_url(re.compile(r"q=no\+such\+span"))
    expect(page.get_by_text("No traces match these filters.")).to_be_visible()
    page.get_by_label("Search names").fill("handle")
    expect(page).to_have_url(re.compile(r"q=handle"))
    expect(rows).to_have_count(2)
    page.get_by_role("link", name="handle_request").click()
    expect(page).to_have_url(re.compile(rf"/traces/{LLM_SERVICE}/{flow_state['llm_trace']}$"))
    tree = page.get_by_role("tree", name="Trace spans")
    llm_row = tree.get_by_role("treeitem", name="ChatCompletion")
    expect(llm_row).to_contain_text("43 tok")
    expect(llm_row).to_contain_text("openai · gpt-4o-mini")
    llm_row.click()
    expect(page).to_have_url(re.compile(r"/[0-9a-f]{16}$"))
    messages = page.get_by_role("region", name="LLM messages")
    expect(messages.get_by_role("article", name="Input message 1: system")).to_contain_text(
        "concise travel assistant"
    )
    expect(messages.get_by_role("article", name="Input message 2: user")).to_contain_text("weather in Paris")
    expect(messages.get_by_label("Function call get_weather")).to_contain_text('"city": "Paris"')
    expect(messages.get_by_label("Token counts")).to_contain_text("31 in / 12 out")
    shots.take(page, "trace-llm")
    page.get_by_label("Filter attributes").fill("model_name")
    attributes = page.get_by_role("table", name="Attributes", exact=True)
    expect(attributes.locator("tbody").get_by_role("row")).to_have_count(1)
    page.get_by_label("Search within trace").fill("ChatCompletion")
    expect(tree.get_by_role("treeitem")).to_have_count(2)


def test_list_pagination(page: Page, ui_stack: UiStack, flow_state: dict[str, str]) -> None:
    _send("llm", ui_stack, flow_state["key"], "paged-app", count=55)
    page.goto("/traces/paged-app?live=0")
    rows = page.get_by_role("table", name="Traces").get_by_role("row")
    _eventually(page, rows, 51, "a full first page")  # header + 50
    older = page.get_by_role("button", name="Older →")
    older.click()
    expect(rows).to_have_count(6)
    expect(page.get_by_text("Page 2")).to_be_visible()
    expect(older).to_be_disabled()
    page.get_by_role("button", name="← Newer").click()
    expect(rows).to_have_count(51)


def test_users_and_settings_pages(page: Page, shots: Shots) -> None:
    page.get_by_role("link", name="Users").click()
    form = page.get_by_role("form", name="Create user")
    form.get_by_label("Email").fill("grace@example.com")
    form.get_by_label("Password").fill("another long password")
    form.get_by_role("button", name="Create User").click()
    users = page.get_by_role("table", name="Users")
    expect(users).to_contain_text("grace@example.com")
    form.get_by_label("Email").fill("grace@example.com")
    form.get_by_label("Password").fill("another long password")
    form.get_by_role("button", name="Create User").click()
    expect(form.get_by_role("alert")).to_contain_text("already exists")
    shots.take(page, "users")
    page.get_by_role("button", name="Delete user grace@example.com").click()
    expect(users).not_to_contain_text("grace@example.com")
    expect(users).to_contain_text(EMAIL)

    page.get_by_role("link", name="Settings").click()
    page.get_by_role("button", name="Flush WAL").click()
    expect(page.get_by_role("status").filter(has_text="flush")).to_be_visible()
    expect(page.get_by_text("Last flush: Never")).to_have_count(0)
    shots.take(page, "settings")


def test_sign_out_then_sign_in_in_place_at_a_deep_link(page: Page, flow_state: dict[str, str]) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/sign-in$"))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.goto(flow_state["debugger_url"])
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill("wrong password!")
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("alert")).to_contain_text("Invalid credentials")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    expect(page).to_have_url(flow_state["debugger_url"])
    expect(
        page.get_by_role("region", name="Workflow graph").get_by_role("button", name="Node CountNode")
    ).to_be_visible()
