"""Query planning and assembly: which files and tiers a query reads, and how rows are combined.

Blocking functions (called in worker threads). The index picks the cold files: `trace_files`
for a trace, per-service time ranges for listings. Listings walk files newest first and stop
once the newest `limit` rows are certain (the limit-th row is newer than anything an unread
file can hold), so the first page of a service with a million spans reads one or two files while
older pages stay reachable through the cursor. The hot snapshot and recently flushed files not
yet indexed are always added, and duplicates of (trace_id, span_id) keep the cold row.

A search (`ListQuery.search`, backend.search) walks the same files, within a time budget, leaving
out those the index rules out: files without the value of an indexed attribute the search
requires, and files whose attribute filter proves they hold no span with an attribute value it
requires.

Rows are chosen from the thin columns; only the chosen rows' JSON columns are then read, a few at
a time (`engine.stream_spans`), and turned into listing previews or bounded trace pages.
"""

from __future__ import annotations

import base64
import binascii
import heapq
import os
import time
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from itertools import islice
from typing import Any

import orjson
import pyarrow as pa

from backend.index.store import CandidateFile, IndexedKey, KeyKind, ListKind, MetadataIndex
from backend.index.summary import LLM_PATTERN, WORKFLOW_MARK
from backend.search.compile import CompiledSearch
from backend.spans import engine
from backend.spans.engine import SkippedFile, Source
from backend.spans.ingestion_client import HotTiers
from backend.spans.limits import SPAN_VALUE_BYTES, TRACE_ANSWER_BYTES, TRACE_SPAN_LIMIT
from backend.spans.preview import preview_select, span_select
from backend.spans.shape import span_preview, span_to_api
from junjo_common.spanformat.v1 import STATUS_ERROR, TIMESTAMP

_MAX_NS = 2**63 - 1


class SnapshotChanged(Exception):
    """The hot snapshot file was replaced after PrepareHotSnapshot answered; ask again."""


class InvalidCursor(ValueError):
    pass


def encode_cursor(start_ns: int, span_id: str) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([start_ns, span_id])).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, str]:
    try:
        value = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        raise InvalidCursor("cursor is not one this API returned") from None
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not isinstance(value[0], int)
        or not isinstance(value[1], str)
        or not 0 <= value[0] <= _MAX_NS
        or len(value[1]) > 64
    ):
        raise InvalidCursor("cursor is not one this API returned")
    return value[0], value[1]


@dataclass(frozen=True)
class ListQuery:
    service: str
    kind: ListKind = "spans"
    limit: int = 100
    errors_only: bool = False
    start_ns: int | None = None
    end_ns: int | None = None
    name_contains: str | None = None
    has_llm: bool = False
    cursor: tuple[int, str] | None = None
    search: CompiledSearch | None = None
    budget_secs: float | None = None  # after this long a search answers what it has (`partial`)


@dataclass
class Answer:
    data: Any
    skipped: list[SkippedFile] = field(default_factory=list)
    next_cursor: str | None = None
    total: int | None = None
    total_exact: bool = True
    more: int = 0  # rows after this page (trace pages)
    partial: bool = False  # a search ran out of time: the page holds fewer rows, the cursor goes on


@contextmanager
def extra_sources(index: MetadataIndex, tiers: HotTiers) -> Iterator[list[Source]]:
    """The hot tiers (snapshot files, streamed tables) and recently flushed cold files the index
    does not know yet.

    Each snapshot is opened here and held open for the whole plan, and its size is checked
    against what PrepareHotSnapshot reported: a snapshot replaced in between (after a flush whose
    file the reported recent paths may not list) raises SnapshotChanged, so the caller asks again.
    A size < 0 accepts whatever snapshot is there (the caller's last attempt). Streamed tables
    are in memory already and are queried like the files.
    """
    sources: list[Source] = []
    if tiers.recent_cold_paths:
        indexed = index.indexed_subset(tiers.recent_cold_paths)
        sources.extend(Source(p, "cold") for p in tiers.recent_cold_paths if p not in indexed)
    sources.extend(Source(label, "hot", table=table) for label, table in tiers.tables.items())
    fds: list[int] = []
    try:
        for snapshot in tiers.snapshots:
            try:
                fd = os.open(snapshot.path, os.O_RDONLY)
            except FileNotFoundError:
                if snapshot.size >= 0:
                    raise SnapshotChanged from None
                continue
            fds.append(fd)
            if snapshot.size >= 0 and os.fstat(fd).st_size != snapshot.size:
                raise SnapshotChanged
            sources.append(Source(snapshot.path, "hot", fd))
        yield sources
    finally:
        for fd in fds:
            os.close(fd)


