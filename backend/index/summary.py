"""One Parquet file → the facts the index keeps about it (time ranges, counts, trace ids, flags,
the sort keys of its root and workflow spans, its Junjo executables and Agent runs).

Reads only the few columns it needs, batch by batch, with vectorised Arrow compute, so memory
stays bounded by one batch whatever the file size. The sender controls the attribute and resource
text that decides a batch's size (and Parquet compresses repetitive text so well that the file size
says nothing about it): a row group whose decoded text exceeds `_LARGE_ROW_GROUP_BYTES` (from its
metadata) is read `_SMALL_BATCH_ROWS` rows at a time. Raises `UnreadableFile` for anything that is
not a readable span file (corrupt, empty, wrong schema): the indexer records and retries those.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from backend.agents.telemetry import EXECUTABLE_TYPES, owner_summary, service_identity, text
from backend.overview import rollups as overview
from backend.overview.usage import llm_usage
from backend.search.attributes import INDEXED_ATTRIBUTES, MAX_VALUE_CHARS, MAX_VALUES_PER_FILE, canonical
from junjo_common import spanformat
from junjo_common.spanformat.v1 import STATUS_ERROR

COLUMNS = (
    "span_id",
    "trace_id",
    "parent_span_id",
    "service_name",
    "start_time",
    "end_time",
    "status_code",
    "attributes",
    "name",
    "resource_attributes",
)
WORKFLOW_MARK = '"junjo.span_type":"workflow"'
# The same text as an RE2 pattern: Arrow's regex kernel scans faster than its substring one.
_WORKFLOW_PATTERN = r'"junjo\.span_type":"workflow"'
# LLM trace rule (junjo-telemetry §5): openinference LLM kind, or a non-empty gen_ai provider/operation.
# Junjo Agent model requests are LLM calls too.
LLM_PATTERN = (
    r'"openinference\.span\.kind":"LLM"|"gen_ai\.(provider|operation)\.name":"[^"]'
    r'|"junjo\.agent\.operation_type":"model_request"'
)
# Spans whose tokens the overview counts: LLM calls, and gen_ai spans that name only the older
# `gen_ai.system`.
USAGE_PATTERN = LLM_PATTERN + r'|"gen_ai\.system":"[^"]'
EXECUTABLE_PATTERN = r'"junjo\.span_type":"(agent|workflow|subflow)"'
# Where an indexed attribute sits in compact JSON, and its scalar value (a string, number or
# boolean). Patterns that begin with the quoted key let RE2 skip to it by its literal prefix.
_ATTRIBUTE_KEYS = {key: '"' + key.replace(".", r"\.") + '":' for key in INDEXED_ATTRIBUTES}
_ATTRIBUTE_VALUE = r'(?P<v>"(?:[^"\\]|\\.)*"|-?[0-9][0-9.eE+-]*|true|false)[,}]'
_BATCH_ROWS = 2048  # bounds the attributes text held at once (~2 KB/span)
_LARGE_ROW_GROUP_BYTES = 32 * 1024 * 1024
_SMALL_BATCH_ROWS = 4


class UnreadableFile(Exception):
    """The file cannot be indexed; the message says why."""


@dataclass
class ServiceStats:
    span_count: int = 0
    root_count: int = 0
    workflow_count: int = 0
    error_count: int = 0
    root_error_count: int = 0
    workflow_error_count: int = 0
    min_start_ns: int = 2**63 - 1
    max_start_ns: int = -(2**63)


class KeySpan(NamedTuple):
    """The sort key of a root or workflow span: what a newest-first listing page is chosen by."""

    service_name: str
    start_ns: int
    span_id: str
    trace_id: str
    is_root: bool
    is_workflow: bool
    is_error: bool


class ExecutableKey(NamedTuple):
    """A Junjo Workflow/Subflow/Agent owner span: what execution resolution looks up."""

    service_namespace: str
    service_name: str
    executable_type: str
    runtime_id: str
    trace_id: str
    span_id: str
    start_ns: int


@dataclass
class FileSummary:
    path: str
    size_bytes: int
    row_count: int = 0
    min_start_ns: int = 2**63 - 1
    max_start_ns: int = -(2**63)
    max_end_ns: int = -(2**63)
    services: dict[str, ServiceStats] = field(default_factory=dict)
    trace_ids: set[str] = field(default_factory=set)
    llm_traces: set[tuple[str, str]] = field(default_factory=set)
    key_spans: list[KeySpan] = field(default_factory=list)
    executables: list[ExecutableKey] = field(default_factory=list)
    agent_runs: list[dict[str, Any]] = field(default_factory=list)
    attribute_values: dict[str, set[str]] = field(default_factory=dict)  # INDEXED_ATTRIBUTES' values
    attribute_overflow: set[str] = field(default_factory=set)  # too many/long values: always read
    rollups: overview.Rollups = field(default_factory=dict)


def _count(mask: pa.Array) -> int:
    return int(pc.sum(pc.cast(mask, pa.int64())).as_py() or 0)


def _add_batch(summary: FileSummary, batch: pa.RecordBatch) -> None:
    start = pc.cast(batch.column("start_time"), pa.int64())
    end = pc.cast(batch.column("end_time"), pa.int64())
    parent = batch.column("parent_span_id")
    attrs = batch.column("attributes")
    services = batch.column("service_name")
    is_root = pc.fill_null(pc.or_kleene(pc.is_null(parent), pc.equal(parent, "")), True)
    is_wf = pc.fill_null(pc.match_substring_regex(attrs, _WORKFLOW_PATTERN), False)
    is_err = pc.fill_null(pc.equal(batch.column("status_code"), STATUS_ERROR), False)
    is_llm = pc.fill_null(pc.match_substring_regex(attrs, LLM_PATTERN), False)
    summary.row_count += batch.num_rows
    summary.min_start_ns = min(summary.min_start_ns, pc.min(start).as_py())
    summary.max_start_ns = max(summary.max_start_ns, pc.max(start).as_py())
    summary.max_end_ns = max(summary.max_end_ns, pc.max(end).as_py())
    summary.trace_ids.update(pc.unique(batch.column("trace_id")).to_pylist())

    for service in pc.unique(services).to_pylist():
        sel = pc.equal(services, service)
        s_start = pc.filter(start, sel)
        root, wf, err = pc.filter(is_root, sel), pc.filter(is_wf, sel), pc.filter(is_err, sel)
        stats = summary.services.setdefault(service, ServiceStats())
        stats.span_count += len(s_start)
        stats.root_count += _count(root)
        stats.workflow_count += _count(wf)
        stats.error_count += _count(err)
        stats.root_error_count += _count(pc.and_(root, err))
        stats.workflow_error_count += _count(pc.and_(wf, err))
        stats.min_start_ns = min(stats.min_start_ns, pc.min(s_start).as_py())
        stats.max_start_ns = max(stats.max_start_ns, pc.max(s_start).as_py())

    is_key = pc.or_(is_root, is_wf)
    if pc.any(is_key).as_py():
        columns = (services, start, batch.column("span_id"), batch.column("trace_id"), is_root, is_wf, is_err)
        picked = [pc.filter(c, is_key).to_pylist() for c in columns]
        summary.key_spans.extend(map(KeySpan._make, zip(*picked, strict=True)))

    is_exec = pc.fill_null(pc.match_substring_regex(attrs, EXECUTABLE_PATTERN), False)
    if pc.any(is_exec).as_py():
        names = ("trace_id", "span_id", "service_name", "name", "attributes", "resource_attributes")
        executables = {n: pc.filter(batch.column(n), is_exec).to_pylist() for n in names}
        executables["start"] = pc.filter(start, is_exec).to_pylist()
        executables["end"] = pc.filter(end, is_exec).to_pylist()
        executables["error"] = pc.filter(is_err, is_exec).to_pylist()
        for i in range(len(executables["span_id"])):
            _add_executable(summary, {n: values[i] for n, values in executables.items()})

    _add_attribute_values(summary, attrs)

    if pc.any(is_llm).as_py():
        llm_services = pc.filter(services, is_llm).to_pylist()
        llm_ids = pc.filter(batch.column("trace_id"), is_llm).to_pylist()
        summary.llm_traces.update(zip(llm_services, llm_ids, strict=True))

    add_rollups(summary, services, start, end, is_root, is_wf, is_err, attrs)


def add_rollups(
    summary: FileSummary,
    services: pa.Array,
    start: pa.Array,
    end: pa.Array,
    is_root: pa.Array,
    is_wf: pa.Array,
    is_err: pa.Array,
    attrs: pa.Array,
) -> None:
    """The overview's counts of one batch: spans, roots, errors, latency, and each LLM call's usage."""
    overview.add_batch(summary.rollups, services, start, end, is_root, is_wf, is_err)
    is_usage = pc.fill_null(pc.match_substring_regex(attrs, USAGE_PATTERN), False)
    if pc.any(is_usage).as_py():
        calls = (pc.filter(c, is_usage).to_pylist() for c in (services, start, attrs))
        for service, start_ns, text_attrs in zip(*calls, strict=True):
            usage = llm_usage(_json_object(text_attrs), start_ns)
            if usage is not None:
                overview.add_llm_call(summary.rollups, service, start_ns, usage)


def _add_attribute_values(summary: FileSummary, attrs: pa.Array) -> None:
    """Records the values of the indexed attributes in this batch.

    A span holding the key more than once (a map value with the same key, a key that ends in it)
    could hide a value behind the first occurrence, which is all a regex extract returns: such a
    key is marked overflowing for the file, which is then always read for it.
    """
    for key, quoted in _ATTRIBUTE_KEYS.items():
        if key in summary.attribute_overflow:
            continue
        counts = pc.fill_null(pc.count_substring_regex(attrs, quoted), 0)
        if pc.any(pc.greater(counts, 1)).as_py():
            _overflow(summary, key)
            continue
        present = _count(pc.equal(counts, 1))
        if not present:
            continue
        holding = attrs if present == len(attrs) else pc.filter(attrs, pc.equal(counts, 1))
        matches = pc.extract_regex(holding, quoted + _ATTRIBUTE_VALUE)
        found = pc.filter(matches.field("v"), pc.is_valid(matches))
        values = summary.attribute_values.setdefault(key, set())
        for raw in pc.unique(found).to_pylist():
            try:
                value = orjson.loads(raw)
            except orjson.JSONDecodeError:
                continue
            text = canonical(value)
            if len(text) > MAX_VALUE_CHARS or len(values) >= MAX_VALUES_PER_FILE:
                _overflow(summary, key)
                break
            values.add(text)
        if not values:
            summary.attribute_values.pop(key, None)


def _overflow(summary: FileSummary, key: str) -> None:
    summary.attribute_overflow.add(key)
    summary.attribute_values.pop(key, None)


def _json_object(value: Any) -> dict[str, Any]:
    try:
        parsed = orjson.loads(value) if isinstance(value, str) else None
    except orjson.JSONDecodeError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _add_executable(summary: FileSummary, row: dict[str, Any]) -> None:
    """One owner span (the regex only preselects: the parsed attributes decide)."""
    attrs = _json_object(row["attributes"])
    kind = attrs.get("junjo.span_type")
    runtime_id = text(attrs, "junjo.executable_runtime_id", 256)
    if kind not in EXECUTABLE_TYPES:
        return
    resource = _json_object(row["resource_attributes"])
    service = service_identity(resource, row["service_name"])
    if runtime_id is not None:
        summary.executables.append(
            ExecutableKey(
                service["namespace"],
                row["service_name"],
                kind,
                runtime_id,
                row["trace_id"],
                row["span_id"],
                row["start"],
            )
        )
    if kind == "agent":
        run = owner_summary(
            attrs,
            resource,
            trace_id=row["trace_id"],
            span_id=row["span_id"],
            service_name=row["service_name"],
            name=row["name"] or "",
            start_ns=row["start"],
            end_ns=row["end"],
            status_error=bool(row["error"]),
        )
        summary.agent_runs.append(run)
        failed = run["is_error"] or run["outcome"] == "failed"
        overview.add_agent_run(summary.rollups, row["service_name"], row["start"], failed)


def summarize(path: Path | str, source: Any = None, size: int | None = None) -> FileSummary:
    """Reads the file `path` names and returns its summary; raises UnreadableFile when it is not
    a span file. `source` (with its `size`) is what to read instead of the path: an object in a
    bucket, read with range requests."""
    try:
        size = Path(path).stat().st_size if size is None else size
        if size == 0:
            raise UnreadableFile("empty file (0 bytes)")
        # Resource JSON is repeated in every row of a batch and stored dictionary-encoded: read it
        # as a dictionary too, so it is decoded once per row group, not once per row.
        parquet = pq.ParquetFile(path if source is None else source, read_dictionary=["resource_attributes"])
        spanformat.format_of(str(path), parquet.schema_arrow.metadata)  # a version this build reads
        missing = [c for c in COLUMNS if c not in parquet.schema_arrow.names]
        if missing:
            raise UnreadableFile(f"not a span file: missing columns {missing}")
        summary = FileSummary(path=str(path), size_bytes=size)
        text_columns = [parquet.schema_arrow.names.index(c) for c in ("attributes", "resource_attributes")]
        for group in range(parquet.metadata.num_row_groups):
            meta = parquet.metadata.row_group(group)
            decoded = sum(meta.column(i).total_uncompressed_size for i in text_columns)
            rows = _SMALL_BATCH_ROWS if decoded > _LARGE_ROW_GROUP_BYTES else _BATCH_ROWS
            for batch in parquet.iter_batches(batch_size=rows, row_groups=[group], columns=list(COLUMNS)):
                if batch.num_rows:
                    _add_batch(summary, batch)
    except UnreadableFile:
        raise
    except spanformat.UnknownFormatVersion as exc:  # written by a newer build: left for it, reported
        raise UnreadableFile(exc.reason) from exc
    except (OSError, pa.ArrowException, ValueError) as exc:
        raise UnreadableFile(f"{type(exc).__name__}: {exc}") from exc
    if summary.row_count == 0:
        raise UnreadableFile("no rows")
    return summary
