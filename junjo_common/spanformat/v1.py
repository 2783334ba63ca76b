"""Span format v1: the reference's 21 columns, JSON text rules and Parquet options (docs/STORAGE.md).

One row per span. JSON columns are compact, object keys sorted, non-ASCII kept as UTF-8,
NaN/Infinity written as null and floats in shortest round-trip form (orjson, matching the
reference's serde_json output). Event `timeUnixNano` is a decimal string.
"""

from __future__ import annotations

from typing import Any

import orjson
import pyarrow as pa

FORMAT_VERSION = 1
FORMAT_METADATA_KEY = b"junjo.spanformat.version"

TIMESTAMP = pa.timestamp("ns", tz="UTC")

SCHEMA = pa.schema(
    [
        pa.field("span_id", pa.string(), nullable=False),
        pa.field("trace_id", pa.string(), nullable=False),
        pa.field("parent_span_id", pa.string(), nullable=True),
        pa.field("service_name", pa.string(), nullable=False),
        pa.field("name", pa.string(), nullable=False),
        pa.field("span_kind", pa.int8(), nullable=False),
        pa.field("start_time", TIMESTAMP, nullable=False),
        pa.field("end_time", TIMESTAMP, nullable=False),
        pa.field("duration_ns", pa.int64(), nullable=False),
        pa.field("status_code", pa.int8(), nullable=False),
        pa.field("status_message", pa.string(), nullable=True),
        pa.field("attributes", pa.string(), nullable=False),
        pa.field("events", pa.string(), nullable=False),
        pa.field("links", pa.string(), nullable=False),
        pa.field("trace_flags", pa.uint32(), nullable=False),
        pa.field("trace_state", pa.string(), nullable=True),
        pa.field("dropped_attributes_count", pa.uint32(), nullable=False),
        pa.field("dropped_events_count", pa.uint32(), nullable=False),
        pa.field("dropped_links_count", pa.uint32(), nullable=False),
        pa.field("resource_attributes", pa.string(), nullable=False),
        pa.field("resource_dropped_attributes_count", pa.uint32(), nullable=False),
    ],
    metadata={FORMAT_METADATA_KEY: str(FORMAT_VERSION).encode()},
)
COLUMNS: tuple[str, ...] = tuple(SCHEMA.names)
JSON_COLUMNS = ("attributes", "events", "links", "resource_attributes")

SPAN_KIND_NAMES = {0: "UNSPECIFIED", 1: "INTERNAL", 2: "SERVER", 3: "CLIENT", 4: "PRODUCER", 5: "CONSUMER"}
STATUS_UNSET, STATUS_OK, STATUS_ERROR = 0, 1, 2

_JSON_OPTIONS = orjson.OPT_SORT_KEYS


def dumps_json(value: Any) -> bytes:
    """Encodes one JSON column value by the v1 rules (UTF-8 bytes)."""
    return orjson.dumps(value, option=_JSON_OPTIONS)


# Parquet layout: a trace lookup reads only the row groups holding the trace because row groups are
# small, trace_id has a bloom filter and the query engine pushes filters down.
PARQUET_ROW_GROUP_SIZE = 4096
SORT_COLUMNS = (("service_name", "ascending"), ("start_time", "ascending"))
# Columns whose values are (nearly) all distinct are written without dictionary encoding: the
# writer would hash every value, fill a dictionary page and fall back to plain anyway (less write
# CPU and writer memory, same file size).
_NO_DICTIONARY = frozenset({"span_id", "attributes", "events", "start_time", "end_time", "duration_ns"})


def parquet_writer_options(expected_rows: int = 50_000) -> dict[str, Any]:
    """Keyword arguments for pyarrow.parquet.ParquetWriter shared by cold flush and hot snapshot."""
    return {
        "compression": "zstd",
        "compression_level": 1,
        "write_statistics": True,
        "write_page_index": True,
        "use_dictionary": [c for c in COLUMNS if c not in _NO_DICTIONARY],
        "bloom_filter_options": {"trace_id": {"ndv": max(1000, expected_rows), "fpp": 0.01}},
        "store_schema": True,
    }