def _ts(ns: int) -> pa.Scalar:
    return pa.scalar(ns, type=TIMESTAMP)


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def build_where(q: ListQuery) -> tuple[str, dict[str, Any]]:
    clauses = ["service_name = $svc"]
    params: dict[str, Any] = {"svc": q.service}
    if q.kind == "roots":
        clauses.append("(parent_span_id IS NULL OR parent_span_id = '')")
    elif q.kind == "workflows":
        clauses.append("attributes LIKE $wf")
        params["wf"] = f"%{WORKFLOW_MARK}%"
    if q.errors_only:
        clauses.append("status_code = $err")
        params["err"] = STATUS_ERROR
    if q.start_ns is not None:
        clauses.append("start_time >= $t_start")
        params["t_start"] = _ts(q.start_ns)
    if q.end_ns is not None:
        clauses.append("start_time <= $t_end")
        params["t_end"] = _ts(q.end_ns)
    if q.name_contains:
        clauses.append("name ILIKE $name ESCAPE '\\'")
        params["name"] = f"%{escape_like(q.name_contains)}%"
    if q.cursor is not None:
        clauses.append("(start_time < $c_ts OR (start_time = $c_ts AND span_id < $c_id))")
        params["c_ts"], params["c_id"] = _ts(q.cursor[0]), q.cursor[1]
    if q.search is not None:
        clauses.append(q.search.where)
        params |= q.search.params
    return " AND ".join(clauses), params


def _sort_key(row: dict[str, Any]) -> tuple[int, str]:
    return row["start_time"], row["span_id"]


def _with_copies(distinct: int) -> int:
    """Rows to ask for so that `distinct` different spans remain after merging duplicates: while
    a flush is indexed, one span can sit in the hot tier, a flushed file not yet indexed and the
    indexed file."""
    return 3 * distinct


def _merge(collected: dict[tuple[str, str], dict[str, Any]], rows: list[dict[str, Any]]) -> None:
    """Adds rows, deduplicating by (trace_id, span_id); a cold row replaces a hot one."""
    for row in rows:
        key = (row["trace_id"], row["span_id"])
        old = collected.get(key)
        if old is None or (old["_tier"] == "hot" and row["_tier"] == "cold"):
            collected[key] = row


def _is_workflow(span: dict[str, Any]) -> bool:
    return span["attributes_json"].get("junjo.span_type") == "workflow"


def _read_rows(
    chosen: list[dict[str, Any]],
    sources: list[Source],
    where: str,
    params: dict[str, Any],
    skipped: list[SkippedFile],
    match_ids: bool = True,
    select: tuple[str, dict[str, Any]] | None = None,
) -> Generator[tuple[int, dict[str, Any]]]:
    """(position in `chosen`, row) for each chosen thin row, read file by file from `sources`;
    the row has the thin columns and `select`'s (SQL, parameters), by default `span_select`'s.

    Each thin row names its file (`_path`); a file is read once for all its chosen rows, and a
    row of the same span found in another file is ignored (the thin row already won the merge).
    `where`/`params` narrow the read (service or trace) and the chosen rows' time range is added;
    `match_ids` also filters by span id, which pays off when the range holds many other rows
    (a listing page), not when it holds the chosen rows of one trace.
    """
    columns, column_params = select or span_select()
    by_path: dict[str, dict[str, int]] = {}
    for i, row in enumerate(chosen):
        by_path.setdefault(row["_path"], {})[row["span_id"]] = i
    known = {s.path: s for s in sources}
    for path, positions in by_path.items():
        source = known.get(path, Source(path, "cold"))
        picked = [chosen[i] for i in positions.values()]
        sql = f"{where} AND start_time >= $lo AND start_time <= $hi"
        values = {
            **params,
            **column_params,
            "lo": _ts(min(r["start_time"] for r in picked)),
            "hi": _ts(max(r["start_time"] for r in picked)),
        }
        if match_ids:
            sql += " AND array_has($ids, span_id)"
            values["ids"] = pa.scalar(list(positions), pa.list_(pa.string()))
        for row in engine.stream_spans([source], sql, values, skipped, columns):
            position = positions.get(row["span_id"])
            if position is not None and row["trace_id"] == chosen[position]["trace_id"]:
                yield position, row


