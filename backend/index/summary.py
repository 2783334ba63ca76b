"""One Parquet file → the facts the index keeps about it (time ranges, counts, trace ids, flags,
the sort keys of its root and workflow spans, its Junjo executables and Agent runs).

Reads only the few columns it needs, batch by batch, with vectorised Arrow compute, so memory
stays bounded by one batch whatever the file size. The sender controls the attribute and resource
text that decides a batch's size (and Parquet compresses repetitive text so well that the file size
says nothing about it): a row group is read in batches of about `_BATCH_TEXT_BYTES` of decoded
text (from its metadata), and one whose resource text exceeds `_FAT_RESOURCE_BYTES` has it read
in a second pass, for its owner spans only. A fat row group (`limits.is_fat`) is read in its
turn (`limits.fat_read_turn`), before or after queries that decode fat rows. Raises
`UnreadableFile` for anything that is not a readable span file (corrupt, empty, wrong schema):
the indexer records and retries those.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from backend.agents.telemetry import EXECUTABLE_TYPES, json_object, owner_summary, service_identity, text
from backend.index.attribute_filter import PairCollector, PairFilter, json_texts
from backend.overview import rollups as overview
from backend.overview.usage import LlmUsage, llm_usage, uncounted
from backend.spans.limits import fat_read_turn, is_fat
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
# Every key the patterns above look for begins with one of these. One scan finds the spans that
# hold any (in most files a small share): only their text is scanned again, by each pattern.
_MARKED_PATTERN = (
    '"(?:' + "|".join(re.escape(p) for p in ("junjo.", "gen_ai.", "openinference.", "llm.")) + ")"
)
# An LLM call below a Junjo model request is found by walking up its parents: at most this many
# levels, over at most this many parent links of the file's spans.
_MAX_CALL_DEPTH = 64
_MAX_PARENT_LINKS = 50_000
_BATCH_ROWS = 2048  # at most: the vectorised kernels' cost per batch is spread over enough rows
_BATCH_TEXT_BYTES = 8 * 1024 * 1024  # decoded attribute and resource text per batch, at most
# Resource text above this in a row group is read in a pass of its own (`_add_fat_resources`).
_FAT_RESOURCE_BYTES = 1024 * 1024


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


class LlmCall(NamedTuple):
    """An LLM call's span: its usage waits in the summary until the whole file is read."""

    service_name: str
    start_ns: int
    trace_id: str
    span_id: str
    parent_span_id: str | None
    usage: LlmUsage


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
    # INDEXED_ATTRIBUTES' values, at any depth (from `pairs`), and those with too many or too long
    # values to record: the file is always read for them
    attribute_values: dict[str, set[str]] = field(default_factory=dict)
    attribute_overflow: set[str] = field(default_factory=set)
    rollups: overview.Rollups = field(default_factory=dict)
    pairs: PairCollector | None = None  # while the file is read; then finished into attribute_filter
    attribute_filter: PairFilter | None = None  # None: searches always read the file
    llm_calls: list[LlmCall] = field(default_factory=list)  # read so far, not yet in `rollups`


def _count(mask: pa.Array) -> int:
    return int(pc.sum(pc.cast(mask, pa.int64())).as_py() or 0)


class Owner(NamedTuple):
    """A Junjo Workflow/Subflow/Agent owner span, all but the service identity its resource
    attributes give: what is kept of it until those are read."""

    row: int  # in its batch or row group
    kind: str
    runtime_id: str | None
    service_name: str
    trace_id: str
    span_id: str
    start_ns: int
    run: dict[str, Any] | None  # an Agent's run, its "service" still to fill


class Marked(NamedTuple):
    """The spans of a batch whose attributes hold a key the index reads (`_MARKED_PATTERN`)."""

    mask: pa.Array  # over the batch's rows
    rows: pa.Array  # their row numbers in the batch
    attributes: pa.Array  # their attributes

    def matching(self, pattern: str) -> pa.Array:
        """Over the marked spans: those whose attributes match `pattern`."""
        return pc.fill_null(pc.match_substring_regex(self.attributes, pattern), False)

    def spread(self, marked_mask: pa.Array) -> pa.Array:
        """A mask over the marked spans as one over the whole batch (unmarked rows: False)."""
        return pc.replace_with_mask(self.mask, self.mask, marked_mask)


