"""Writes real span Parquet files for query tests: the current format (the same schema and writer
options as ingestion), or an older one (`format_module`) to check that older files stay readable."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from backend.spans import engine
from backend.spans.preview import span_select
from junjo_common.spanformat import CURRENT, v1
from junjo_common.spanformat.v1 import dumps_json

BASE_NS = 1_790_000_000 * 10**9


def new_trace_id() -> str:
    return secrets.token_hex(16)


def new_span_id() -> str:
    return secrets.token_hex(8)


def span(
    trace_id: str,
    *,
    service: str = "svc",
    name: str = "op",
    start_ns: int = BASE_NS,
    duration_ns: int = 1_000_000,
    parent: str | None = None,
    span_id: str | None = None,
    status: int = 0,
    attributes: dict[str, Any] | None = None,
    events: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return {
        "span_id": span_id or new_span_id(),
        "trace_id": trace_id,
        "parent_span_id": parent,
        "service_name": service,
        "name": name,
        "span_kind": 1,
        "start_time": start_ns,
        "end_time": start_ns + duration_ns,
        "duration_ns": duration_ns,
        "status_code": status,
        "status_message": "failed" if status == 2 else None,
        "attributes": dumps_json(attributes or {}).decode(),
        "events": dumps_json(events or []).decode(),
        "links": "[]",
        "trace_flags": 1,
        "trace_state": None,
        "dropped_attributes_count": 0,
        "dropped_events_count": 0,
        "dropped_links_count": 0,
        "resource_attributes": dumps_json({"service.name": service}).decode(),
        "resource_dropped_attributes_count": 0,
    }


def write_span_file(path: Path, rows: list[dict[str, Any]], format_module: Any = CURRENT) -> Path:
    """Writes rows sorted by (service_name, start_time) via tmp + rename, like a cold flush."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = sorted(rows, key=lambda r: (r["service_name"], r["start_time"]))
    schema = format_module.SCHEMA
    columns = {name: [r[name] for r in rows] for name in schema.names}
    table = pa.Table.from_pydict(columns, schema=schema)
    tmp = path.with_name(path.name + ".tmp")
    with pq.ParquetWriter(tmp, schema, **format_module.parquet_writer_options(len(rows))) as writer:
        writer.write_table(table, row_group_size=4096)
    tmp.rename(path)
    return path


def cold_path(root: Path, name: str) -> Path:
    return root / "year=2026" / "month=11" / "day=26" / f"{name}.parquet"


def read_back(
    rows: list[dict[str, Any]], select: tuple[str, dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """Rows as the backend reads them: through DataFusion with `select`'s columns (by default
    `preview.span_select`, what `shape.span_to_api` takes), in the order given."""
    columns, params = select or span_select()
    table = pa.Table.from_pylist(rows, schema=v1.SCHEMA)
    skipped: list[engine.SkippedFile] = []
    source = engine.Source("rows", "hot", table=table)
    read = list(engine.stream_spans([source], "TRUE", params, skipped, columns))
    assert not skipped, skipped
    return read
