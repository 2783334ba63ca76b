"""`make bench`: runs every scripts/bench_*.py `main([])` in name order and prints a summary.

Each benchmark is bounded in time and prints its own details; this only sequences them and
reports which ones finished. Exit status is non-zero if any benchmark failed or raised.
"""

from __future__ import annotations

import importlib.util
import sys
import time
import traceback
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent


def main() -> int:
    sys.path.insert(0, str(SCRIPTS.parent))
    summary: list[tuple[str, str, float]] = []
    for path in sorted(SCRIPTS.glob("bench_*.py")):
        print(f"=== {path.name}", flush=True)
        started = time.monotonic()
        try:
            spec = importlib.util.spec_from_file_location(path.stem, path)
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
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
    sys.exit(main())