def _previews(
    chosen: list[dict[str, Any]], sources: list[Source], q: ListQuery, skipped: list[SkippedFile]
) -> list[dict[str, Any]]:
    """Listing previews of `chosen` thin rows, in their order (a row whose file vanished is left
    out, and on a workflow list a row that is not a workflow span after all)."""
    previews: list[dict[str, Any] | None] = [None] * len(chosen)
    rows = _read_rows(
        chosen, sources, "service_name = $svc", {"svc": q.service}, skipped, True, preview_select()
    )
    for i, row in rows:
        previews[i] = span_preview(row)
    return [p for p in previews if p is not None and (q.kind != "workflows" or _is_workflow(p))]


def list_spans(index: MetadataIndex, tiers: HotTiers, q: ListQuery) -> Answer:
    """One page of a service's spans / roots / workflows, newest first."""
    with extra_sources(index, tiers) as extra:
        return _list_spans(index, tiers, q, extra)


def _list_spans(index: MetadataIndex, tiers: HotTiers, q: ListQuery, extra: list[Source]) -> Answer:
    files = index.service_files(q.service, q.kind, q.errors_only, q.start_ns, q.end_ns)
    if q.search is not None and q.kind != "spans":
        return _search_traces(index, q, extra)
    if q.search is not None:
        return _search(index, q, extra, files)
    keyed = q.kind != "spans" and not q.name_contains and index.keys_complete()
    timed = q.start_ns is not None or q.end_ns is not None
    if keyed and timed and not q.has_llm:
        kind: KeyKind = "roots" if q.kind == "roots" else "workflows"
        indexed = index.count_keys(q.service, kind, q.errors_only, q.start_ns, q.end_ns)
        indexed_exact = True
    else:
        # A file's counts cover all its rows: a name, LLM or time filter matches only some of them.
        indexed, indexed_exact = sum(f.count for f in files), not (q.name_contains or q.has_llm or timed)
    counted_skipped: list[SkippedFile] = []
    total = indexed + _unindexed_count(index, extra, q, counted_skipped)
    exact = indexed_exact and not (tiers.degraded or counted_skipped)
    if keyed:
        answer = _list_keyed(index, q, extra)
        answer.skipped.extend(counted_skipped)
        answer.total, answer.total_exact = total, exact
        return answer
    if q.cursor is not None:
        files = [f for f in files if f.min_start_ns <= q.cursor[0]]
    where, params = build_where(q)
    tables: dict[str, pa.Table] = {}
    skipped: list[SkippedFile] = counted_skipped
    if q.has_llm:
        where, tables, files = _llm_restriction(index, extra, q.service, where, files, skipped)
    ordered, _ = _newest_rows(files, extra, where, params, tables, q.limit, skipped)
    page = ordered[: q.limit]
    next_cursor = encode_cursor(*_sort_key(page[-1])) if len(page) == q.limit else None
    sources = [*extra, *(Source(f.path, "cold") for f in files)]
    return Answer(_previews(page, sources, q, skipped), skipped, next_cursor, total, exact)


def _llm_restriction(
    index: MetadataIndex,
    extra: list[Source],
    service: str,
    where: str,
    files: list[CandidateFile],
    skipped: list[SkippedFile],
) -> tuple[str, dict[str, pa.Table], list[CandidateFile]]:
    """Narrows a listing to traces with an LLM span: `where` with the semi-join added, the
    `llm_ids` table it joins, and `files` with each one's count of such traces (0 for a file that
    has none, which may still hold other spans of a trace whose LLM span is in the hot tier)."""
    hot_ids, hot_skipped = _llm_trace_ids(extra, service)
    skipped.extend(hot_skipped)
    ids = hot_ids | set(index.llm_trace_ids_for_service(service))
    tables = {"llm_ids": pa.table({"trace_id": pa.array(sorted(ids), pa.string())})}
    llm_counts = index.llm_trace_counts(service)
    files = [replace(f, count=llm_counts.get(f.path, 0)) for f in files]
    return where + " AND trace_id IN (SELECT trace_id FROM llm_ids)", tables, files


