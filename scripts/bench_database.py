"""State on PostgreSQL vs SQLite: what every request pays for the application database and the
file index, in process, on each engine in turn.

- sign-in: `authenticate` (the user's row by email, then argon2, which dominates) and the
  per-request session check (the user's row by id, what `require_user` reads);
- API key validation: `is_valid_key` (one indexed lookup by digest), as ingestion's cache misses
  reach it;
- index planning: the queries a span listing and a trace page ask of the index (files of a
  service, the newest root keys page, a trace's files) over FILES indexed files.

PostgreSQL is Debian's 15 started in a temporary directory with its default durability settings
(tests/support/postgres.py), on loopback TCP: each query pays a round trip that SQLite, in
process, does not. Both engines run on this machine's 2 cores. Prints one line per measurement.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from backend.accounts.service import authenticate, create_first_user  # noqa: E402
from backend.api_keys.service import create_key, is_valid_key  # noqa: E402
from backend.db.engine import Database  # noqa: E402
from backend.db.migrate import upgrade  # noqa: E402
from backend.db.models import User  # noqa: E402
from backend.index.store import MetadataIndex  # noqa: E402
from backend.index.summary import FileSummary, KeySpan, ServiceStats  # noqa: E402
from tests.support.postgres import PostgresServer  # noqa: E402

EMAIL, PASSWORD = "bench@example.com", "correct horse battery"
SERVICES = ("checkout", "search", "agents")
SPANS_PER_FILE = 200


def _timed(work: Callable[[], object], runs: int) -> tuple[float, float]:
    """(p50, p95) in milliseconds over `runs` calls, after a few warm-up calls."""
    for _ in range(min(10, runs)):
        work()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def _summary(number: int) -> FileSummary:
    base = 1_790_000_000 * 10**9 + number * 10**9
    summary = FileSummary(path=f"/data/spans/parquet/f{number:05}.parquet", size_bytes=4 << 20)
    for i in range(SPANS_PER_FILE):
        service = SERVICES[i % len(SERVICES)]
        trace = secrets.token_hex(16)
        start = base + i * 1000
        stats = summary.services.setdefault(service, ServiceStats())
        stats.span_count += 1
        stats.root_count += 1
        stats.min_start_ns, stats.max_start_ns = (
            min(stats.min_start_ns, start),
            max(stats.max_start_ns, start),
        )
        summary.trace_ids.add(trace)
        summary.key_spans.append(
            KeySpan(service, start, secrets.token_hex(8), trace, True, i % 10 == 0, False)
        )
    summary.row_count = SPANS_PER_FILE
    summary.min_start_ns, summary.max_start_ns, summary.max_end_ns = (
        base,
        base + SPANS_PER_FILE * 1000,
        base + 10**9,
    )
    return summary


def _accounts(url: str, runs: int) -> dict[str, tuple[float, float]]:
    upgrade(url)
    db = Database(url)
    try:
        user = create_first_user(db, EMAIL, PASSWORD)
        key = create_key(db, "bench").key
        for i in range(1000):  # a realistic table, not a single row
            create_key(db, f"other {i}")

        def session_check() -> None:
            with db.session() as tx:
                tx.scalar(select(User).where(User.id == user.id))

        return {
            "sign-in (authenticate, argon2 included)": _timed(lambda: authenticate(db, EMAIL, PASSWORD), 20),
            "session check per request": _timed(session_check, runs),
            "API key validation": _timed(lambda: is_valid_key(db, key), runs),
        }
    finally:
        db.dispose()


def _planning(index: MetadataIndex, files: int, runs: int) -> dict[str, tuple[float, float]]:
    summaries = [_summary(n) for n in range(files)]
    started = time.perf_counter()
    for summary in summaries:
        index.add_file(summary)
    add_ms = (time.perf_counter() - started) * 1000 / files
    if index.database_url is not None:
        index._conn().execute("ANALYZE")  # what autovacuum does after a load; plans depend on it
    probe = next(iter(summaries[files // 2].trace_ids))

    def newest_page() -> None:
        keys = index.newest_keys("checkout", "roots", False, None, None, None)
        for _, _ in zip(range(50), keys, strict=False):
            pass

    return {
        "index add_file (200 spans)": (add_ms, add_ms),
        "plan: files of a service": _timed(
            lambda: index.service_files("checkout", "spans", False, None, None), runs
        ),
        "plan: newest 50 root keys": _timed(newest_page, runs),
        "plan: files of one trace": _timed(lambda: index.trace_file_paths(probe), runs),
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--files", type=int, default=300)
    args = parser.parse_args(argv)
    results: dict[str, dict[str, tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="junjo-bench-db-") as tmp:
        sqlite_index = MetadataIndex(Path(tmp) / "metadata.db")
        results["sqlite"] = _accounts(f"sqlite+pysqlite:///{Path(tmp) / 'junjo.db'}", args.runs)
        results["sqlite"] |= _planning(sqlite_index, args.files, args.runs)
        sqlite_index.close()
    server = PostgresServer(durable=True).start()
    try:
        results["postgresql"] = _accounts(server.create_database(), args.runs)
        index = MetadataIndex(Path("/nonexistent"), server.create_database())
        results["postgresql"] |= _planning(index, args.files, args.runs)
        index.close()
    finally:
        server.stop()
    print(f"{'measurement':42} {'SQLite p50/p95 ms':>20} {'PostgreSQL p50/p95 ms':>24}")
    for name, (p50, p95) in results["sqlite"].items():
        pg50, pg95 = results["postgresql"][name]
        print(f"{name:42} {p50:9.3f} / {p95:8.3f} {pg50:11.3f} / {pg95:8.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
