"""Comparing span tables by their values, whatever encoding holds the resource columns."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc


def decoded(table: pa.Table | pa.RecordBatch) -> pa.Table:
    """The rows with every dictionary or run-end encoded column decoded to plain strings (span
    format v1's types)."""
    if isinstance(table, pa.RecordBatch):
        table = pa.Table.from_batches([table])
    columns, fields = [], []
    for field, column in zip(table.schema, table.columns, strict=True):
        if pa.types.is_dictionary(field.type):
            column, field = (
                column.cast(field.type.value_type),
                pa.field(field.name, field.type.value_type, field.nullable),
            )
        elif pa.types.is_run_end_encoded(field.type):
            column = pa.chunked_array([pc.run_end_decode(c) for c in column.chunks], field.type.value_type)
            field = pa.field(field.name, field.type.value_type, field.nullable)
        columns.append(column)
        fields.append(field)
    return pa.Table.from_arrays(columns, schema=pa.schema(fields, metadata=table.schema.metadata))