def _newest_rows(
    files: list[CandidateFile],
    extra: list[Source],
    where: str,
    params: dict[str, Any],
    tables: dict[str, pa.Table],
    limit: int,
    skipped: list[SkippedFile],
    files_per_chunk: int | None = None,
    give_up: Callable[[int], bool] | None = None,
) -> tuple[list[dict[str, Any]], int | None]:
    """The rows matching `where` read from the unindexed tiers and `files` (newest first), a chunk
    at a time until every file is read or the newest `limit` rows are certain (the limit-th row is
    newer than anything an unread file can hold): newest first, each span once.

    A chunk is `files_per_chunk` sources, or else the files that hold `limit` rows by the index's
    counts, twice as many each chunk. `give_up`, asked between chunks with the newest start an
    unread file may hold, can end the walk early; that start is then returned with the rows (only
    rows newer than it are certain), else None.
    """
    collected: dict[tuple[str, str], dict[str, Any]] = {}
    pos, target = 0, limit
    chunk: list[Source] = list(extra)
    while True:
        seen = 0
        while pos < len(files) and (
            len(chunk) < files_per_chunk if files_per_chunk is not None else seen < target or not chunk
        ):
            chunk.append(Source(files[pos].path, "cold"))
            seen += files[pos].count
            pos += 1
        result = engine.query_spans(chunk, where, params, limit=_with_copies(limit), tables=tables)
        skipped.extend(result.skipped)
        _merge(collected, result.rows)
        ordered = sorted(collected.values(), key=_sort_key, reverse=True)
        if pos >= len(files):
            return ordered, None
        unread_start = files[pos].max_start_ns  # files come newest (largest max start) first
        if len(ordered) >= limit and ordered[limit - 1]["start_time"] > unread_start:
            return ordered, None
        if give_up is not None and give_up(unread_start):
            return ordered, unread_start
        chunk, target = [], target * 2


SEARCH_CHUNK_FILES = 8
"""Files one search query reads at once: the time budget is checked between chunks."""


def _search(index: MetadataIndex, q: ListQuery, extra: list[Source], files: list[CandidateFile]) -> Answer:
    """One page of spans matching `q.search`, newest first, walking the candidate files.

    Files are read newest first, a few at a time, until the newest `limit` matches are certain or
    the deadline passes. Then the page holds the matches newer than any unread file (possibly
    none) and the cursor continues below them: `partial` says so, and no request runs unbounded.
    """
    assert q.search is not None
    deadline = time.monotonic() + q.budget_secs if q.budget_secs is not None else None
    for attribute, value in q.search.indexed:
        holding = index.files_with_attribute(attribute, value)
        files = [f for f in files if f.path in holding]
    ruled_out = _ruled_out(index, q.search)
    files = [f for f in files if f.path not in ruled_out]
    if q.cursor is not None:
        files = [f for f in files if f.min_start_ns <= q.cursor[0]]
    where, params = build_where(q)
    skipped: list[SkippedFile] = []
    tables: dict[str, pa.Table] = {}
    if q.has_llm:
        where, tables, files = _llm_restriction(index, extra, q.service, where, files, skipped)
        files = [f for f in files if f.count]

    def out_of_time(unread_start: int) -> bool:
        # Matches newer than every unread file are certain; stopping there must move the cursor on.
        return (
            deadline is not None
            and time.monotonic() > deadline
            and (q.cursor is None or unread_start + 1 < q.cursor[0])
        )

    ordered, bound = _newest_rows(
        files, extra, where, params, tables, q.limit, skipped, SEARCH_CHUNK_FILES, out_of_time
    )
    partial = bound is not None
    next_cursor: str | None
    if bound is not None:
        page = [r for r in ordered if r["start_time"] > bound][: q.limit]
        next_cursor = encode_cursor(bound + 1, "")
    else:
        page = ordered[: q.limit]
        next_cursor = encode_cursor(*_sort_key(page[-1])) if len(page) == q.limit else None
    sources = [*extra, *(Source(f.path, "cold") for f in files)]
    return Answer(_previews(page, sources, q, skipped), skipped, next_cursor, None, False, partial=partial)


def _ruled_out(index: MetadataIndex, search: CompiledSearch) -> set[str]:
    """Indexed files whose attribute filters prove they hold no span matching `search`."""
    ruled_out: set[str] = set()
    for attribute, value in search.filtered:
        ruled_out |= index.files_without_pair(attribute, value)
    return ruled_out


TRACE_SEARCH_BATCH = 1000
"""Most traces one step of a trace search checks at once: its trace-id set never holds more."""
TRACE_SEARCH_FEW_FILES = 16
"""When the index leaves at most this many files that may hold a match, a trace search finds the
matching traces in them first instead of walking every root."""


