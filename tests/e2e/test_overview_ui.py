"""The service overview (home page) in a real browser: telemetry with known tokens, models and errors
(tests/support/usage_telemetry.py) exported through the real ingestion service and indexed, then
the charts (uPlot canvases with data), the totals table with cost and unknown prices, the range
in the URL, the click-through from a chart bucket to the filtered list, the empty state and an LLM
span's usage on the trace page. With JUNJO_UPDATE_SCREENSHOTS=1 the overview screenshots replace
docs/screenshots/overview*.png.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from playwright.sync_api import Locator, Page, ViewportSize, expect

from tests.e2e.conftest import Shots, UiStack, reload_until
from tests.support.procs import run_sender
from tests.support.usage_telemetry import MINUTE_NS

pytestmark = pytest.mark.e2e

SERVICE = "usage-ui"
CHARTS = 9


def iso(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, tz=UTC).isoformat().replace("+00:00", "Z")


@pytest.fixture(scope="module")
def viewport() -> ViewportSize:
    return {"width": 1440, "height": 1000}


@pytest.fixture(scope="module")
def sent(page: Page, ui_stack: UiStack) -> dict[str, Any]:
    headers = {"Origin": ui_stack.ui_url}
    key = page.request.post(
        f"{ui_stack.api_url}/api_keys", data={"name": "overview"}, headers=headers
    ).json()["key"]
    now = time.time_ns()
    base_ns = now - now % MINUTE_NS - 20 * MINUTE_NS
    out = run_sender(
        "tests.support.usage_telemetry", ui_stack.stack.otlp_endpoint, key, SERVICE, str(base_ns)
    )
    flushed = page.request.post(f"{ui_stack.api_url}/api/admin/flush-wal", headers=headers, timeout=60_000)
    assert flushed.ok, flushed.text()
    return {"base_ns": base_ns, "spans": out["spans"]}


def _charts(page: Page) -> Locator:
    return page.get_by_role("region", name=f"Charts of {SERVICE}")


def _painted(page: Page, chart_title: str) -> int:
    """Non-blank pixels of a chart's data canvas (uPlot draws series and axes on one canvas)."""
    figure = _charts(page).get_by_role("figure", name=chart_title)
    return int(
        figure.locator("canvas").evaluate(
            """c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                      let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; }"""
        )
    )


def test_overview_draws_every_chart_with_data(page: Page, sent: dict[str, Any], shots: Shots) -> None:
    page.goto("/?range=1h")
    reload_until(
        page,
        lambda: expect(_charts(page).locator("canvas")).to_have_count(CHARTS, timeout=5_000),
        "charts",
        60,
    )
    charts = _charts(page)
    expect(charts.locator("figure[data-has-data='1']")).to_have_count(CHARTS)
    assert _painted(page, "Errors") > 0 and _painted(page, "Cost (USD)") > 0
    row = page.get_by_role("table", name="Services").get_by_role("row").filter(has_text=SERVICE)
    expect(row).to_contain_text("price unknown")  # the unknown model is not priced as $0
    expect(row).to_contain_text("$")
    expect(page.get_by_role("combobox", name="Time range")).to_have_value("1h")
    shots.take(page, "overview")
    page.emulate_media(color_scheme="dark")
    page.evaluate("document.documentElement.setAttribute('data-theme', 'dark')")
    expect(charts.locator("canvas")).to_have_count(CHARTS)
    shots.take(page, "overview-dark")
    page.evaluate("document.documentElement.setAttribute('data-theme', 'light')")


