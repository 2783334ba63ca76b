"""`make bench`: runs every scripts/bench_*.py `main([])` in name order and prints a summary.

Each benchmark is bounded in time and prints its own details; this only sequences them and
reports which ones finished. Exit status is non-zero if any benchmark failed or raised.
`python scripts/bench.py ingestion query` runs only the benchmarks whose names contain a word.
"""

from __future__ import annotations

import importlib
import sys
import time
import traceback
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    sys.path[:0] = [str(SCRIPTS), str(SCRIPTS.parent)]
    summary: list[tuple[str, str, float]] = []
    for path in sorted(SCRIPTS.glob("bench_*.py")):
        if argv and not any(word in path.stem for word in argv):
            continue
        print(f"=== {path.name}", flush=True)
        started = time.monotonic()
        try:
            # A real import (not exec from a path): benchmarks that spawn client processes need
            # their functions importable by module name in the children.
            module = importlib.import_module(path.stem)
            code = module.main([])
            status = "ok" if not code else f"exit {code}"
        except Exception:
            traceback.print_exc()
            status = "error"
        summary.append((path.name, status, time.monotonic() - started))
    print("=== summary")
    for name, status, seconds in summary:
        print(f"{name:32} {status:8} {seconds:7.1f}s")
    return 0 if all(status == "ok" for _, status, _ in summary) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
