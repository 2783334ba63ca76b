"""Evaluation benchmark: a 100-case run recorded through the real `junjo eval` CLI, and the run
comparison page's first content in headless Debian Chromium.

Fresh backend + ingestion + static UI in a temporary directory. A dataset of 100 workflow cases
(tests/support/junjo_eval_harness.py: each case executes a real Junjo Workflow whose spans go to
our ingestion) is written through the Studio client and locked; then `junjo eval run execute`
records the baseline and a candidate. Reported per run: CLI wall time, and the CPU seconds the
backend and ingestion processes spent meanwhile (user + system, from psutil). "First content" of
`/evaluations/compare/<baseline>/<candidate>` = navigation start until all 100 comparison rows
are in the DOM (`performance.now()` in the page), signed in, warm cache, `--loads` times.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psutil
from junjo.studio import CaseCreate, CaseOrigin, DatasetCreate, StudioClient, TargetKind

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.conftest import DIST  # noqa: E402
from tests.support.api import ApiClient  # noqa: E402
from tests.support.browser_bench import first_content, print_requests, signed_in_page  # noqa: E402
from tests.support.junjo_eval_cli import EXIT_EVALUATION, Cli, application_checkout, developer_token  # noqa: E402
from tests.support.procs import free_port  # noqa: E402
from tests.support.stack import Stack, start_backend, start_ingestion, start_static_ui  # noqa: E402


def cpu_seconds(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


async def fill_dataset(cli: Cli, cases: int) -> str:
    async with StudioClient(base_url=cli.stack.http_url, token=cli.token) as client:
        dataset = await client.create_dataset(
            DatasetCreate(application_key="greeter", key="bench", name="Bench")
        )
        for i in range(cases):
            await client.add_case(
                dataset.id,
                CaseCreate(
                    case_key=f"case-{i:03d}",
                    evaluation_name="greets by name",
                    origin=CaseOrigin.AUTHORED,
                    target_kind=TargetKind.WORKFLOW,
                    target_key="greet-workflow",
                    target_name="GreetWorkflow",
                    input_version=1,
                    input_json={"name": f"Person {i}"},
                    expectation_json={"text": "Hello"},
                    evaluator_key="greeting.contains",
                    evaluator_version=1,
                ),
            )
    return dataset.id


def timed_run(
    cli: Cli, dataset_id: str, label: str, expect: int, **env: str
) -> tuple[str, float, float, float]:
    """(run id, wall s, backend CPU s, ingestion CPU s) of one `junjo eval run execute`."""
    assert cli.stack.backend is not None and cli.stack.ingestion is not None
    assert cli.stack.backend.proc is not None and cli.stack.ingestion.proc is not None
    backend, ingestion = cli.stack.backend.proc.pid, cli.stack.ingestion.proc.pid
    before = cpu_seconds(backend), cpu_seconds(ingestion)
    started = time.monotonic()
    detail = cli(
        "run",
        "execute",
        "--dataset-id",
        dataset_id,
        "--request-key",
        label,
        "--run-label",
        label,
        expect=expect,
        **env,
    )
    wall = time.monotonic() - started
    return detail["run"]["id"], wall, cpu_seconds(backend) - before[0], cpu_seconds(ingestion) - before[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100)
    parser.add_argument("--loads", type=int, default=10)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-evaluations-"))
    ui_port = free_port()
    ui_url = f"http://127.0.0.1:{ui_port}"
    stack = Stack(work / "data", extra_env={"JUNJO_ALLOW_ORIGINS": ui_url})
    try:
        start_backend(stack, work)
        start_ingestion(stack, work)
        start_static_ui(stack, ui_port, DIST, work)
        with ApiClient(stack.http_url, origin=ui_url) as admin:
            admin.create_first_user()
            cli = Cli(
                stack,
                developer_token(admin),
                admin.create_api_key("bench"),
                application_checkout(work / "app"),
            )
        cli.commit("baseline")
        dataset_id = asyncio.run(fill_dataset(cli, args.cases))
        cli("dataset", "lock", "--dataset-id", dataset_id)
        runs = [timed_run(cli, dataset_id, "baseline", 0)]
        cli.commit("candidate")
        runs.append(timed_run(cli, dataset_id, "candidate", EXIT_EVALUATION, JUNJO_EVAL_VARIANT="candidate"))
        with signed_in_page(ui_url) as page:
            selector = f"table[aria-label=Comparison] tbody tr:nth-child({args.cases})"
            url = f"{ui_url}/evaluations/compare/{runs[0][0]}/{runs[1][0]}"
            loads = [first_content(page, url, selector) for _ in range(args.loads)]
            if os.environ.get("BENCH_EVALUATIONS_VERBOSE"):
                print_requests(page, url)
    finally:
        stack.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(f"\n`junjo eval run execute`, {args.cases} Workflow cases (each exported to ingestion)")
    print("| run | wall s | ms per case | backend CPU s | ingestion CPU s |\n|---|---|---|---|---|")
    for (_, wall, backend_cpu, ingestion_cpu), label in zip(runs, ("baseline", "candidate"), strict=True):
        print(
            f"| {label} | {wall:.1f} | {wall * 1000 / args.cases:.0f} "
            f"| {backend_cpu:.2f} | {ingestion_cpu:.2f} |"
        )
    print(f"\nComparison page first content, {args.cases} cases ({args.loads} loads, warm cache)")
    print(f"| median ms | max ms |\n|---|---|\n| {statistics.median(loads):.0f} | {max(loads):.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
