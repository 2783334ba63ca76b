"""The prompt playground in a real browser, end to end: an OpenInference LLM span exported through
the real OTLP → ingestion → backend path is opened from the trace view, re-run against the local
fake OpenAI API with its recorded settings, run again with changed settings and structured output,
and the runs are compared side by side. The fake records what the backend actually sent.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import Shots, UiStack, open_page, reload_until
from tests.playground.fakes import FakeOpenAI
from tests.playground.send_llm_span import PROMPT, RECORDED_ANSWER
from tests.support.api import ApiClient
from tests.support.procs import run_sender

EMAIL = "pat@example.com"
PASSWORD = "correct horse battery"
SERVICE = "travel-app"
OPENAI_KEY = "sk-proj-e2e-playground-0123456789"

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def fake_openai() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(OPENAI_KEY) as fake:
        yield fake  # type: ignore[misc]


@pytest.fixture(scope="module")
def ui_stack_env(fake_openai: FakeOpenAI) -> dict[str, str]:
    return {
        "OPENAI_API_KEY": OPENAI_KEY,
        "OPENAI_BASE_URL": fake_openai.base_url,
        "ANTHROPIC_API_KEY": "",
        "GEMINI_API_KEY": "",
    }


@pytest.fixture(scope="module")
def page(browser: Browser, ui_stack: UiStack) -> Iterator[Page]:
    """Not signed in: the first test creates the account through the UI."""
    with open_page(browser, ui_stack.ui_url, {"width": 1440, "height": 1000}) as p:
        yield p


def _send_llm_span(ui: UiStack) -> dict[str, str]:
    with ApiClient(ui.api_url, origin=ui.ui_url) as api:
        api.sign_in(EMAIL, PASSWORD)
        key = api.create_api_key("playground e2e")
    return run_sender("tests.playground.send_llm_span", ui.stack.otlp_endpoint, key, SERVICE)


def test_llm_span_to_generated_answer_and_comparison(
    page: Page, ui_stack: UiStack, fake_openai: FakeOpenAI, shots: Shots
) -> None:
    page.goto("/")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create Account").click()
    expect(page.get_by_role("heading", name="API Keys")).to_be_visible()
    ids = _send_llm_span(ui_stack)

    # the span, recorded through ingestion, opens from the trace view
    page.goto(f"/traces/{SERVICE}/{ids['trace_id']}/{ids['span_id']}")
    link = page.get_by_role("link", name="Open in playground →")
    reload_until(
        page,
        lambda: link.wait_for(state="visible", timeout=5_000),
        "the LLM span to show in the trace view",
        90,
    )
    link.click()
    expect(page).to_have_url(re.compile(rf"/traces/{SERVICE}/{ids['trace_id']}/{ids['span_id']}/playground$"))

    original = page.get_by_role("region", name="Original call")
    expect(original).to_contain_text("openai / gpt-4o-mini")
    expect(original).to_contain_text(PROMPT[1]["content"])
    expect(original.get_by_label("Original output")).to_have_text(RECORDED_ANSWER)
    expect(original.get_by_label("Original settings")).to_contain_text("temperature 0.3")

    controls = page.get_by_role("region", name="Playground controls")
    expect(controls.get_by_label("Provider")).to_have_value("openai")
    expect(controls.get_by_label("Model", exact=True)).to_have_value("gpt-4o-mini")
    expect(controls.get_by_label("Temperature")).to_have_value("0.3")
    expect(controls.get_by_label("Max tokens")).to_have_value("120")
    expect(controls.get_by_label("Message 2", exact=True)).to_have_value(PROMPT[1]["content"])
    # the fake's chat models, fetched through the backend; generous timeouts from here on: the backend
    # imports a provider's SDK on its first use, which takes seconds on a busy 2-core machine
    expect(controls).to_contain_text("4 models", timeout=60_000)

    # run 1: the recorded call as it was
    fake_openai.clear()
    controls.get_by_role("button", name="Run", exact=True).click()
    run1 = page.get_by_role("article", name="Run 1")
    expect(run1.get_by_label("Output of run 1")).to_have_text(
        f"OpenAI gpt-4o-mini says: {PROMPT[1]['content']}", timeout=30_000
    )
    expect(run1.get_by_label("Latency of run 1")).to_contain_text(re.compile(r"^\d[\d,]* ms$"))
    expect(run1.get_by_label("Token usage of run 1")).to_contain_text(
        re.compile(r"\d+ in / \d+ out · \d+ total")
    )
    sent = fake_openai.last("/v1/chat/completions").body
    assert sent["messages"] == PROMPT
    assert sent["temperature"] == 0.3 and sent["max_completion_tokens"] == 120

    # run 2: changed settings and structured output, compared side by side with run 1
    controls.get_by_label("Temperature").fill("0.9")
    controls.get_by_label("Structured output (JSON)").check()
    controls.get_by_label(re.compile("^JSON schema")).fill(
        '{"type": "object", "properties": {"echo": {"type": "string"}}}'
    )
    controls.get_by_role("button", name="Run again").click()
    run2 = page.get_by_role("article", name="Run 2")
    expect(run2.get_by_label("Output of run 2")).to_have_text(
        json.dumps({"echo": PROMPT[1]["content"]}), timeout=30_000
    )
    expect(run2).to_contain_text("temperature 0.9")
    expect(run2).to_contain_text("JSON schema")
    sent = fake_openai.last("/v1/chat/completions").body
    assert sent["temperature"] == 0.9
    assert sent["response_format"]["type"] == "json_schema"
    assert sent["response_format"]["json_schema"]["schema"]["additionalProperties"] is False

    runs = page.get_by_role("region", name="Runs")
    expect(runs.get_by_role("article")).to_have_count(3)  # original + two runs, side by side
    box1, box2 = run1.bounding_box(), run2.bounding_box()
    assert box1 and box2 and box2["x"] > box1["x"] and abs(box2["y"] - box1["y"]) < 2

    shots.take(page, "playground", full_page=True)

    # a provider without a key explains which variable to set
    controls.get_by_label("Provider").select_option("anthropic")
    expect(controls.get_by_role("alert")).to_contain_text("ANTHROPIC_API_KEY is not set", timeout=60_000)
    # ... and Run stays disabled, with the setup steps inline, instead of producing a failed run
    expect(controls.get_by_role("button", name="Run again")).to_be_disabled()
    expect(controls.get_by_role("status", name="Provider setup")).to_contain_text("ANTHROPIC_API_KEY=")
    expect(controls.get_by_label("Max tokens")).to_have_attribute("placeholder", "provider default")


def test_agent_model_request_runs_with_its_tools(
    page: Page, ui_stack: UiStack, fake_openai: FakeOpenAI
) -> None:
    """A junjo Agent's model request opens with the Agent's Tools, its earlier calls and their
    results; the provider receives them as tools and tool turns, and the model's new calls show."""
    with ApiClient(ui_stack.api_url, origin=ui_stack.ui_url) as api:
        api.sign_in(EMAIL, PASSWORD)
        key = api.create_api_key("agent playground e2e")
    run = run_sender("tests.support.junjo_agents", ui_stack.stack.otlp_endpoint, key, "agent-app")["success"]
    page.goto(f"/agents/{run['trace_id']}/{run['agent_span_id']}?op=4")  # model request 2
    link = page.get_by_label("Operation details").get_by_role("link", name="Open in playground →")
    reload_until(page, lambda: link.wait_for(state="visible", timeout=5_000), "the Agent run", 90)
    link.click()
    controls = page.get_by_role("region", name="Playground controls")
    expect(controls.get_by_role("group", name="Tools")).to_contain_text("get_weather")
    expect(controls.get_by_label("Tool calls of message 3")).to_contain_text('"Oslo"')
    expect(controls.get_by_label("Role of message 4")).to_contain_text("tool result · get_weather · call_1")
    controls.get_by_label("Provider").select_option("openai")
    controls.get_by_label("Model", exact=True).fill("gpt-4o-mini")
    fake_openai.clear()
    controls.get_by_role("button", name="Run", exact=True).click()
    output = page.get_by_role("article", name="Run 1").get_by_label("Output of run 1")
    expect(output).to_contain_text("tool result:", timeout=30_000)
    expect(output).to_contain_text("celsius")
    sent = fake_openai.last("/v1/chat/completions").body
    assert [t["function"]["name"] for t in sent["tools"]] == ["get_weather"]
    assert [m["role"] for m in sent["messages"]] == ["system", "user", "assistant", "tool", "tool"]
    assert [c["id"] for c in sent["messages"][2]["tool_calls"]] == ["call_1", "call_2"]
    # the Agent's output schema, as strict structured output
    assert sent["response_format"]["json_schema"]["schema"]["required"] == ["answer"]

    # the first request ends with the user's input: the model answers with a call, shown unrun
    page.goto(f"/agents/{run['trace_id']}/{run['agent_span_id']}?op=1")
    page.get_by_label("Operation details").get_by_role("link", name="Open in playground →").click()
    controls.get_by_label("Provider").select_option("openai")
    controls.get_by_label("Model", exact=True).fill("gpt-4o-mini")
    controls.get_by_role("button", name="Run", exact=True).click()
    calls = page.get_by_role("article", name="Run 1").get_by_label("Tool calls of run 1")
    expect(calls).to_contain_text("get_weather", timeout=30_000)
    expect(calls).to_contain_text('"query"')
    expect(page.get_by_role("article", name="Run 1")).to_contain_text("tools \N{MULTIPLICATION SIGN}1")
