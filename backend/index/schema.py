"""metadata.db: the Parquet file index, its versioned schema and connection settings.

The index lets the query layer open only the files a query needs: `trace_files` for one trace,
per-service time ranges and counts (`file_services`) for newest-first listings, `llm_traces` for
the LLM filter, the sort keys of every root and workflow span (`key_spans`), so the newest
root/workflow page is chosen here and only its rows are read from Parquet, and the Junjo
executables (`executables` for execution resolution, `agent_executions` for the Agent list, which
is answered from the index alone), the values of the most searched attributes
(`attribute_values`) and a membership filter over every attribute's values (`attribute_filters`)
for span search, and the per-service time-bucket `rollups` the service
overview charts (backend.overview.rollups). The schema is
versioned with `PRAGMA user_version` and upgraded by ordered migrations at open, like the app
DB's Alembic revisions but without a dependency for a handful of tables.
Times are int64 nanoseconds (the span format's own unit), so comparisons need no parsing.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

MIGRATIONS: tuple[str, ...] = (
    # 1: initial schema
    """
    CREATE TABLE parquet_files (
        file_id INTEGER PRIMARY KEY AUTOINCREMENT,
        file_path TEXT NOT NULL UNIQUE,
        min_start_ns INTEGER NOT NULL,
        max_start_ns INTEGER NOT NULL,
        max_end_ns INTEGER NOT NULL,
        row_count INTEGER NOT NULL,
        size_bytes INTEGER NOT NULL,
        indexed_at TEXT NOT NULL DEFAULT (datetime('now'))
    );
    CREATE INDEX idx_parquet_files_end ON parquet_files (max_end_ns);
    CREATE TABLE file_services (
        file_id INTEGER NOT NULL REFERENCES parquet_files (file_id) ON DELETE CASCADE,
        service_name TEXT NOT NULL,
        span_count INTEGER NOT NULL,
        root_count INTEGER NOT NULL,
        workflow_count INTEGER NOT NULL,
        error_count INTEGER NOT NULL,
        root_error_count INTEGER NOT NULL,
        workflow_error_count INTEGER NOT NULL,
        min_start_ns INTEGER NOT NULL,
        max_start_ns INTEGER NOT NULL,
        PRIMARY KEY (file_id, service_name)
    ) WITHOUT ROWID;
    CREATE INDEX idx_file_services_service ON file_services (service_name, max_start_ns);
    CREATE TABLE trace_files (
        trace_id TEXT NOT NULL,
        file_id INTEGER NOT NULL REFERENCES parquet_files (file_id) ON DELETE CASCADE,
        PRIMARY KEY (trace_id, file_id)
    ) WITHOUT ROWID;
    CREATE INDEX idx_trace_files_file ON trace_files (file_id);
    CREATE TABLE llm_traces (
        service_name TEXT NOT NULL,
        trace_id TEXT NOT NULL,
        file_id INTEGER NOT NULL REFERENCES parquet_files (file_id) ON DELETE CASCADE,
        PRIMARY KEY (service_name, trace_id, file_id)
    ) WITHOUT ROWID;
    CREATE INDEX idx_llm_traces_file ON llm_traces (file_id);
    CREATE TABLE failed_files (
        file_path TEXT PRIMARY KEY,
        error TEXT NOT NULL,
        size_bytes INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        failures INTEGER NOT NULL,
        next_retry_at REAL NOT NULL,
        failed_at TEXT NOT NULL DEFAULT (datetime('now'))
    );
    """,
    # 2: the listing keys of root and workflow spans, so a newest-first page knows which rows of
    # which files it needs before reading any. Files indexed before this have keys_indexed = 0
    # and are summarised again by the indexer (listings fall back to the file walk until then).
    """
    CREATE TABLE key_spans (
        file_id INTEGER NOT NULL REFERENCES parquet_files (file_id) ON DELETE CASCADE,
        service_name TEXT NOT NULL,
        start_ns INTEGER NOT NULL,
        span_id TEXT NOT NULL,
        trace_id TEXT NOT NULL,
        is_root INTEGER NOT NULL,
        is_workflow INTEGER NOT NULL,
        is_error INTEGER NOT NULL
    );
    CREATE INDEX idx_key_spans_roots ON key_spans (service_name, start_ns, span_id) WHERE is_root;
    CREATE INDEX idx_key_spans_workflows ON key_spans (service_name, start_ns, span_id) WHERE is_workflow;
    CREATE INDEX idx_key_spans_file ON key_spans (file_id);
    ALTER TABLE parquet_files ADD COLUMN keys_indexed INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX idx_parquet_files_without_keys ON parquet_files (file_id) WHERE keys_indexed = 0;
    """,
    # 3: Junjo executables. `executables` resolves (service, type, runtime id) to its owner span;
    # `agent_executions` is one row per Agent run with what its list and filters show. Every file
    # indexed before is summarised again (keys_indexed = 0) so older runs are listed too.
    """
    CREATE TABLE executables (
        file_id INTEGER NOT NULL REFERENCES parquet_files (file_id) ON DELETE CASCADE,
        service_namespace TEXT NOT NULL,
        service_name TEXT NOT NULL,
        executable_type TEXT NOT NULL,
        runtime_id TEXT NOT NULL,
        trace_id TEXT NOT NULL,
        span_id TEXT NOT NULL,
        start_ns INTEGER NOT NULL
    );
    CREATE INDEX idx_executables_identity ON executables (service_name, runtime_id, executable_type);
    CREATE INDEX idx_executables_file ON executables (file_id);
    CREATE TABLE agent_executions (
        file_id INTEGER NOT NULL REFERENCES parquet_files (file_id) ON DELETE CASCADE,
        trace_id TEXT NOT NULL,
        span_id TEXT NOT NULL,
        service_namespace TEXT NOT NULL,
        service_name TEXT NOT NULL,
        service_version TEXT,
        agent_key TEXT NOT NULL,
        agent_name TEXT NOT NULL,
        structural_id TEXT,
        outcome TEXT,
        termination_reason TEXT,
        is_error INTEGER NOT NULL,
        start_ns INTEGER NOT NULL,
        end_ns INTEGER NOT NULL,
        model_request_count INTEGER,
        tool_call_count INTEGER,
        total_tokens INTEGER,
        summary TEXT NOT NULL
    );
    CREATE INDEX idx_agent_executions_start ON agent_executions (start_ns, span_id);
    CREATE INDEX idx_agent_executions_service ON agent_executions (service_name, start_ns, span_id);
    CREATE INDEX idx_agent_executions_key ON agent_executions (agent_key, start_ns, span_id);
    CREATE INDEX idx_agent_executions_file ON agent_executions (file_id);
    CREATE INDEX idx_agent_executions_trace ON agent_executions (trace_id, span_id);
    UPDATE parquet_files SET keys_indexed = 0;
    """,
    # 4: the Agent list's counts read one covering index instead of every row (rows carry the
    # run summary JSON, so a count over the table read ~1 KB per run).
    """
    CREATE INDEX idx_agent_executions_filters ON agent_executions (
        service_name, agent_key, outcome, is_error, start_ns, end_ns,
        service_namespace, service_version, structural_id, agent_name
    );
    """,
    # 5: values of the most searched attributes per file (backend.search.compile.INDEXED_ATTRIBUTES),
    # so an equality search opens only the files holding the value. A key with too many or too
    # long values in a file is recorded in `attribute_overflow` instead: that file is always read.
    # Every file indexed before is summarised again (keys_indexed = 0) to fill them.
    """
    CREATE TABLE attribute_values (
        attribute TEXT NOT NULL,
        value TEXT NOT NULL,
        file_id INTEGER NOT NULL REFERENCES parquet_files (file_id) ON DELETE CASCADE,
        PRIMARY KEY (attribute, value, file_id)
    ) WITHOUT ROWID;
    CREATE INDEX idx_attribute_values_file ON attribute_values (file_id);
    CREATE TABLE attribute_overflow (
        file_id INTEGER NOT NULL REFERENCES parquet_files (file_id) ON DELETE CASCADE,
        attribute TEXT NOT NULL,
        PRIMARY KEY (file_id, attribute)
    ) WITHOUT ROWID;
    UPDATE parquet_files SET keys_indexed = 0;
    """,
    # 6: the indexing lease. Backends sharing one index (PostgreSQL) index in turn: the one whose
    # row is unexpired runs the pass and renews it per file; the others wait for it to expire.
    """
    CREATE TABLE index_lease (
        name TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        expires_at REAL NOT NULL
    );
    """,
    # 7: per-service rollups by minute and by hour (`width_ns`); the latency histogram is text
    # `bucket:count,...`. Every file indexed before is summarised again to get its rollups.
    """
    CREATE TABLE rollups (
        file_id INTEGER NOT NULL REFERENCES parquet_files (file_id) ON DELETE CASCADE,
        width_ns INTEGER NOT NULL,
        service_name TEXT NOT NULL,
        bucket_ns INTEGER NOT NULL,
        spans INTEGER NOT NULL,
        errors INTEGER NOT NULL,
        traces INTEGER NOT NULL,
        trace_errors INTEGER NOT NULL,
        workflows INTEGER NOT NULL,
        workflow_failures INTEGER NOT NULL,
        agents INTEGER NOT NULL,
        agent_failures INTEGER NOT NULL,
        llm_calls INTEGER NOT NULL,
        input_tokens INTEGER NOT NULL,
        output_tokens INTEGER NOT NULL,
        unpriced_calls INTEGER NOT NULL,
        flagged_calls INTEGER NOT NULL,
        cost_usd REAL NOT NULL,
        latency TEXT NOT NULL
    );
    CREATE INDEX idx_rollups_range ON rollups (width_ns, bucket_ns, service_name);
    CREATE INDEX idx_rollups_file ON rollups (file_id);
    UPDATE parquet_files SET keys_indexed = 0;
    """,
    # 8: a membership filter per file over its attribute (key, value) pairs
    # (backend.index.attribute_filter), in pages, so an equality search on any attribute skips the
    # files that cannot hold the pair. A file without a row here is always read. Every file indexed
    # before is summarised again to get its filter.
    """
    CREATE TABLE attribute_filters (
        file_id INTEGER PRIMARY KEY REFERENCES parquet_files (file_id) ON DELETE CASCADE,
        blocks INTEGER NOT NULL
    );
    CREATE TABLE attribute_filter_pages (
        file_id INTEGER NOT NULL REFERENCES parquet_files (file_id) ON DELETE CASCADE,
        page INTEGER NOT NULL,
        bits BLOB NOT NULL,
        PRIMARY KEY (file_id, page)
    ) WITHOUT ROWID;
    UPDATE parquet_files SET keys_indexed = 0;
    """,
    # 9: an LLM span below a Junjo model request is that request's call, counted once: files whose
    # rollups count LLM calls are summarised again.
    """
    UPDATE parquet_files SET keys_indexed = 0
    WHERE file_id IN (SELECT file_id FROM rollups WHERE llm_calls > 0);
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


def connect(path: Path) -> sqlite3.Connection:
    """A connection with the index's pragmas; the caller owns (and closes) it."""
    conn = sqlite3.connect(path, timeout=10.0, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=10000")
    conn.execute("PRAGMA temp_store=MEMORY")
    conn.execute("PRAGMA cache_size=-8000")
    return conn


def migrate(path: Path) -> int:
    """Creates or upgrades the schema; returns the version. Refuses a newer schema than known."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = connect(path)
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise RuntimeError(
                f"{path} has index schema version {version}, newer than this backend ({SCHEMA_VERSION})"
            )
        for number in range(version, SCHEMA_VERSION):
            conn.execute("BEGIN IMMEDIATE")
            try:
                for statement in MIGRATIONS[number].split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version={number + 1}")
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return SCHEMA_VERSION
    finally:
        conn.close()
