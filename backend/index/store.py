"""Reads and writes of the file index: what the indexer records and what query planning asks.

The index is metadata.db (stdlib sqlite3, WAL mode), or PostgreSQL when a database URL is given
(backend.index.postgres: the same SQL through a thin connection adapter). All methods are
blocking (one connection per thread) and are called from worker threads, never on the event loop.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal, Protocol

import orjson

from backend.index.attribute_filter import PAGE_BLOCKS, block_key, page_may_hold, pair_hash
from backend.index.schema import connect, migrate
from backend.index.summary import FileSummary
from backend.overview.rollups import COUNTERS, rollup_row, widened


class Connection(Protocol):
    """What the store uses of a connection: sqlite3's, or backend.index.postgres's adapter."""

    def execute(self, sql: str, parameters: Any = (), /) -> Any: ...

    def executemany(self, sql: str, parameters: Any, /) -> Any: ...

    def close(self) -> None: ...


ListKind = Literal["spans", "roots", "workflows"]
KeyKind = Literal["roots", "workflows"]
_COUNT_COLUMNS = {
    ("spans", False): "span_count",
    ("spans", True): "error_count",
    ("roots", False): "root_count",
    ("roots", True): "root_error_count",
    ("workflows", False): "workflow_count",
    ("workflows", True): "workflow_error_count",
}
_SQLITE_MAX_PARAMS = 900
_MAX_RETRY_DELAY_SECS = 3600.0
_KEYS_BATCH = 128


def _retry_delay(base: float, failures: int) -> float:
    return min(base * 2 ** min(failures - 1, 20), _MAX_RETRY_DELAY_SECS)


@dataclass(frozen=True)
class CandidateFile:
    path: str
    count: int  # rows of the requested kind for the service in this file
    min_start_ns: int
    max_start_ns: int


@dataclass(frozen=True)
class IndexedKey:
    start_ns: int
    span_id: str
    trace_id: str
    path: str
    llm: bool  # the trace has an LLM span of the same service in an indexed file


@dataclass(frozen=True)
class FailedFile:
    path: str
    error: str
    size_bytes: int
    mtime_ns: int
    failures: int
    next_retry_at: float


class MetadataIndex:
    """The index over one metadata.db file, or over PostgreSQL when `database_url` is given."""

    def __init__(self, path: Path, database_url: str | None = None) -> None:
        self.path = path
        self.database_url = database_url
        self._local = threading.local()
        if database_url is None:
            migrate(path)
            self._begin = "BEGIN IMMEDIATE"
        else:
            from backend.index import postgres  # psycopg only when PostgreSQL is configured

            postgres.migrate(database_url)
            self._begin = "BEGIN"

    def _conn(self) -> Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None or getattr(conn, "closed", False) is True:  # PostgreSQL: reconnect after a failure
            if self.database_url is None:
                conn = connect(self.path)
            else:
                from backend.index.postgres import PostgresConnection

                conn = PostgresConnection(self.database_url)
            self._local.conn = conn
        return conn

    def _flag(self, column: str) -> str:
        """A condition on a 0/1 column, spelt so each engine uses its partial index."""
        return column if self.database_url is None else f"{column} <> 0"

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        conn = self._conn()
        conn.execute(self._begin)
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    # --- indexer side -------------------------------------------------------------------
    def add_file(self, summary: FileSummary) -> None:
        with self._tx() as conn:
            conn.execute("DELETE FROM parquet_files WHERE file_path = ?", (summary.path,))
            file_id = conn.execute(
                "INSERT INTO parquet_files (file_path, min_start_ns, max_start_ns, max_end_ns, row_count,"
                " size_bytes, keys_indexed) VALUES (?, ?, ?, ?, ?, ?, 1) RETURNING file_id",
                (
                    summary.path,
                    summary.min_start_ns,
                    summary.max_start_ns,
                    summary.max_end_ns,
                    summary.row_count,
                    summary.size_bytes,
                ),
            ).fetchone()[0]
            conn.executemany(
                "INSERT INTO file_services VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        file_id,
                        name,
                        s.span_count,
                        s.root_count,
                        s.workflow_count,
                        s.error_count,
                        s.root_error_count,
                        s.workflow_error_count,
                        s.min_start_ns,
                        s.max_start_ns,
                    )
                    for name, s in summary.services.items()
                ],
            )
            conn.executemany(
                "INSERT INTO trace_files VALUES (?, ?)", ((t, file_id) for t in summary.trace_ids)
            )
            conn.executemany(
                "INSERT INTO llm_traces VALUES (?, ?, ?)", ((s, t, file_id) for s, t in summary.llm_traces)
            )
            conn.executemany(
                "INSERT INTO key_spans VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                ((file_id, *key) for key in summary.key_spans),
            )
            conn.executemany(
                "INSERT INTO executables VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                ((file_id, *key) for key in summary.executables),
            )
            conn.executemany(
                "INSERT INTO agent_executions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                ((file_id, *agent_row(run)) for run in summary.agent_runs),
            )
            conn.executemany(
                "INSERT INTO attribute_values VALUES (?, ?, ?)",
                (
                    (key, value, file_id)
                    for key, values in summary.attribute_values.items()
                    for value in values
                ),
            )
            conn.executemany(
                "INSERT INTO attribute_overflow VALUES (?, ?)",
                ((file_id, key) for key in summary.attribute_overflow),
            )
            if summary.attribute_filter is not None:
                conn.execute(
                    "INSERT INTO attribute_filters VALUES (?, ?)", (file_id, summary.attribute_filter.blocks)
                )
                conn.executemany(
                    "INSERT INTO attribute_filter_pages VALUES (?, ?, ?)",
                    ((file_id, page, bits) for page, bits in enumerate(summary.attribute_filter.pages)),
                )
            conn.executemany(
                f"INSERT INTO rollups VALUES ({', '.join('?' * (len(COUNTERS) + 6))})",
                ((file_id, *rollup_row(key, rollup)) for key, rollup in widened(summary.rollups).items()),
            )
            conn.execute("DELETE FROM failed_files WHERE file_path = ?", (summary.path,))

    def take_lease(self, name: str, owner: str, seconds: float) -> bool:
        """Takes or renews lease `name` for `owner` until `seconds` from now; False while another
        owner holds it unexpired. One atomic upsert, so two takers never both succeed."""
        now = time.time()
        with self._tx() as conn:
            row = conn.execute(
                "INSERT INTO index_lease (name, owner, expires_at) VALUES (?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at"
                " WHERE index_lease.owner = excluded.owner OR index_lease.expires_at < ?"
                " RETURNING owner",
                (name, owner, now + seconds, now),
            ).fetchone()
        return row is not None

    def release_lease(self, name: str, owner: str) -> None:
        with self._tx() as conn:
            conn.execute("DELETE FROM index_lease WHERE name = ? AND owner = ?", (name, owner))

    def paths_without_keys(self) -> list[str]:
        """Files indexed before `key_spans` existed (schema v1): the indexer summarises them again."""
        rows = self._conn().execute("SELECT file_path FROM parquet_files WHERE keys_indexed = 0")
        return [r[0] for r in rows]

    def record_failure(self, path: str, error: str, size_bytes: int, mtime_ns: int, backoff: float) -> int:
        """Upserts a failed file; returns its failure count. Next retry after `backoff(failures)`."""
        with self._tx() as conn:
            row = conn.execute("SELECT failures FROM failed_files WHERE file_path = ?", (path,)).fetchone()
            failures = (row[0] if row else 0) + 1
            conn.execute(
                "INSERT INTO failed_files (file_path, error, size_bytes, mtime_ns, failures, next_retry_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (file_path) DO UPDATE SET error = excluded.error,"
                " size_bytes = excluded.size_bytes, mtime_ns = excluded.mtime_ns,"
                " failures = excluded.failures, next_retry_at = excluded.next_retry_at",
                (
                    path,
                    error[:2000],
                    size_bytes,
                    mtime_ns,
                    failures,
                    time.time() + _retry_delay(backoff, failures),
                ),
            )
        return failures

    def indexed_paths(self) -> set[str]:
        return {r[0] for r in self._conn().execute("SELECT file_path FROM parquet_files")}

    def failed_files(self) -> dict[str, FailedFile]:
        rows = self._conn().execute(
            "SELECT file_path, error, size_bytes, mtime_ns, failures, next_retry_at FROM failed_files"
        )
        return {r[0]: FailedFile(*r) for r in rows}

    def forget(self, paths: Iterable[str]) -> int:
        """Removes files (and, by cascade, their traces/services) from the index."""
        removed = 0
        with self._tx() as conn:
            for path in paths:
                removed += conn.execute("DELETE FROM parquet_files WHERE file_path = ?", (path,)).rowcount
                conn.execute("DELETE FROM failed_files WHERE file_path = ?", (path,))
        return removed

    def files_oldest_first(self) -> list[tuple[str, int, int]]:
        """(path, max_end_ns, size_bytes) of every indexed file, oldest data first."""
        return list(
            self._conn().execute(
                "SELECT file_path, max_end_ns, size_bytes FROM parquet_files ORDER BY max_end_ns, file_id"
            )
        )

    # --- query planning side ---------------------------------------------------------
    def trace_file_paths(self, trace_id: str) -> list[str]:
        rows = self._conn().execute(
            "SELECT p.file_path FROM trace_files t JOIN parquet_files p USING (file_id) WHERE t.trace_id = ?",
            (trace_id,),
        )
        return [r[0] for r in rows]

    def services(self) -> list[str]:
        return [r[0] for r in self._conn().execute("SELECT DISTINCT service_name FROM file_services")]

    def service_files(
        self,
        service: str,
        kind: ListKind,
        errors_only: bool,
        start_ns: int | None,
        end_ns: int | None,
    ) -> list[CandidateFile]:
        """Files holding rows of `kind` for `service` overlapping [start, end], newest data first."""
        column = _COUNT_COLUMNS[(kind, errors_only)]
        rows = self._conn().execute(
            f"SELECT p.file_path, f.{column}, f.min_start_ns, f.max_start_ns"  # column from a fixed table
            " FROM file_services f JOIN parquet_files p USING (file_id)"
            f" WHERE f.service_name = ? AND f.{column} > 0 AND f.max_start_ns >= ? AND f.min_start_ns <= ?"
            " ORDER BY f.max_start_ns DESC, p.file_id DESC",
            (
                service,
                start_ns if start_ns is not None else -(2**63),
                end_ns if end_ns is not None else 2**63 - 1,
            ),
        )
        return [CandidateFile(*r) for r in rows]

    def files_with_attribute(self, attribute: str, value: str) -> set[str]:
        """Indexed files that may hold spans whose `attribute` is `value`: those recording the value,
        those with too many values of it to record, and those not summarised by this schema yet."""
        rows = self._conn().execute(
            "SELECT p.file_path FROM attribute_values a JOIN parquet_files p USING (file_id)"
            " WHERE a.attribute = ? AND a.value = ?"
            " UNION SELECT p.file_path FROM attribute_overflow o JOIN parquet_files p USING (file_id)"
            " WHERE o.attribute = ?"
            " UNION SELECT file_path FROM parquet_files WHERE keys_indexed = 0",
            (attribute, value, attribute),
        )
        return {r[0] for r in rows}

    def files_without_pair(self, attribute: str, value: str) -> set[str]:
        """Indexed files whose attribute filter proves that no span has `attribute` = `value`
        (canonical text): one page of each filter is read. Files without a filter are not listed."""
        pair = pair_hash(attribute, value)
        rows = self._conn().execute(
            "SELECT p.file_path, ? & (f.blocks - 1), g.bits FROM attribute_filters f"
            " JOIN parquet_files p ON p.file_id = f.file_id"
            " JOIN attribute_filter_pages g ON g.file_id = f.file_id AND g.page = (? & (f.blocks - 1)) / ?",
            (block_key(pair), block_key(pair), PAGE_BLOCKS),
        )
        return {path for path, block, bits in rows if not page_may_hold(bits, block % PAGE_BLOCKS, pair)}

    def keys_complete(self) -> bool:
        """True once every indexed file has its `key_spans` (see `paths_without_keys`)."""
        row = self._conn().execute("SELECT 1 FROM parquet_files WHERE keys_indexed = 0 LIMIT 1").fetchone()
        return row is None

    def newest_keys(
        self,
        service: str,
        kind: KeyKind,
        errors_only: bool,
        start_ns: int | None,
        end_ns: int | None,
        cursor: tuple[int, str] | None,
    ) -> Iterator[IndexedKey]:
        """Root or workflow keys of `service`, newest first by (start, span id), lazily.

        The caller stops reading once it has a page; `llm` says whether the trace has an LLM span
        of the same service in an indexed file. SQLite steps one cursor as the caller reads;
        psycopg would fetch the whole result at once, so PostgreSQL is asked for _KEYS_BATCH keys
        at a time, each batch continuing after the last key of the one before.
        """
        batch = None if self.database_url is None else _KEYS_BATCH
        while True:
            clauses, params = self._key_filter(service, kind, errors_only, start_ns, end_ns)
            if cursor is not None:
                clauses.append("k.start_ns <= ? AND (k.start_ns < ? OR k.span_id < ?)")  # index range
                params.extend((cursor[0], cursor[0], cursor[1]))
            rows = self._conn().execute(
                "SELECT k.start_ns, k.span_id, k.trace_id, p.file_path, EXISTS (SELECT 1 FROM llm_traces l"
                " WHERE l.service_name = k.service_name AND l.trace_id = k.trace_id)"
                " FROM key_spans k JOIN parquet_files p USING (file_id)"
                f" WHERE {' AND '.join(clauses)}"  # clauses from the fixed texts above
                " ORDER BY k.start_ns DESC, k.span_id DESC" + (f" LIMIT {batch}" if batch else ""),
                params,
            )
            count = 0
            for row in rows:
                count += 1
                yield IndexedKey(row[0], row[1], row[2], row[3], bool(row[4]))
                cursor = (row[0], row[1])
            if batch is None or count < batch:
                return

    def count_keys(
        self, service: str, kind: KeyKind, errors_only: bool, start_ns: int | None, end_ns: int | None
    ) -> int:
        """How many root or workflow spans of `service` start in [start, end] in the indexed files
        (a file's counts cover all its rows; a time range needs the keys)."""
        clauses, params = self._key_filter(service, kind, errors_only, start_ns, end_ns)
        row = (
            self._conn()
            .execute(
                f"SELECT COUNT(*) FROM key_spans k WHERE {' AND '.join(clauses)}",  # fixed clause texts
                params,
            )
            .fetchone()
        )
        return int(row[0]) if row else 0

    def _key_filter(
        self, service: str, kind: KeyKind, errors_only: bool, start_ns: int | None, end_ns: int | None
    ) -> tuple[list[str], list[object]]:
        clauses = ["k.service_name = ?", self._flag("k.is_root" if kind == "roots" else "k.is_workflow")]
        params: list[object] = [service]
        if errors_only:
            clauses.append(self._flag("k.is_error"))
        if start_ns is not None:
            clauses.append("k.start_ns >= ?")
            params.append(start_ns)
        if end_ns is not None:
            clauses.append("k.start_ns <= ?")
            params.append(end_ns)
        return clauses, params

    def executable_matches(
        self, namespace: str, service: str, executable_type: str, runtime_id: str
    ) -> list[tuple[str, str]]:
        """(trace id, span id) of every indexed owner span with this identity (distinct)."""
        rows = self._conn().execute(
            "SELECT DISTINCT trace_id, span_id FROM executables WHERE service_name = ? AND runtime_id = ?"
            " AND executable_type = ? AND service_namespace = ? LIMIT 100",
            (service, runtime_id, executable_type, namespace),
        )
        return [(r[0], r[1]) for r in rows]

    def agent_executions(self, query: AgentQuery, limit: int | None) -> Iterator[dict[str, Any]]:
        """Indexed Agent runs matching `query`, newest first by (start, span id), lazily."""
        where, params = _agent_where(query, self.database_url is not None)
        sql = (
            f"SELECT summary, start_ns FROM agent_executions WHERE {where}"  # clauses from fixed texts
            " ORDER BY start_ns DESC, span_id DESC"
        )
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        for summary, start_ns in self._conn().execute(sql, params):
            run = orjson.loads(summary)
            run["start_time_ns"] = start_ns
            yield run

    def count_agent_executions(self, query: AgentQuery) -> int:
        where, params = _agent_where(replace(query, cursor=None), self.database_url is not None)
        return int(
            self._conn().execute(f"SELECT count(*) FROM agent_executions WHERE {where}", params).fetchone()[0]
        )

    def agent_execution(self, trace_id: str, span_id: str) -> dict[str, Any] | None:
        row = (
            self._conn()
            .execute(
                "SELECT summary, start_ns FROM agent_executions WHERE trace_id = ? AND span_id = ? LIMIT 1",
                (trace_id, span_id),
            )
            .fetchone()
        )
        if row is None:
            return None
        run = orjson.loads(row[0])
        run["start_time_ns"] = row[1]
        return run

    def rollup_points(
        self, width_ns: int, first_ns: int, step_ns: int, end_ns: int, service: str | None
    ) -> list[tuple[Any, ...]]:
        """Rollups of this width with a bucket start in [first, end), summed per service and chart
        point (`step` wide from `first`): (service, point start, *COUNTERS, cost, latency texts
        joined by commas: the caller adds up the histogram's repeated buckets)."""
        sums = ", ".join(f"sum({c})" for c in COUNTERS)
        concat = "group_concat(latency, ',')" if self.database_url is None else "string_agg(latency, ',')"
        sql = (
            f"SELECT service_name, ? + (bucket_ns - ?) / ? * ? AS point, {sums}, sum(cost_usd),"
            f" {concat} FROM rollups"  # columns and functions from fixed texts
            " WHERE width_ns = ? AND bucket_ns >= ? AND bucket_ns < ?"
        )
        params: list[object] = [first_ns, first_ns, step_ns, step_ns, width_ns, first_ns, end_ns]
        if service is not None:
            sql += " AND service_name = ?"
            params.append(service)
        sql += " GROUP BY service_name, point"
        return self._conn().execute(sql, params).fetchall()

    def llm_trace_ids_for_service(self, service: str) -> list[str]:
        rows = self._conn().execute(
            "SELECT DISTINCT trace_id FROM llm_traces WHERE service_name = ?", (service,)
        )
        return [r[0] for r in rows]

    def llm_trace_subset(self, service: str, trace_ids: Iterable[str]) -> set[str]:
        """Those of `trace_ids` with an LLM span of `service` in an indexed file."""
        return _first_column_in(
            self._conn(),
            "SELECT trace_id FROM llm_traces WHERE service_name = ? AND trace_id IN ({marks})",
            trace_ids,
            service,
        )

    def files_with_traces(self, trace_ids: Iterable[str]) -> set[str]:
        """Paths of the indexed files holding a span of any of `trace_ids`."""
        return _first_column_in(
            self._conn(),
            "SELECT DISTINCT p.file_path FROM trace_files t JOIN parquet_files p USING (file_id)"
            " WHERE t.trace_id IN ({marks})",
            trace_ids,
        )

    def llm_trace_counts(self, service: str) -> dict[str, int]:
        """file path → LLM traces of `service` in it (sizes the has_llm listing's file chunks)."""
        rows = self._conn().execute(
            "SELECT p.file_path, count(*) FROM llm_traces l JOIN parquet_files p USING (file_id)"
            " WHERE l.service_name = ? GROUP BY p.file_path",
            (service,),
        )
        return dict(rows.fetchall())

    def indexed_subset(self, paths: Iterable[str]) -> set[str]:
        return _first_column_in(
            self._conn(), "SELECT file_path FROM parquet_files WHERE file_path IN ({marks})", paths
        )

    def stats(self) -> dict[str, int]:
        conn = self._conn()
        files, rows, size = conn.execute(
            "SELECT count(*), coalesce(sum(row_count), 0), coalesce(sum(size_bytes), 0) FROM parquet_files"
        ).fetchone()
        failed = conn.execute("SELECT count(*) FROM failed_files").fetchone()[0]
        return {"files": int(files), "spans": int(rows), "bytes": int(size), "failed_files": int(failed)}

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


@dataclass(frozen=True)
class AgentQuery:
    """Filters of the Agent execution list (exact matches; `name` is a case-insensitive substring)."""

    service_namespace: str | None = None
    service_name: str | None = None
    service_version: str | None = None
    agent_key: str | None = None
    structural_id: str | None = None
    outcome: str | None = None
    errors_only: bool = False
    start_ns: int | None = None
    end_ns: int | None = None
    name: str | None = None
    cursor: tuple[int, str] | None = None

    def matches(self, run: dict[str, Any]) -> bool:
        """The same filters (not the cursor) over a run summary of a tier the index has not seen."""
        service = run["service"]
        exact = (
            (self.service_namespace, service["namespace"]),
            (self.service_name, service["name"]),
            (self.service_version, service["version"]),
            (self.agent_key, run["agent_key"]),
            (self.structural_id, run["structural_id"]),
            (self.outcome, run["outcome"]),
        )
        if any(wanted is not None and wanted != value for wanted, value in exact):
            return False
        start, end = run["start_time_ns"], run["end_time_ns"]
        if self.errors_only and not (run["is_error"] or run["outcome"] == "failed"):
            return False
        if (self.start_ns is not None and start < self.start_ns) or (
            self.end_ns is not None and end > self.end_ns
        ):
            return False
        return not self.name or self.name.casefold() in f"{run['agent_name']} {run['agent_key']}".casefold()


def agent_row(run: dict[str, Any]) -> tuple[Any, ...]:
    """A run summary (backend.agents.telemetry.owner_summary) -> the agent_executions columns."""
    service = run["service"]
    tokens = run["usage"]["fields"].get("totalTokens")
    return (
        run["trace_id"],
        run["agent_span_id"],
        service["namespace"],
        service["name"],
        service["version"],
        run["agent_key"],
        run["agent_name"],
        run["structural_id"],
        run["outcome"],
        run["termination_reason"],
        int(run["is_error"] or run["outcome"] == "failed"),
        run["start_time_ns"],
        run["end_time_ns"],
        run["counts"]["model_requests"],
        run["counts"]["tool_calls"]["requested"],
        tokens["sum"] if tokens else None,
        orjson.dumps({k: v for k, v in run.items() if k != "start_time_ns"}).decode(),
    )


def _agent_where(q: AgentQuery, postgres: bool) -> tuple[str, list[object]]:
    clauses, params = ["1 = 1"], list[object]()
    for column, value in (
        ("service_namespace", q.service_namespace),
        ("service_name", q.service_name),
        ("service_version", q.service_version),
        ("agent_key", q.agent_key),
        ("structural_id", q.structural_id),
        ("outcome", q.outcome),
    ):
        if value is not None:
            clauses.append(f"{column} = ?")  # column names from the fixed list above
            params.append(value)
    if q.errors_only:
        clauses.append("is_error <> 0" if postgres else "is_error")
    if q.start_ns is not None:
        clauses.append("start_ns >= ?")
        params.append(q.start_ns)
    if q.end_ns is not None:
        clauses.append("end_ns <= ?")
        params.append(q.end_ns)
    if q.name:
        contains = "strpos(lower({}), ?) > 0" if postgres else "instr(lower({}), ?)"
        clauses.append(f"({contains.format('agent_name')} OR {contains.format('agent_key')})")
        params.extend((q.name.lower(), q.name.lower()))
    if q.cursor is not None:
        clauses.append("start_ns <= ? AND (start_ns < ? OR span_id < ?)")
        params.extend((q.cursor[0], q.cursor[0], q.cursor[1]))
    return " AND ".join(clauses), params


def _first_column_in(conn: Connection, query: str, values: Iterable[str], *leading: object) -> set[str]:
    """The first column of `query` (one `IN ({marks})` list) over `values`, in chunks SQLite accepts."""
    wanted = list(dict.fromkeys(values))
    found: set[str] = set()
    for i in range(0, len(wanted), _SQLITE_MAX_PARAMS):
        chunk = wanted[i : i + _SQLITE_MAX_PARAMS]
        found.update(
            r[0] for r in conn.execute(query.format(marks=",".join("?" * len(chunk))), [*leading, *chunk])
        )
    return found
