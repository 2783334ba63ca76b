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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.conftest import DIST, ensure_built  # noqa: E402
from tests.support.api import ApiClient  # noqa: E402
from tests.support.browser_bench import first_content, signed_in_page, wait_until_shown  # noqa: E402
from tests.support.procs import run_sender  # noqa: E402
from tests.support.stack import running_ui  # noqa: E402

SERVICE = "agent-page-app"
FIRST_CONTENT = (
    "(document.querySelector('section[aria-label=Summary]')"
    " && document.querySelectorAll('ol[aria-label=\"Operation timeline\"] button').length === 6)"
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args(argv)
    ensure_built()
    work = Path(tempfile.mkdtemp(prefix="bench-agent-page-"))
    with running_ui(work, work, DIST) as (stack, ui_url):
        with ApiClient(stack.http_url, origin=ui_url) as api:
            api.create_first_user()
            key = api.create_api_key("bench")
        sent = run_sender("tests.support.junjo_agents", stack.otlp_endpoint, key, SERVICE)["success"]
        url = f"{ui_url}/agents/{sent['trace_id']}/{sent['agent_span_id']}"
        with signed_in_page(ui_url) as page:
            wait_until_shown(page, url, FIRST_CONTENT, 60)
            times = [first_content(page, url, FIRST_CONTENT) for _ in range(args.runs)]
    print(f"\nAgent execution page ({args.runs} runs, headless Chromium, 1440x900)")
    print("| measure | median ms | max ms | budget |\n|---|---|---|---|")
    median, worst = statistics.median(times), max(times)
    print(f"| first content (header tiles + timeline) | {median:.0f} | {worst:.0f} | 1,000 |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
