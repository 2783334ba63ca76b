"""Span format v2: v1's 21 columns and JSON rules, with each resource stored once per batch.

What changed from v1: all spans of one OTLP resource share its `service_name` and
`resource_attributes`, and v1 repeated them in every row, which let a small request ask for
terabytes (a 10 MiB resource attribute with 150,000 tiny spans). v2 stores them once:
- in Parquet files (`SCHEMA`) as dictionary<int32, string> columns: each row group carries one
  dictionary page with the values it uses, plus a small index per row;
- in record batches in memory and in the WAL (`BATCH_SCHEMA`) as run-end encoded columns: a
  batch holds one resource, so its value appears once with the batch's row count (and, unlike
  dictionaries, needs no separate IPC messages).
Reading v1 files: the values are the same, those two columns are plain strings there.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from junjo_common.spanformat import v1
from junjo_common.spanformat.v1 import (
    FORMAT_METADATA_KEY,
    JSON_COLUMNS,
    PARQUET_ROW_GROUP_SIZE,
    SORT_COLUMNS,
    SPAN_KIND_NAMES,
    STATUS_ERROR,
    STATUS_OK,
    STATUS_UNSET,
    TIMESTAMP,
    dumps_json,
)

FORMAT_VERSION = 2
DICTIONARY = pa.dictionary(pa.int32(), pa.string())
RUN_END_ENCODED = pa.run_end_encoded(pa.int32(), pa.string())
DICTIONARY_COLUMNS = ("service_name", "resource_attributes")


def _schema(resource_type: pa.DataType) -> pa.Schema:
    return pa.schema(
        [
            pa.field(f.name, resource_type, nullable=False) if f.name in DICTIONARY_COLUMNS else f
            for f in v1.SCHEMA
        ],
        metadata={FORMAT_METADATA_KEY: str(FORMAT_VERSION).encode()},
    )


SCHEMA = _schema(DICTIONARY)  # Parquet files
BATCH_SCHEMA = _schema(RUN_END_ENCODED)  # record batches in memory and in WAL segments
COLUMNS: tuple[str, ...] = tuple(SCHEMA.names)


def parquet_writer_options(expected_rows: int = 50_000) -> dict[str, Any]:
    """v1's writer options, without min/max statistics for the resource JSON: nothing filters on
    it, and the writer would copy each (possibly megabytes long) value to compare it."""
    options = v1.parquet_writer_options(expected_rows)
    options["write_statistics"] = [c for c in COLUMNS if c != "resource_attributes"]
    return options


def repeated(value: str | bytes, rows: int) -> pa.RunEndEncodedArray:
    """One value (text, or its UTF-8 bytes) for `rows` (> 0) rows, stored once: how a batch holds
    its resource's columns."""
    run_ends, values = pa.array([rows], pa.int32()), pa.array([value], pa.string())
    return pa.Array.from_buffers(RUN_END_ENCODED, rows, [None], children=[run_ends, values])


def upgrade(batch: pa.RecordBatch) -> pa.RecordBatch:
    """A batch of an older format (a v1 WAL segment) as a v2 batch; v2 batches pass unchanged."""
    if batch.schema.equals(BATCH_SCHEMA, check_metadata=False):
        return batch
    columns = [
        pc.run_end_encode(batch.column(f.name), run_end_type=pa.int32())
        if f.name in DICTIONARY_COLUMNS
        else batch.column(f.name)
        for f in BATCH_SCHEMA
    ]
    return pa.RecordBatch.from_arrays(columns, schema=BATCH_SCHEMA)


__all__ = [
    "BATCH_SCHEMA",
    "COLUMNS",
    "DICTIONARY",
    "DICTIONARY_COLUMNS",
    "FORMAT_METADATA_KEY",
    "FORMAT_VERSION",
    "JSON_COLUMNS",
    "PARQUET_ROW_GROUP_SIZE",
    "RUN_END_ENCODED",
    "SCHEMA",
    "SORT_COLUMNS",
    "SPAN_KIND_NAMES",
    "STATUS_ERROR",
    "STATUS_OK",
    "STATUS_UNSET",
    "TIMESTAMP",
    "dumps_json",
    "parquet_writer_options",
    "repeated",
    "upgrade",
]