def _search_traces(index: MetadataIndex, q: ListQuery, extra: list[Source]) -> Answer:
    """One page of roots (workflow spans) whose trace holds a span matching `q.search`, newest first.

    When the search requires attribute values that the index and filters place in a few files
    (`_search_few_traces`), the matching traces are taken from those files first. Otherwise the
    roots matching the list's other filters are walked newest first, from the cursor on, in
    batches of at most TRACE_SEARCH_BATCH; each batch's trace ids are semi-joined with the spans
    matching the search, in the files holding those traces (only those also holding an indexed
    value the search requires) and the unindexed tiers. Matching spans of any service count. The
    walk stops when the page is full or, after the deadline, with `partial` and a cursor after the
    last root checked, so the next page goes on from there.
    """
    assert q.search is not None
    deadline = time.monotonic() + q.budget_secs if q.budget_secs is not None else None
    required: set[str] | None = None
    for attribute, value in q.search.indexed:
        holding = index.files_with_attribute(attribute, value)
        required = holding if required is None else required & holding
    ruled_out = _ruled_out(index, q.search)
    skipped: list[SkippedFile] = []
    hot_llm: set[str] = set()
    if q.has_llm:
        hot_llm, hot_skipped = _llm_trace_ids(extra, q.service)
        skipped.extend(hot_skipped)
    if q.search.filtered:
        holding = (index.indexed_paths() if required is None else required) - ruled_out
        if len(holding) <= TRACE_SEARCH_FEW_FILES:
            return _search_few_traces(index, q, extra, holding, hot_llm, skipped)
    roots = _root_keys(index, replace(q, search=None, has_llm=False), extra, skipped)
    page: list[dict[str, Any]] = []
    last: dict[str, Any] | None = None
    partial, size = False, min(TRACE_SEARCH_BATCH, 4 * q.limit)
    while len(page) < q.limit:
        batch = list(islice(roots, size))
        if not batch:
            break
        size = min(TRACE_SEARCH_BATCH, 2 * size)
        traces = {r["trace_id"] for r in batch}
        matched = _matching_traces(index, q.search, extra, traces, required, ruled_out, skipped)
        if q.has_llm:
            matched &= hot_llm | index.llm_trace_subset(q.service, matched)
        for row in batch:
            last = row
            if row["trace_id"] in matched:
                page.append(row)
                if len(page) == q.limit:
                    break
        if len(page) < q.limit and deadline is not None and time.monotonic() > deadline:
            partial = True
            break
    roots.close()
    if partial:
        assert last is not None
        next_cursor: str | None = encode_cursor(*_sort_key(last))
    else:
        next_cursor = encode_cursor(*_sort_key(page[-1])) if len(page) == q.limit else None
    return Answer(_previews(page, extra, q, skipped), skipped, next_cursor, None, False, partial=partial)


def _search_few_traces(
    index: MetadataIndex,
    q: ListQuery,
    extra: list[Source],
    holding: set[str],
    hot_llm: set[str],
    skipped: list[SkippedFile],
) -> Answer:
    """A trace search page when only the indexed files `holding` (and the unindexed tiers) may hold
    a matching span: the traces with one are read from them, then those traces' roots matching
    the list's filters from the files holding the traces, newest first from the cursor."""
    assert q.search is not None
    found = engine.query_spans(
        [*extra, *(Source(p, "cold") for p in sorted(holding))],
        q.search.where,
        q.search.params,
        select="DISTINCT trace_id",
    )
    skipped.extend(found.skipped)
    matched = {r["trace_id"] for r in found.rows}
    if q.has_llm:
        matched &= hot_llm | index.llm_trace_subset(q.service, matched)
    collected: dict[tuple[str, str], dict[str, Any]] = {}
    if matched:
        where, params = build_where(replace(q, search=None, has_llm=False))
        files = index.files_with_traces(matched)
        roots = engine.query_spans(
            [*extra, *(Source(p, "cold") for p in sorted(files))],
            f"{where} AND trace_id IN (SELECT trace_id FROM matched)",
            params,
            limit=_with_copies(q.limit),
            tables={"matched": pa.table({"trace_id": pa.array(sorted(matched), pa.string())})},
            keys_only=True,
        )
        skipped.extend(roots.skipped)
        _merge(collected, roots.rows)
    page = sorted(collected.values(), key=_sort_key, reverse=True)[: q.limit]
    next_cursor = encode_cursor(*_sort_key(page[-1])) if len(page) == q.limit else None
    return Answer(_previews(page, extra, q, skipped), skipped, next_cursor, None, False)


