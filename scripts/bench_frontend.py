"""Frontend benchmark: first-content time of the traces list and of a trace opened by URL in
headless Debian Chromium, over the query benchmark's 1,000,000-span data set, plus bundle sizes.

`python scripts/bench_frontend.py` reuses `.dbdata/bench/query-agents-1000000/` from
`scripts/bench_query.py` (and has it generated first when missing). The data set is copied to a
temporary directory so a concurrent query benchmark is not disturbed. "First content" = time
from navigation start until the first list row / the span tree is in the DOM (`performance.now()`
in the page), signed in, browser cache warm (as for a user who has the app open); each page is
loaded 10 times.
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Page

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scripts import bench_query  # noqa: E402
from tests.e2e.conftest import DIST  # noqa: E402
from tests.support.browser_bench import first_content, print_requests, signed_in_page  # noqa: E402
from tests.support.stack import running_ui  # noqa: E402

SERVICE = "bench-service-0"


def bundle_sizes() -> list[tuple[str, int, int]]:
    out = []
    for f in sorted((DIST / "assets").iterdir()):
        data = f.read_bytes()
        out.append((f.name, len(data), len(gzip.compress(data, 9))))
    return out


def loads(page: Page, url: str, selector: str, runs: int) -> list[float]:
    times = [first_content(page, url, selector) for _ in range(runs)]
    if os.environ.get("BENCH_FRONTEND_VERBOSE"):
        print_requests(page, url)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args(argv)
    source, manifest = bench_query.data_set(args.spans)
    work = Path(tempfile.mkdtemp(prefix="bench-frontend-"))
    data = work / "data"
    shutil.copytree(source, data, ignore=shutil.ignore_patterns("logs", "wal", "hot_snapshot.parquet"))
    try:
        with running_ui(data, work, DIST) as (_, ui_url), signed_in_page(ui_url) as page:
            lists = loads(page, f"{ui_url}/traces/{SERVICE}", "table[aria-label=Traces] tbody tr", args.runs)
            trace = manifest["sample_traces"][0]
            traces = loads(page, f"{ui_url}/traces/{SERVICE}/{trace}", "[role=treeitem]", args.runs)
    finally:
        log = work / "static.log"
        print(log.read_text()[-3000:] if log.exists() else "no static log")
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nFrontend first content over {manifest['spans']:,} spans ({args.runs} loads each, warm cache)")
    print("| page | median ms | max ms |\n|---|---|---|")
    for name, values in (("traces list", lists), ("trace by URL", traces)):
        print(f"| {name} | {statistics.median(values):.0f} | {max(values):.0f} |")
    print("\n| asset | bytes | gzip |\n|---|---|---|")
    for name, raw, gz in bundle_sizes():
        print(f"| {name} | {raw:,} | {gz:,} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