def _marked(attributes: pa.Array) -> Marked:
    mask = pc.fill_null(pc.match_substring_regex(attributes, _MARKED_PATTERN), False)
    return Marked(mask, pc.indices_nonzero(mask), pc.filter(attributes, mask))


def _add_batch(summary: FileSummary, batch: pa.RecordBatch) -> list[Owner]:
    """Adds the facts of one batch, except those of its owner spans that need their resource
    attributes: those are returned, for `_add_owners`."""
    start = pc.cast(batch.column("start_time"), pa.int64())
    end = pc.cast(batch.column("end_time"), pa.int64())
    parent = batch.column("parent_span_id")
    services = batch.column("service_name")
    marked = _marked(batch.column("attributes"))
    is_root = pc.fill_null(pc.or_kleene(pc.is_null(parent), pc.equal(parent, "")), True)
    is_wf = marked.spread(marked.matching(_WORKFLOW_PATTERN))
    is_err = pc.fill_null(pc.equal(batch.column("status_code"), STATUS_ERROR), False)
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

    if len(marked.rows):
        is_llm = marked.matching(LLM_PATTERN)
        if pc.any(is_llm).as_py():
            llm_rows = pc.filter(marked.rows, is_llm)
            llm_services = pc.take(services, llm_rows).to_pylist()
            llm_ids = pc.take(batch.column("trace_id"), llm_rows).to_pylist()
            summary.llm_traces.update(zip(llm_services, llm_ids, strict=True))
    if summary.pairs is not None:  # the attribute filter, and the indexed attributes' values
        summary.pairs.add_batch(batch.column("attributes"))

    add_rollups(summary, batch, start, end, is_root, is_wf, is_err, marked)
    return _owners(batch, marked, start, end, is_err) if len(marked.rows) else []


def _owners(
    batch: pa.RecordBatch, marked: Marked, start: pa.Array, end: pa.Array, is_err: pa.Array
) -> list[Owner]:
    """The batch's owner spans (the regex only preselects: the parsed attributes decide)."""
    is_exec = marked.matching(EXECUTABLE_PATTERN)
    if not pc.any(is_exec).as_py():
        return []
    rows = pc.filter(marked.rows, is_exec)
    spans = {
        n: pc.take(batch.column(n), rows).to_pylist() for n in ("trace_id", "span_id", "service_name", "name")
    }
    spans["start"] = pc.take(start, rows).to_pylist()
    spans["end"] = pc.take(end, rows).to_pylist()
    spans["error"] = pc.take(is_err, rows).to_pylist()
    owners = []
    for i, (row, at) in enumerate(
        zip(rows.to_pylist(), pc.indices_nonzero(is_exec).to_pylist(), strict=True)
    ):
        attrs = _json_at(marked.attributes, at)
        kind = attrs.get("junjo.span_type")
        if kind not in EXECUTABLE_TYPES:
            continue
        span = {n: column[i] for n, column in spans.items()}
        run = None
        if kind == "agent":
            run = owner_summary(
                attrs,
                {},
                trace_id=span["trace_id"],
                span_id=span["span_id"],
                service_name=span["service_name"],
                name=span["name"] or "",
                start_ns=span["start"],
                end_ns=span["end"],
                status_error=bool(span["error"]),
            )
        runtime_id = text(attrs, "junjo.executable_runtime_id", 256)
        owners.append(
            Owner(
                row,
                kind,
                runtime_id,
                span["service_name"],
                span["trace_id"],
                span["span_id"],
                span["start"],
                run,
            )
        )
    return owners