def _matching_traces(
    index: MetadataIndex,
    search: CompiledSearch,
    extra: list[Source],
    trace_ids: set[str],
    required: set[str] | None,
    ruled_out: set[str],
    skipped: list[SkippedFile],
) -> set[str]:
    """Those of `trace_ids` with a span matching `search` (in an indexed file that may hold the
    indexed values it requires and that its filters do not rule out, or in an unindexed tier)."""
    files = index.files_with_traces(trace_ids) - ruled_out
    if required is not None:
        files &= required
    sources = [*extra, *(Source(p, "cold") for p in sorted(files))]
    result = engine.query_spans(
        sources,
        f"trace_id IN (SELECT trace_id FROM batch) AND {search.where}",
        search.params,
        tables={"batch": pa.table({"trace_id": pa.array(sorted(trace_ids), pa.string())})},
        select="DISTINCT trace_id",
    )
    skipped.extend(result.skipped)
    return {r["trace_id"] for r in result.rows}


def _root_keys(
    index: MetadataIndex, q: ListQuery, extra: list[Source], skipped: list[SkippedFile]
) -> Generator[dict[str, Any]]:
    """Thin keys (start_time, span_id, trace_id, _path) of the roots / workflow spans matching
    `q`'s filters after its cursor, newest first, each span once (an indexed file's copy wins).

    The indexed ones come lazily from the index's keys; the unindexed tiers are small and queried
    whole. While the index lacks some files' keys (just after an upgrade), or for a name filter the
    keys do not record, the files are read a page at a time instead.
    """
    where, params = build_where(q)
    unindexed = engine.query_spans(extra, where, params, keys_only=True) if extra else None
    if unindexed is not None:
        skipped.extend(unindexed.skipped)
    extra_rows = sorted(unindexed.rows if unindexed else [], key=_sort_key, reverse=True)
    indexed: Iterator[dict[str, Any]]
    if index.keys_complete() and not q.name_contains:
        kind: KeyKind = "roots" if q.kind == "roots" else "workflows"
        keys = index.newest_keys(q.service, kind, q.errors_only, q.start_ns, q.end_ns, q.cursor)
        indexed = (
            {
                "start_time": k.start_ns,
                "span_id": k.span_id,
                "trace_id": k.trace_id,
                "_path": k.path,
                "_tier": "cold",
            }
            for k in keys
        )
    else:
        indexed = _file_keys(index, q, skipped)
    # Copies of one span have the same sort key, so they come in one run of equal keys.
    run_key: tuple[int, str] | None = None
    in_run: set[str] = set()  # trace ids yielded in the current run
    for row in heapq.merge(indexed, extra_rows, key=_sort_key, reverse=True):
        if _sort_key(row) != run_key:
            run_key, in_run = _sort_key(row), set()
        if row["trace_id"] not in in_run:
            in_run.add(row["trace_id"])
            yield row


def _file_keys(index: MetadataIndex, q: ListQuery, skipped: list[SkippedFile]) -> Iterator[dict[str, Any]]:
    """Thin keys of the indexed files' rows matching `q`, newest first, TRACE_SEARCH_BATCH at a time."""
    files = index.service_files(q.service, q.kind, q.errors_only, q.start_ns, q.end_ns)
    cursor = q.cursor
    while True:
        if cursor is not None:
            files = [f for f in files if f.min_start_ns <= cursor[0]]
        where, params = build_where(replace(q, cursor=cursor))
        result = engine.query_spans(
            [Source(f.path, "cold") for f in files], where, params, limit=TRACE_SEARCH_BATCH, keys_only=True
        )
        skipped.extend(result.skipped)
        yield from result.rows
        if len(result.rows) < TRACE_SEARCH_BATCH:
            return
        cursor = _sort_key(result.rows[-1])


