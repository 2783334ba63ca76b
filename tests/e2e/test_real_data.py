"""The UI under everyday data, in a real browser against the real stack: a 100,000-character
attribute value, a 300-character span name, a 302-span trace whose one slow span must be found
(sorting, self time, critical path, zoom), honest counts with the page in the URL, unknown and
malformed ids, a right-to-left override character, the time zone and theme switches, keyboard
shortcuts, and layouts at 1440, 1024 and 400 px with no horizontal page scroll.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import Shots, UiStack, open_page, reload_until
from tests.e2e.send_real_data import LONG_NAME
from tests.support.api import ApiClient
from tests.support.procs import run_sender

pytestmark = pytest.mark.e2e

EMAIL = "lin@example.com"
PASSWORD = "correct horse battery"
SERVICE = "ledger-app"
PAGED = "paged-real-app"


@pytest.fixture(scope="module")
def sent(ui_stack: UiStack) -> dict[str, str]:
    with ApiClient(ui_stack.api_url, origin=ui_stack.ui_url) as api:
        api.create_first_user(EMAIL, PASSWORD)
        key = api.create_api_key("real data")
    ids = run_sender("tests.e2e.send_real_data", ui_stack.stack.otlp_endpoint, key, SERVICE)
    run_sender("tests.e2e.send_llm_traces", ui_stack.stack.otlp_endpoint, key, PAGED, "55")
    return dict(ids)


@pytest.fixture(scope="module")
def page(browser: Browser, ui_stack: UiStack, sent: dict[str, str]) -> Iterator[Page]:
    with open_page(browser, ui_stack.ui_url, {"width": 1440, "height": 900}) as p:
        p.goto("/sign-in")
        p.get_by_label("Email").fill(EMAIL)
        p.get_by_label("Password").fill(PASSWORD)
        p.get_by_role("button", name="Sign In").click()
        expect(p.get_by_role("button", name="Sign out")).to_be_visible()
        yield p


def _leave_form_controls(page: Page) -> None:
    """Takes the focus off the control used last, as a user's click on empty page space does,
    and waits until it is gone: page shortcuts are ignored while a form control has the focus."""
    page.evaluate("() => document.activeElement instanceof HTMLElement && document.activeElement.blur()")
    page.wait_for_function("() => document.activeElement === document.body")


def _open_trace(page: Page, trace_id: str, suffix: str = "") -> None:
    page.goto(f"/traces/{SERVICE}/{trace_id}{suffix}")
    tree_or_table = page.get_by_role("tree", name="Trace spans").or_(
        page.get_by_role("table", name="Spans by column")
    )
    reload_until(page, lambda: expect(tree_or_table).to_be_visible(timeout=5_000), "the trace to load", 60)


def _no_horizontal_scroll(page: Page) -> None:
    widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], f"the page scrolls sideways: {widths}"


def test_a_100k_value_is_clipped_and_shown_whole_on_request(page: Page, sent: dict[str, str]) -> None:
    _open_trace(page, sent["batch"], f"/{sent['fat']}")
    attrs = page.get_by_role("table", name="Attributes", exact=True)
    row = attrs.get_by_role("row").filter(has_text="payload.blob")
    expect(row).to_have_count(1)
    box = row.bounding_box()
    assert box is not None and box["height"] < 700, box
    _no_horizontal_scroll(page)
    row.get_by_role("button", name=re.compile(r"Show all \(100,000 characters\)")).click()
    dialog = page.get_by_role("dialog", name="payload.blob")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("100,000 characters")
    full = dialog.locator("pre").inner_text()
    assert len(full) == 100_000
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_have_count(0)
    # the key column is resizable from the keyboard
    handle = attrs.get_by_role("separator", name="Resize the key column")
    before = int(handle.get_attribute("aria-valuenow") or 0)
    handle.focus()
    page.keyboard.press("ArrowRight")
    expect(handle).to_have_attribute("aria-valuenow", str(before + 20))


@pytest.mark.parametrize("width", [1440, 1024, 400])
def test_long_names_never_widen_the_page(page: Page, sent: dict[str, str], width: int) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    try:
        page.goto(f"/traces/{SERVICE}?live=0")
        table = page.get_by_role("table", name="Traces")
        reload_until(
            page,
            lambda: expect(table.get_by_role("link", name=LONG_NAME)).to_be_visible(timeout=5_000),
            "the long-named trace to be listed",
            60,
        )
        _no_horizontal_scroll(page)
        if width >= 1024:
            header = table.get_by_role("columnheader", name="Duration")
            box = header.bounding_box()
            assert box is not None and box["x"] + box["width"] <= width, box
        _open_trace(page, sent["long_name"])
        _no_horizontal_scroll(page)
        older = page.get_by_role("button", name="Next (older) trace")
        box = older.bounding_box()
        assert box is not None and box["x"] + box["width"] <= width, box
        _open_trace(page, sent["batch"])
        _no_horizontal_scroll(page)
    finally:
        page.set_viewport_size({"width": 1440, "height": 900})


def test_finding_the_slow_span(page: Page, sent: dict[str, str], shots: Shots) -> None:
    _open_trace(page, sent["batch"])
    expect(page.get_by_text("302 spans")).to_be_visible()
    page.locator("summary", has_text="Slowest spans").click()
    by_self = page.get_by_role("list", name="Slowest by self time")
    by_duration = page.get_by_role("list", name="Slowest by duration")
    expect(by_self.get_by_role("button")).to_have_count(5)
    expect(by_self.get_by_role("button").nth(0)).to_contain_text("slow_lookup")
    expect(by_self.get_by_role("button").nth(0)).to_contain_text("250.00ms")
    expect(by_self.get_by_role("button").nth(1)).to_contain_text("batch import")  # the root's own gaps
    expect(by_duration.get_by_role("button")).to_have_count(5)
    expect(by_duration.get_by_role("button").nth(0)).to_contain_text("batch import")
    expect(by_duration.get_by_role("button").nth(1)).to_contain_text("slow_lookup")
    by_duration.get_by_role("button").nth(0).click()
    expect(page.get_by_label("Span details").get_by_role("heading", name="batch import")).to_be_visible()
    by_self.get_by_role("button").nth(0).click()
    expect(page).to_have_url(re.compile(rf"/{sent['slow']}$"))
    expect(by_self.get_by_role("button").nth(0)).to_have_attribute("aria-current", "true")
    page.locator("summary", has_text="Slowest spans").click()  # closed again
    expect(by_self).to_be_hidden()
    expect(page.get_by_label("Span details").get_by_role("heading", name="slow_lookup")).to_be_visible()
    expect(page.get_by_label("Offset from trace start")).to_contain_text("from trace start")

    page.get_by_role("radiogroup", name="Trace view").get_by_role("radio", name="Table").click()
    table = page.get_by_role("table", name="Spans by column")
    page.get_by_role("button", name="Self time").click()
    first = table.get_by_role("row").nth(1)
    expect(first).to_contain_text("slow_lookup")
    expect(first).to_contain_text("250.00ms")
    page.get_by_role("button", name=re.compile(r"^Self time")).click()  # ascending
    expect(table.get_by_role("row").nth(1)).not_to_contain_text("slow_lookup")
    page.get_by_role("button", name=re.compile(r"^Self time")).click()  # descending again

    page.get_by_label("Critical path").check()
    slow_row = table.locator(f"tr[data-span-id='{sent['slow']}']")
    expect(slow_row).to_have_class(re.compile(r"\bcritical\b"))
    expect(table.locator("tr.critical")).not_to_have_count(0)
    # everything is in the URL: a reload shows the same view
    page.reload()
    expect(page.get_by_role("table", name="Spans by column").get_by_role("row").nth(1)).to_contain_text(
        "slow_lookup"
    )
    expect(page.get_by_label("Critical path")).to_be_checked()
    shots.take(page, "trace-find-time")

    page.get_by_role("radiogroup", name="Trace view").get_by_role("radio", name="Waterfall").click()
    tree = page.get_by_role("tree", name="Trace spans")
    expect(tree.locator(f"li[data-span-id='{sent['slow']}']")).to_have_class(re.compile(r"\bcritical\b"))
    minimap = page.get_by_role("slider", name=re.compile("Trace overview"))
    box = minimap.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.1, box["y"] + 10)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + 10, steps=5)
    page.mouse.up()
    expect(page).to_have_url(re.compile(r"zoom=\d"))
    reset = page.get_by_role("button", name=re.compile(r"Reset zoom"))
    expect(reset).to_be_visible()
    reset.click()
    expect(page).not_to_have_url(re.compile(r"zoom="))


def test_honest_counts_and_the_page_in_the_url(page: Page) -> None:
    page.goto(f"/traces/{PAGED}?live=0")
    rows = page.get_by_role("table", name="Traces").get_by_role("row")
    reload_until(page, lambda: expect(rows).to_have_count(51, timeout=5_000), "a full first page", 60)
    count = page.locator(".count")
    expect(count).to_have_text(re.compile(r"^(55 total|50\+ loaded)$"))
    page.get_by_role("button", name="Older →").click()
    expect(rows).to_have_count(6)
    expect(page).to_have_url(re.compile(r"after="))
    expect(count).to_have_text("55 total")
    page.reload()
    expect(page.get_by_text("Page 2")).to_be_visible()
    expect(rows).to_have_count(6)
    page.go_back()
    expect(page.get_by_text("Page 1")).to_be_visible()
    expect(rows).to_have_count(51)
    # j/k move between rows, Enter opens the one marked
    _leave_form_controls(page)
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    marked = page.locator("tr[aria-current='true']")
    expect(marked).to_have_count(1)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/traces/{PAGED}/[0-9a-f]{{32}}$"))
    # an empty list explains itself and has no pager
    page.goto(f"/logs/{PAGED}")
    expect(page.get_by_text(f"{PAGED} has sent no Junjo workflow executions yet")).to_be_visible()
    expect(page.get_by_role("button", name="Older →")).to_have_count(0)


def test_unknown_and_malformed_ids_say_what_happened(page: Page, sent: dict[str, str]) -> None:
    page.goto(f"/traces/{SERVICE}/not-a-trace")
    expect(page.get_by_role("alert")).to_contain_text("This is not a trace id")
    expect(page.get_by_text("should match pattern")).to_have_count(0)
    expect(page.get_by_role("button", name="Next (older) trace")).to_have_count(0)

    page.goto(f"/traces/{SERVICE}/{'0' * 32}")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text(f"Trace not found in {SERVICE}")
    expect(alert).to_contain_text("may still be arriving")
    expect(alert.get_by_role("link", name="All services")).to_be_visible()

    _open_trace(page, sent["batch"], f"/{'f' * 16}")
    expect(page.get_by_text(f"Span {'f' * 16} is not in this trace")).to_be_visible()

    page.goto(f"/traces/other-service/{sent['batch']}")
    expect(page.get_by_text(f"This trace belongs to {SERVICE}")).to_be_visible()
    expect(
        page.get_by_role("navigation", name="Breadcrumb").get_by_role("link", name=SERVICE)
    ).to_be_visible()


def test_bidi_override_is_shown_as_a_marker(page: Page, sent: dict[str, str]) -> None:
    _open_trace(page, sent["batch"], f"/{sent['bidi']}")
    details = page.get_by_label("Span details")
    expect(details.get_by_role("heading", name=re.compile("invoice"))).to_contain_text("⟦U+202E⟧gnp.exe")
    expect(details.get_by_role("table", name="Attributes", exact=True)).to_contain_text(
        "report⟦U+202E⟧xcod.js"
    )


def test_time_zone_theme_and_search_shortcut(page: Page, sent: dict[str, str]) -> None:
    _open_trace(page, sent["batch"])
    page.get_by_label("Time zone").select_option("utc")
    header_time = page.locator(".page-header time").first
    expect(header_time).to_have_text(re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3} UTC$"))
    page.reload()
    expect(page.locator(".page-header time").first).to_have_text(re.compile(r" UTC$"))
    page.get_by_label("Time zone").select_option("local")
    expect(page.locator(".page-header time").first).to_have_text(re.compile(r" UTC[+\-±]\d{2}:\d{2}$"))

    html = page.locator("html")
    page.get_by_label("Theme").select_option("dark")
    expect(html).to_have_attribute("data-theme", "dark")
    page.reload()
    expect(html).to_have_attribute("data-theme", "dark")
    expect(page.get_by_label("Theme")).to_have_value("dark")
    page.get_by_label("Theme").select_option("system")
    expect(html).to_have_attribute("data-theme", "light")
    page.emulate_media(color_scheme="dark")  # "system" follows the OS, live
    expect(html).to_have_attribute("data-theme", "dark")
    page.emulate_media(color_scheme="light")

    search = page.get_by_label("Search within trace")
    expect(search).to_be_visible()  # the reload above: the trace is on screen again
    _leave_form_controls(page)
    page.keyboard.press("/")
    expect(search).to_be_focused()
