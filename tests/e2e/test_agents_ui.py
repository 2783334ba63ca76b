"""Junjo Agents in a real browser: real Agent runs (tests/support/junjo_agents.py) exported through
the real ingestion service, then the Agents list, the execution page (timeline, tool results,
state revisions, failures, limits), the playground opened from a model request, the stable
`/resolve/executable` link (including its visible wait while an execution is not ingested) and
the workflow debugger's link from the node that ran an Agent. With JUNJO_UPDATE_SCREENSHOTS=1 the
list and detail screenshots replace docs/screenshots/agents-*.png.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

import pytest
from playwright.sync_api import Page, ViewportSize, expect

from tests.e2e.conftest import Shots, UiStack, reload_until
from tests.support.procs import run_sender

pytestmark = pytest.mark.e2e

SERVICE = "agents-ui"
NAMESPACE = "acme"


@pytest.fixture(scope="module")
def viewport() -> ViewportSize:
    return {"width": 1440, "height": 1000}


@pytest.fixture(scope="module")
def sent(page: Page, ui_stack: UiStack) -> dict[str, Any]:
    key = page.request.post(
        f"{ui_stack.api_url}/api_keys", data={"name": "agents"}, headers={"Origin": ui_stack.ui_url}
    ).json()["key"]
    return run_sender(
        "tests.support.junjo_agents", ui_stack.stack.otlp_endpoint, key, SERVICE, "--namespace", NAMESPACE
    )


def test_agents_list(page: Page, sent: dict[str, Any], shots: Shots) -> None:
    page.goto("/")
    page.get_by_role("link", name="Agents", exact=True).click()
    expect(page).to_have_url(re.compile(r"/agents$"))
    table = page.get_by_role("table", name="Agent executions")
    reload_until(page, lambda: expect(table.get_by_role("row")).to_have_count(6, timeout=5_000), "5 runs", 60)
    expect(table).to_contain_text("Weather assistant")
    expect(table).to_contain_text("limit_exceeded")
    expect(table).to_contain_text("input_validation_error")
    expect(table.get_by_role("row", name=re.compile("Weather assistant"))).to_contain_text("3 / 8")
    shots.take(page, "agents-list")
    page.get_by_label("Outcome").select_option("failed")
    expect(table.get_by_role("row")).to_have_count(4)
    expect(page).to_have_url(re.compile(r"outcome=failed"))


def test_agents_list_search(page: Page, sent: dict[str, Any]) -> None:
    page.goto("/agents")
    table = page.get_by_role("table", name="Agent executions")
    reload_until(page, lambda: expect(table.get_by_role("row")).to_have_count(6, timeout=5_000), "5 runs", 60)
    box = page.get_by_label("Search spans")
    box.fill("umbrella")  # an argument of the Trip planner's Tool call, a span under its agent span
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"/agents\?search=umbrella$"))
    expect(table.get_by_role("row")).to_have_count(2)
    expect(table).to_contain_text("Trip planner")
    page.reload()  # the query round-trips through the URL
    expect(page.get_by_label("Search spans")).to_have_value("umbrella")
    expect(table.get_by_role("row")).to_have_count(2)
    box.fill("(unclosed")
    box.press("Enter")
    expect(page.get_by_role("alert")).to_contain_text("missing ')'")
    page.go_back()  # each search is a history entry
    expect(page.get_by_label("Search spans")).to_have_value("umbrella")
    expect(table.get_by_role("row")).to_have_count(2)


def test_agent_execution_page(page: Page, sent: dict[str, Any], shots: Shots) -> None:
    run = sent["success"]
    page.goto(f"/agents/{run['trace_id']}/{run['agent_span_id']}")
    expect(page.get_by_role("heading", name=re.compile("Weather assistant"))).to_be_visible()
    summary = page.get_by_role("region", name="Summary")
    expect(summary).to_contain_text("final_output")
    expect(summary).to_contain_text("3 / 8")
    expect(summary).to_contain_text("630")
    expect(page.get_by_role("region", name="Evidence integrity")).to_have_count(0)  # quiet when healthy
    expect(page.get_by_role("region", name="Verification")).to_contain_text("Verified")
    expect(page.get_by_role("region", name="Verification")).to_contain_text("8 of 8 rules passed")
    timeline = page.get_by_role("list", name="Operation timeline")
    expect(timeline.get_by_role("button")).to_have_count(6)
    expect(page.get_by_role("region", name="Input and output")).to_contain_text(
        "Paris 18°C, Oslo 4°C, Lima 22°C"
    )
    shots.take(page, "agents-detail")
    timeline.get_by_role("button").nth(2).click()  # the second Tool call
    expect(page).to_have_url(re.compile(r"op=3"))
    inspector = page.get_by_label("Operation details")
    expect(inspector).to_contain_text("get_weather")
    expect(inspector).to_contain_text('"Oslo"')
    states = page.get_by_role("region", name="State revisions")
    expect(states).to_contain_text("Backend replay verified")
    expect(states).to_contain_text("15 of 15 declared transitions preserved")
    states.get_by_role("button", name=re.compile("record_tool_result")).first.click()
    expect(page).to_have_url(re.compile(r"rev=5"))
    expect(states.get_by_label("State after", exact=True)).to_contain_text("call_1")
    page.reload()  # the deep link restores both selections
    expect(page.get_by_label("Operation details")).to_contain_text('"Oslo"')
    expect(
        page.get_by_role("region", name="State revisions").get_by_label("State after", exact=True)
    ).to_be_visible()


def test_failures_and_limits_are_explained(page: Page, sent: dict[str, Any]) -> None:
    tool = sent["tool_failure"]
    page.goto(f"/agents/{tool['trace_id']}/{tool['agent_span_id']}?focus=failure")
    expect(page.get_by_role("region", name="Error")).to_contain_text("AgentToolError")
    expect(page.get_by_label("Operation details")).to_contain_text("service_failed")
    limited = sent["limit_exceeded"]
    page.goto(f"/agents/{limited['trace_id']}/{limited['agent_span_id']}")
    expect(page.get_by_role("region", name="Summary")).to_contain_text("Limit exceeded")
    expect(page.get_by_role("region", name="Summary")).to_contain_text("model_requests")
    rejected = sent["input_rejected"]
    page.goto(f"/agents/{rejected['trace_id']}/{rejected['agent_span_id']}")
    expect(page.get_by_role("region", name="Input and output")).to_contain_text("Rejected input")
    expect(page.get_by_role("region", name="Input and output")).to_contain_text("unexpected")
    expect(page.get_by_role("region", name="Operations")).to_contain_text("No model request or Tool call ran")


def test_model_request_opens_in_the_playground(page: Page, sent: dict[str, Any]) -> None:
    run = sent["success"]
    page.goto(f"/agents/{run['trace_id']}/{run['agent_span_id']}?op=4")
    inspector = page.get_by_label("Operation details")
    expect(inspector).to_contain_text("Model request 2")
    expect(inspector.get_by_label(re.compile("message 1: system"))).to_contain_text(
        "Answer weather questions"
    )
    inspector.get_by_role("link", name="Open in playground →").click()
    expect(page.get_by_role("heading", name="Prompt playground")).to_be_visible()
    messages = page.get_by_role("group", name="Messages")
    expect(messages.locator("textarea").first).to_have_value(re.compile("Answer weather questions"))
    expect(messages.locator("textarea")).to_have_count(5)  # system, input, tool calls, 2 results


def test_resolve_link_and_the_wait_while_ingestion_lags(page: Page, sent: dict[str, Any]) -> None:
    run = sent["limit_exceeded"]
    query = {
        "service_namespace": NAMESPACE,
        "service_name": SERVICE,
        "executable_type": "agent",
        "runtime_id": run["runtime_id"],
    }
    page.goto(f"/resolve/executable?{urlencode(query)}")
    expect(page).to_have_url(re.compile(rf"/agents/{run['trace_id']}/{run['agent_span_id']}$"))
    expect(page.get_by_role("heading", name=re.compile("Limited weather assistant"))).to_be_visible()
    page.goto(f"/resolve/executable?{urlencode({**query, 'runtime_id': 'not-sent-yet'})}")
    expect(page.get_by_text("Telemetry is still arriving.")).to_be_visible()
    expect(page.get_by_role("button", name="Retry now")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text(re.compile(r"attempt [2-9]"), timeout=20_000)
    page.goto("/resolve/executable?service_name=x")
    expect(page.get_by_role("heading", name="Invalid execution link")).to_be_visible()


def test_workflow_node_links_to_its_agent(page: Page, sent: dict[str, Any]) -> None:
    run = sent["in_workflow"]
    page.goto(f"/agents/{run['trace_id']}/{run['agent_span_id']}")
    relationships = page.get_by_role("region", name="Relationships")
    expect(relationships).to_contain_text("PlanTripNode")
    relationships.get_by_role("link", name="PlanTrip").click()
    expect(page).to_have_url(re.compile(r"/workflows/"))
    page.get_by_role("link", name=re.compile("Open Agent Trip planner")).click()
    expect(page).to_have_url(re.compile(rf"/agents/{run['trace_id']}/{run['agent_span_id']}"))
    states = page.get_by_role("region", name="State revisions")
    expect(states.get_by_role("group", name="Application Store")).to_contain_text("Backend replay verified")