def _list_keyed(index: MetadataIndex, q: ListQuery, extra: list[Source]) -> Answer:
    """A root/workflow page chosen from the index's keys; only the winning rows are read.

    The unindexed tiers (hot snapshot, recent cold files) are small and queried whole for their
    newest `limit` rows. The index gives the newest `limit` keys of the indexed files; the page is
    the newest `limit` of both, and only the index's winners are then read from their files.
    """
    where, params = build_where(q)
    skipped: list[SkippedFile] = []
    hot_llm: set[str] = set()
    extra_rows: list[dict[str, Any]] = []
    if extra:
        tables: dict[str, pa.Table] = {}
        if q.has_llm:
            hot_llm, tables["llm_ids"] = _unindexed_llm_ids(index, extra, q.service, where, params, skipped)
            where += " AND trace_id IN (SELECT trace_id FROM llm_ids)"
        result = engine.query_spans(extra, where, params, limit=_with_copies(q.limit), tables=tables)
        skipped.extend(result.skipped)
        extra_rows = result.rows

    kind: KeyKind = "roots" if q.kind == "roots" else "workflows"
    keys: dict[tuple[str, str], IndexedKey] = {}
    for key in index.newest_keys(q.service, kind, q.errors_only, q.start_ns, q.end_ns, q.cursor):
        if q.has_llm and not (key.llm or key.trace_id in hot_llm):
            continue
        keys.setdefault((key.trace_id, key.span_id), key)
        if len(keys) == q.limit:
            break

    # The page's keys: indexed (cold) keys win over the same span in an unindexed tier.
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    _merge(merged, extra_rows)
    extra_rows = [
        r for r in merged.values() if r["_tier"] == "cold" or (r["trace_id"], r["span_id"]) not in keys
    ]
    # (start, span_id, trace_id, an indexed key to read or an unindexed thin row)
    candidates: list[tuple[int, str, str, IndexedKey | dict[str, Any]]] = [
        (k.start_ns, k.span_id, k.trace_id, k) for k in keys.values()
    ]
    candidates += [(r["start_time"], r["span_id"], r["trace_id"], r) for r in extra_rows]
    candidates.sort(key=lambda c: (c[0], c[1]), reverse=True)
    winners = candidates[: q.limit]
    next_cursor = encode_cursor(winners[-1][0], winners[-1][1]) if len(winners) == q.limit else None

    chosen = [
        {"start_time": k.start_ns, "span_id": k.span_id, "trace_id": k.trace_id, "_path": k.path}
        if isinstance(k, IndexedKey)
        else k
        for k in (c[3] for c in winners)
    ]
    return Answer(_previews(chosen, extra, q, skipped), skipped, next_cursor)


def _unindexed_llm_ids(
    index: MetadataIndex,
    extra: list[Source],
    service: str,
    where: str,
    params: dict[str, Any],
    skipped: list[SkippedFile],
) -> tuple[set[str], pa.Table]:
    """For the rows of `extra` matching `where`: the trace ids with an LLM span in `extra` itself,
    and (as a `trace_id` table to semi-join) those with one in `extra` or in an indexed file."""
    hot_llm, llm_skipped = _llm_trace_ids(extra, service)
    skipped.extend(llm_skipped)
    unindexed = engine.query_spans(extra, where, params, select="DISTINCT trace_id")
    indexed_llm = index.llm_trace_subset(service, [r["trace_id"] for r in unindexed.rows])
    ids = sorted(hot_llm | indexed_llm)
    return hot_llm, pa.table({"trace_id": pa.array(ids, pa.string())})


def _unindexed_count(
    index: MetadataIndex, extra: list[Source], q: ListQuery, skipped: list[SkippedFile]
) -> int:
    """Spans matching `q`'s filters (not its cursor) in the tiers the index has not counted: the
    hot tier and flushed files not indexed yet.

    Each span counts once, and not at all when an indexed file holds it already: while a flush
    is being indexed, the same span is in the hot tier and in the new file.
    """
    if not extra:
        return 0
    where, params = build_where(replace(q, cursor=None))
    tables: dict[str, pa.Table] = {}
    if q.has_llm:
        _, tables["llm_ids"] = _unindexed_llm_ids(index, extra, q.service, where, params, skipped)
        where += " AND trace_id IN (SELECT trace_id FROM llm_ids)"
    found = engine.query_spans(extra, where, params, tables=tables, select="DISTINCT trace_id, span_id")
    skipped.extend(found.skipped)
    keys = {(r["trace_id"], r["span_id"]) for r in found.rows}
    indexed_files = index.files_with_traces(t for t, _ in keys)
    if indexed_files:
        wanted = pa.table(
            {
                "trace_id": pa.array([t for t, _ in keys], pa.string()),
                "span_id": pa.array([s for _, s in keys], pa.string()),
            }
        )
        in_index = engine.query_spans(
            [Source(p, "cold") for p in sorted(indexed_files)],
            "trace_id IN (SELECT trace_id FROM wanted) AND span_id IN (SELECT span_id FROM wanted)",
            {},
            tables={"wanted": wanted},
            select="DISTINCT trace_id, span_id",
        )
        skipped.extend(in_index.skipped)
        keys.difference_update((r["trace_id"], r["span_id"]) for r in in_index.rows)
    return len(keys)


