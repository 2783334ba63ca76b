"""What the page benchmarks (scripts/bench_*.py) share: a signed-in headless Chromium page, first
content as the page itself measures it, and where the page's requests spent their time.

First content is `performance.now()` in the page (milliseconds from navigation start) at the first
animation frame where the page's own content is in the DOM; a harness-side clock would add the
browser round trips to every figure.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager

from playwright.sync_api import Page, ViewportSize, sync_playwright

from tests.support.api import DEFAULT_EMAIL, DEFAULT_PASSWORD
from tests.support.chromium import launch_chromium

VIEWPORT: ViewportSize = {"width": 1440, "height": 900}


@contextmanager
def signed_in_page(
    ui_url: str, email: str = DEFAULT_EMAIL, password: str = DEFAULT_PASSWORD
) -> Iterator[Page]:
    """A 1440x900 page of a fresh headless Chromium, signed in through the sign-in form."""
    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.goto(f"{ui_url}/sign-in")
            page.get_by_label("Email").fill(email)
            page.get_by_label("Password").fill(password)
            page.get_by_role("button", name="Sign In").click()
            page.wait_for_url(f"{ui_url}/")
            yield page
        finally:
            browser.close()


def first_content(page: Page, url: str, ready: str, timeout_ms: int = 60_000) -> float:
    """Opens `url` and returns the page's milliseconds until `ready` (a JS expression) is true;
    a CSS selector is taken as "that element exists"."""
    condition = ready if ready.startswith("(") else f"document.querySelector({json.dumps(ready)})"
    page.goto(url)
    handle = page.wait_for_function(f"() => ({condition}) ? performance.now() : null", timeout=timeout_ms)
    return float(handle.json_value())


def wait_until_shown(page: Page, url: str, ready: str, deadline_s: float = 120) -> None:
    """Reloads `url` until `ready` holds (the data was just sent: it may not be queryable yet)."""
    deadline = time.monotonic() + deadline_s
    while True:
        try:
            first_content(page, url, ready, timeout_ms=10_000)
            return
        except Exception:
            if time.monotonic() > deadline:
                raise


def request_timings(page: Page, contains: str) -> list[tuple[float, float]]:
    """(start, response end) in page milliseconds of this load's requests whose URL contains `contains`."""
    entries = page.evaluate(
        "(part) => performance.getEntriesByType('resource')"
        ".filter((e) => e.name.includes(part)).map((e) => [e.startTime, e.responseEnd])",
        contains,
    )
    return [(float(a), float(b)) for a, b in entries]


def print_requests(page: Page, title: str) -> None:
    """Every request of the current load with its start and end (a verbose benchmark's detail)."""
    entries = page.evaluate(
        "() => performance.getEntriesByType('resource')"
        ".map(e => [e.name.slice(-70), Math.round(e.startTime), Math.round(e.responseEnd)])"
    )
    print(title, *entries, sep="\n  ")