def add_rollups(
    summary: FileSummary,
    batch: pa.RecordBatch,
    start: pa.Array,
    end: pa.Array,
    is_root: pa.Array,
    is_wf: pa.Array,
    is_err: pa.Array,
    marked: Marked,
) -> None:
    """The overview's counts of one batch: spans, roots, errors, latency; and each LLM call's
    usage, kept until the whole file is read (`add_llm_calls`)."""
    services = batch.column("service_name")
    overview.add_batch(summary.rollups, services, start, end, is_root, is_wf, is_err)
    if not len(marked.rows):
        return
    is_usage = marked.matching(USAGE_PATTERN)
    if not pc.any(is_usage).as_py():
        return
    rows = pc.filter(marked.rows, is_usage)
    at = pc.indices_nonzero(is_usage).to_pylist()
    columns = (
        services,
        start,
        batch.column("trace_id"),
        batch.column("span_id"),
        batch.column("parent_span_id"),
    )
    picked = [pc.take(c, rows).to_pylist() for c in columns]
    for i, (service, start_ns, trace_id, span_id, parent_id) in zip(
        at, zip(*picked, strict=True), strict=True
    ):
        usage = llm_usage(_json_at(marked.attributes, i), start_ns)
        if usage is not None:
            summary.llm_calls.append(LlmCall(service, start_ns, trace_id, span_id, parent_id or None, usage))


def _json_at(column: pa.Array, row: int) -> dict[str, Any]:
    """The JSON object a string column holds at `row`, parsed straight from Arrow's data buffer: the
    text of a fat span is not copied first (into a Python string or a scalar's buffer)."""
    if isinstance(column, pa.DictionaryArray):
        column, row = column.dictionary, column.indices[row].as_py()
    if row is None or column.slice(row, 1).null_count:
        return {}
    if column.type != pa.string():  # not a span format's type: read as text, however slowly
        return json_object(column[row].as_py())
    try:
        parsed = orjson.loads(next(json_texts(column.slice(row, 1))))
    except orjson.JSONDecodeError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _add_owners(summary: FileSummary, owners: list[Owner], resources: pa.Array, first_row: int = 0) -> None:
    """The executables and Agent runs of owner spans, given the resource attributes of the rows
    from `first_row` on."""
    for owner in owners:
        service = service_identity(_json_at(resources, owner.row - first_row), owner.service_name)
        if owner.runtime_id is not None:
            summary.executables.append(
                ExecutableKey(
                    service["namespace"],
                    owner.service_name,
                    owner.kind,
                    owner.runtime_id,
                    owner.trace_id,
                    owner.span_id,
                    owner.start_ns,
                )
            )
        if owner.run is not None:
            owner.run["service"] = service
            summary.agent_runs.append(owner.run)
            failed = owner.run["is_error"] or owner.run["outcome"] == "failed"
            overview.add_agent_run(summary.rollups, owner.service_name, owner.start_ns, failed)


def _add_fat_resources(summary: FileSummary, parquet: pq.ParquetFile, group: int, batch_rows: int) -> None:
    """A row group with fat resource attributes: they are read in a second pass, for its owner
    spans only, so the two fat text columns are never decoded at once."""
    columns = [c for c in COLUMNS if c != "resource_attributes"]
    owners: list[Owner] = []
    first_row = 0
    for batch in parquet.iter_batches(batch_size=batch_rows, row_groups=[group], columns=columns):
        if batch.num_rows:
            owners += [o._replace(row=first_row + o.row) for o in _add_batch(summary, batch)]
        first_row += batch.num_rows
    if not owners:
        return
    first_row = 0
    resources = parquet.iter_batches(
        batch_size=batch_rows, row_groups=[group], columns=["resource_attributes"]
    )
    rows = [owner.row for owner in owners]  # ascending
    for batch in resources:
        picked = slice(bisect_left(rows, first_row), bisect_left(rows, first_row + batch.num_rows))
        _add_owners(summary, owners[picked], batch.column(0), first_row)
        first_row += batch.num_rows


