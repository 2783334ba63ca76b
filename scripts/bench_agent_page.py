"""Agent execution page benchmark: first content in headless Debian Chromium.

`python scripts/bench_agent_page.py [--runs R]` starts the real backend and ingestion on loopback,
exports the real junjo 0.69 Agent runs of tests/support/junjo_agents.py through the SDK's exporter,
and measures with `performance.now()` from navigation start until the page shows the run's header
tiles and its operation timeline (first content), on the three-request, three-Tool-call run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, DIST, ensure_built  # noqa: E402
from tests.support.api import ApiClient  # noqa: E402
from tests.support.procs import free_port, run_sender  # noqa: E402
from tests.support.stack import Stack, start_backend, start_ingestion, start_static_ui  # noqa: E402

SERVICE = "agent-page-app"
EMAIL = "bench@example.com"
PASSWORD = "correct horse battery"  # noqa: S105 - a throwaway account on a loopback test stack
FIRST_CONTENT = (
    "() => document.querySelector('section[aria-label=Summary]')"
    " && document.querySelectorAll('ol[aria-label=\"Operation timeline\"] button').length === 6"
    " ? performance.now() : null"
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args(argv)
    ensure_built()
    work = Path(tempfile.mkdtemp(prefix="bench-agent-page-"))
    ui_port = free_port()
    ui_url = f"http://127.0.0.1:{ui_port}"
    stack = Stack(work, extra_env={"JUNJO_ALLOW_ORIGINS": ui_url})
    times: list[float] = []
    try:
        start_backend(stack, work)
        start_ingestion(stack, work)
        start_static_ui(stack, ui_port, DIST, work)
        with ApiClient(stack.http_url, origin=ui_url) as api:
            api.create_first_user(EMAIL, PASSWORD)
            key = api.create_api_key("bench")
        sent = run_sender("tests.support.junjo_agents", stack.otlp_endpoint, key, SERVICE)["success"]
        url = f"{ui_url}/agents/{sent['trace_id']}/{sent['agent_span_id']}"
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.goto(f"{ui_url}/sign-in")
            page.get_by_label("Email").fill(EMAIL)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign In").click()
            page.wait_for_url(f"{ui_url}/")
            deadline = time.monotonic() + 60
            while True:  # until the run is queryable
                page.goto(url)
                try:
                    page.wait_for_function(FIRST_CONTENT, timeout=5_000)
                    break
                except Exception:
                    if time.monotonic() > deadline:
                        raise
            for _ in range(args.runs):
                page.goto(url)
                times.append(float(page.wait_for_function(FIRST_CONTENT, timeout=60_000).json_value()))
            browser.close()
    finally:
        stack.stop()
    print(f"\nAgent execution page ({args.runs} runs, headless Chromium, 1440x900)")
    print("| measure | median ms | max ms | budget |\n|---|---|---|---|")
    median, worst = statistics.median(times), max(times)
    print(f"| first content (header tiles + timeline) | {median:.0f} | {worst:.0f} | 1,000 |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