def test_clicking_an_error_bucket_opens_the_failed_traces_of_that_minute(
    page: Page, sent: dict[str, Any]
) -> None:
    base = sent["base_ns"]
    query = urlencode({"from": iso(base), "to": iso(base + 5 * MINUTE_NS)})
    page.goto(f"/?{query}")
    errors = _charts(page).get_by_role("figure", name="Errors")
    expect(errors.locator("canvas")).to_have_count(1)
    over = errors.locator(".u-over")
    box = over.bounding_box()
    assert box is not None
    # Five one-minute buckets over the plot's width: the failed `gen_ai` trace is in the second.
    x = box["width"] * 1 / 4
    over.hover(position={"x": x, "y": box["height"] / 2})
    over.click(position={"x": x, "y": box["height"] / 2})
    expect(page).to_have_url(re.compile(rf"/traces/{SERVICE}\?.*errors=1"))
    params = parse_qs(urlparse(page.url).query)
    picked = [datetime.fromisoformat(params[k][0]).timestamp() * 10**9 for k in ("from", "to")]
    assert picked == [base + MINUTE_NS, base + 2 * MINUTE_NS]
    table = page.get_by_role("table", name="Traces")
    expect(table.get_by_role("row")).to_have_count(2)
    expect(table).to_contain_text("gen_ai")


def test_a_range_without_spans_says_so(page: Page, sent: dict[str, Any]) -> None:
    then = sent["base_ns"] - 30 * 86_400 * 10**9
    page.goto(f"/?{urlencode({'from': iso(then), 'to': iso(then + 3600 * 10**9)})}")
    expect(_charts(page)).to_contain_text("No spans of this service in this range")
    expect(_charts(page).locator("canvas")).to_have_count(0)


def test_llm_span_shows_tokens_and_cost_and_the_trace_its_total(page: Page, sent: dict[str, Any]) -> None:
    [call] = [s for s in sent["spans"] if s["name"] == "openinference call"]
    page.goto(f"/traces/{SERVICE}/{call['trace_id']}/{call['span_id']}")
    usage = page.get_by_role("table", name="LLM usage")
    expect(usage).to_contain_text("gpt-4o")
    expect(usage).to_contain_text("1,200")
    expect(usage).to_contain_text("$")
    expect(page.get_by_label("Trace LLM usage")).to_contain_text("1 LLM call")
    [unknown] = [s for s in sent["spans"] if s["name"] == "unknown_model call"]
    page.goto(f"/traces/{SERVICE}/{unknown['trace_id']}/{unknown['span_id']}")
    expect(page.get_by_role("table", name="LLM usage")).to_contain_text("price unknown")


def test_agent_run_shows_the_cost_of_its_model_requests(page: Page, sent: dict[str, Any]) -> None:
    [agent] = [
        s
        for s in sent["spans"]
        if s["attributes"].get("junjo.span_type") == "agent"
        and s["attributes"].get("junjo.agent.key") == "agent_ok"
    ]
    page.goto(f"/agents/{agent['trace_id']}/{agent['span_id']}")
    summary = page.get_by_role("region", name="Summary")
    expect(summary).to_contain_text("2 LLM calls")
    expect(summary).to_contain_text("$")


def test_a_call_recorded_by_junjo_and_the_provider_sdk_counts_once(page: Page, sent: dict[str, Any]) -> None:
    """The instrumented Agent's two model requests each have the SDK's gen_ai span below them: the
    trace total and the Agent's summary count two calls, and the SDK span says where it counts."""
    [agent] = [
        s
        for s in sent["spans"]
        if s["attributes"].get("junjo.span_type") == "agent"
        and s["attributes"].get("junjo.agent.key") == "agent_sdk_gen_ai"
    ]
    sdk = next(
        s for s in sent["spans"] if s["trace_id"] == agent["trace_id"] and s["name"].startswith("chat ")
    )
    page.goto(f"/traces/{SERVICE}/{sdk['trace_id']}/{sdk['span_id']}")
    expect(page.get_by_label("Trace LLM usage")).to_contain_text("2 LLM calls · 1,500 in / 160 out")
    expect(page.get_by_role("table", name="LLM usage")).to_contain_text("the Junjo model request above it")
    page.goto(f"/agents/{agent['trace_id']}/{agent['span_id']}")
    expect(page.get_by_role("region", name="Summary")).to_contain_text("2 LLM calls")