def _llm_trace_ids(sources: list[Source], service: str) -> tuple[set[str], list[SkippedFile]]:
    """Trace ids with an LLM span of `service` in `sources` (the tiers the index has not seen)."""
    result = engine.query_spans(
        sources,
        "service_name = $svc AND regexp_like(attributes, $re)",
        {"svc": service, "re": LLM_PATTERN},
        select="DISTINCT trace_id",
    )
    return {r["trace_id"] for r in result.rows}, result.skipped


def trace_page(
    index: MetadataIndex,
    tiers: HotTiers,
    trace_id: str,
    cursor: tuple[int, str] | None = None,
    limit: int = TRACE_SPAN_LIMIT,
    budget: int = TRACE_ANSWER_BYTES,
) -> Answer:
    """One page of a trace's spans, oldest first, as REST spans.

    At most `limit` spans and `budget` JSON-column bytes (always at least one span); the
    spans after it are counted in `more` and reached with `next_cursor`. The page is chosen from
    the thin columns, then the chosen rows are read a few at a time: when the budget overflows,
    the latest spans are dropped again, so the page stays a prefix in time order.
    """
    with extra_sources(index, tiers) as extra:
        sources = [Source(p, "cold") for p in index.trace_file_paths(trace_id)] + extra
        where, params = "trace_id = $tid", {"tid": trace_id}
        if cursor is not None:
            where += " AND (start_time > $c_ts OR (start_time = $c_ts AND span_id > $c_id))"
            params |= {"c_ts": _ts(cursor[0]), "c_id": cursor[1]}
        keys = engine.query_spans(
            sources, where, params, limit=_with_copies(limit + 1), oldest_first=True, keys_only=True
        )
        skipped = list(keys.skipped)
        collected: dict[tuple[str, str], dict[str, Any]] = {}
        _merge(collected, keys.rows)
        ordered = sorted(collected.values(), key=_sort_key)
        chosen = ordered[:limit]
        kept: dict[int, tuple[dict[str, Any], int]] = {}
        used, cutoff = 0, len(chosen)
        rows = _read_rows(chosen, sources, "trace_id = $tid", {"tid": trace_id}, skipped, match_ids=False)
        for i, row in rows:
            if i >= cutoff:
                continue
            size = row["_json_bytes"]
            size = size if size <= SPAN_VALUE_BYTES else 0  # answered as a preview
            kept[i] = (span_to_api(row), size)
            used += size
            while used > budget and len(kept) > 1:
                cutoff = max(kept)
                used -= kept.pop(cutoff)[1]
            if len(kept) == cutoff:  # every span of the page is read: the rest would be dropped
                break
        rows.close()  # stops the read (and releases its files) at once after a break
        if cutoff < len(ordered):
            counted = engine.query_spans(sources, where, params, select="COUNT(*) AS n")
            skipped.extend(counted.skipped)
            rows_after = sum(r["n"] for r in counted.rows)
        else:
            rows_after = 0
    page = [kept[i][0] for i in sorted(kept)]
    answer = Answer(page, skipped)
    if cutoff < len(ordered):
        last = chosen[cutoff - 1] if cutoff else None
        answer.more = max(rows_after - len(page), len(ordered) - cutoff)
        answer.next_cursor = encode_cursor(*_sort_key(last)) if last else None
    return answer


def one_span(index: MetadataIndex, tiers: HotTiers, trace_id: str, span_id: str) -> Answer:
    """One span of a trace as a REST span (None when absent); a cold row wins over a hot one."""
    with extra_sources(index, tiers) as extra:
        sources = [Source(p, "cold") for p in index.trace_file_paths(trace_id)] + extra
        skipped: list[SkippedFile] = []
        found: dict[str, Any] | None = None
        columns, params = span_select()
        params |= {"tid": trace_id, "sid": span_id}
        rows = engine.stream_spans(sources, "trace_id = $tid AND span_id = $sid", params, skipped, columns)
        for row in rows:
            if found is None or (found["_tier"] == "hot" and row["_tier"] == "cold"):
                found = row
        return Answer(span_to_api(found) if found is not None else None, skipped)


def services(index: MetadataIndex, tiers: HotTiers) -> Answer:
    names = set(index.services())
    with extra_sources(index, tiers) as extra:
        result = engine.query_spans(extra, "TRUE", {}, select="DISTINCT service_name")
    names.update(r["service_name"] for r in result.rows)
    return Answer(sorted(names), result.skipped)