def _add_group(
    summary: FileSummary, parquet: pq.ParquetFile, group: int, rows: int, fat_resources: bool
) -> None:
    if fat_resources:
        _add_fat_resources(summary, parquet, group, rows)
        return
    for batch in parquet.iter_batches(batch_size=rows, row_groups=[group], columns=list(COLUMNS)):
        if batch.num_rows:
            _add_owners(summary, _add_batch(summary, batch), batch.column("resource_attributes"))


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
        attributes_column = parquet.schema_arrow.names.index("attributes")
        resource_column = parquet.schema_arrow.names.index("resource_attributes")
        attribute_bytes = sum(
            parquet.metadata.row_group(g).column(attributes_column).total_uncompressed_size
            for g in range(parquet.metadata.num_row_groups)
        )
        summary = FileSummary(path=str(path), size_bytes=size, pairs=PairCollector(attribute_bytes))
        for group in range(parquet.metadata.num_row_groups):
            meta = parquet.metadata.row_group(group)
            resource_bytes = meta.column(resource_column).total_uncompressed_size
            decoded = meta.column(attributes_column).total_uncompressed_size + resource_bytes
            rows = max(1, min(_BATCH_ROWS, meta.num_rows * _BATCH_TEXT_BYTES // max(decoded, 1)))
            with fat_read_turn() if is_fat(decoded, meta.num_rows) else nullcontext():
                _add_group(summary, parquet, group, rows, resource_bytes > _FAT_RESOURCE_BYTES)
        add_llm_calls(summary, parquet)
    except UnreadableFile:
        raise
    except spanformat.UnknownFormatVersion as exc:  # written by a newer build: left for it, reported
        raise UnreadableFile(exc.reason) from exc
    except (OSError, pa.ArrowException, ValueError) as exc:
        raise UnreadableFile(f"{type(exc).__name__}: {exc}") from exc
    if summary.row_count == 0:
        raise UnreadableFile("no rows")
    assert summary.pairs is not None
    summary.attribute_filter = summary.pairs.finish()
    summary.attribute_values, summary.attribute_overflow = summary.pairs.values, summary.pairs.overflow
    summary.pairs = None
    return summary


def add_llm_calls(summary: FileSummary, parquet: pq.ParquetFile) -> None:
    """Adds the file's LLM calls to its rollups, each call once (`usage.uncounted`: an LLM span
    below a Junjo model request of the same file is the model request's call)."""
    calls = {(c.trace_id, c.span_id): c for c in summary.llm_calls}
    enclosing = _enclosing_requests(calls, parquet)
    left_out = uncounted({key: call.usage for key, call in calls.items()}, enclosing) if enclosing else set()
    for call in summary.llm_calls:
        if (call.trace_id, call.span_id) not in left_out:
            overview.add_llm_call(summary.rollups, call.service_name, call.start_ns, call.usage)
    summary.llm_calls = []


def _enclosing_requests(
    calls: dict[tuple[str, str], LlmCall], parquet: pq.ParquetFile
) -> dict[tuple[str, str], tuple[str, str]]:
    """(trace, span) of each LLM call that is not a Junjo model request -> the nearest model
    request above it in this file, where there is one.

    Most such calls are the model request's direct children. Only when some are not are the
    parent links of their traces read (three short columns, in a second pass over the file), at
    most `_MAX_PARENT_LINKS` of them and `_MAX_CALL_DEPTH` levels up."""
    requests = {key for key, call in calls.items() if call.usage.source == "junjo"}
    traces = {trace for trace, _ in requests}
    enclosing: dict[tuple[str, str], tuple[str, str]] = {}
    below: dict[tuple[str, str], tuple[str, str]] = {}  # call -> its parent, not a model request
    for key, call in calls.items():
        if call.usage.source == "junjo" or key[0] not in traces or call.parent_span_id is None:
            continue
        parent = (key[0], call.parent_span_id)
        if parent in requests:
            enclosing[key] = parent
        else:
            below[key] = parent
    if not below:
        return enclosing
    links = _parent_links(parquet, {trace for trace, _ in below})
    for key, at in below.items():
        for _ in range(_MAX_CALL_DEPTH):
            parent_id = links.get(at)
            if parent_id is None:
                break
            at = (at[0], parent_id)
            if at in requests:
                enclosing[key] = at
                break
    return enclosing


def _parent_links(parquet: pq.ParquetFile, traces: set[str]) -> dict[tuple[str, str], str]:
    """(trace, span) -> parent span id of the spans of `traces` in the file (at most
    `_MAX_PARENT_LINKS`)."""
    wanted = pa.array(sorted(traces), pa.string())
    links: dict[tuple[str, str], str] = {}
    columns = ["trace_id", "span_id", "parent_span_id"]
    for batch in parquet.iter_batches(batch_size=65_536, columns=columns):
        picked = batch.filter(pc.fill_null(pc.is_in(batch.column("trace_id"), value_set=wanted), False))
        for trace, span, parent in zip(*(picked.column(c).to_pylist() for c in columns), strict=True):
            if parent:
                links[(trace, span)] = parent
        if len(links) >= _MAX_PARENT_LINKS:
            break
    return links
