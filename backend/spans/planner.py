"""Query planning and assembly: which files and tiers a query reads, and how rows are combined.

Blocking functions (called in worker threads). The index picks the cold files: `trace_files`
for a trace, per-service time ranges for listings. Listings walk files newest first and stop
once the newest `limit` rows are certain (the limit-th row is newer than anything an unread
file can hold), so the first page of a service with a million spans reads one or two files while
older pages stay reachable through the cursor. The hot snapshot and recently flushed files not
yet indexed are always added, and duplicates of (trace_id, span_id) keep the cold row.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import orjson
import pyarrow as pa

from backend.index.store import IndexedKey, KeyKind, ListKind, MetadataIndex
from backend.index.summary import LLM_PATTERN, WORKFLOW_MARK
from backend.spans import engine
from backend.spans.engine import SkippedFile, Source
from backend.spans.ingestion_client import HotTiers
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


@dataclass
class Answer:
    data: Any
    skipped: list[SkippedFile] = field(default_factory=list)
    next_cursor: str | None = None
    total: int | None = None
    total_exact: bool = True


@contextmanager
def extra_sources(index: MetadataIndex, tiers: HotTiers) -> Iterator[list[Source]]:
    """The hot snapshot and recently flushed cold files the index does not know yet.

    The snapshot is opened here and held open for the whole plan, and its size is checked
    against what PrepareHotSnapshot reported: a snapshot replaced in between (after a flush whose
    file the reported recent paths may not list) raises SnapshotChanged, so the caller asks again.
    A size < 0 accepts whatever snapshot is there (the caller's last attempt).
    """
    sources: list[Source] = []
    if tiers.recent_cold_paths:
        indexed = index.indexed_subset(tiers.recent_cold_paths)
        sources.extend(Source(p, "cold") for p in tiers.recent_cold_paths if p not in indexed)
    fd: int | None = None
    if tiers.snapshot_path:
        try:
            fd = os.open(tiers.snapshot_path, os.O_RDONLY)
        except FileNotFoundError:
            if tiers.snapshot_size >= 0:
                raise SnapshotChanged from None
        if fd is not None:
            if tiers.snapshot_size >= 0 and os.fstat(fd).st_size != tiers.snapshot_size:
                os.close(fd)
                raise SnapshotChanged
            sources.append(Source(tiers.snapshot_path, "hot", fd))
    try:
        yield sources
    finally:
        if fd is not None:
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
    return " AND ".join(clauses), params


def _sort_key(row: dict[str, Any]) -> tuple[int, str]:
    return row["start_time"], row["span_id"]


def _merge(collected: dict[tuple[str, str], dict[str, Any]], rows: list[dict[str, Any]]) -> None:
    """Adds rows, deduplicating by (trace_id, span_id); a cold row replaces a hot one."""
    for row in rows:
        key = (row["trace_id"], row["span_id"])
        old = collected.get(key)
        if old is None or (old["_tier"] == "hot" and row["_tier"] == "cold"):
            collected[key] = row


def _is_workflow(row: dict[str, Any]) -> bool:
    try:
        attrs = orjson.loads(row["attributes"])
    except orjson.JSONDecodeError:
        return False
    return isinstance(attrs, dict) and attrs.get("junjo.span_type") == "workflow"


def list_spans(index: MetadataIndex, tiers: HotTiers, q: ListQuery) -> Answer:
    """One page of a service's spans / roots / workflows, newest first."""
    with extra_sources(index, tiers) as extra:
        return _list_spans(index, tiers, q, extra)


def _list_spans(index: MetadataIndex, tiers: HotTiers, q: ListQuery, extra: list[Source]) -> Answer:
    files = index.service_files(q.service, q.kind, q.errors_only, q.start_ns, q.end_ns)
    total = sum(f.count for f in files)
    exact = not (extra or tiers.degraded or q.name_contains or q.has_llm or q.start_ns or q.end_ns)
    if q.kind != "spans" and not q.name_contains and index.keys_complete():
        answer = _list_keyed(index, q, extra)
        answer.total, answer.total_exact = total, exact
        return answer
    if q.cursor is not None:
        files = [f for f in files if f.min_start_ns <= q.cursor[0]]
    where, params = build_where(q)
    tables: dict[str, pa.Table] = {}
    skipped: list[SkippedFile] = []
    if q.has_llm:
        hot_ids, hot_skipped = _llm_trace_ids(extra, q.service)
        skipped.extend(hot_skipped)
        ids = hot_ids | set(index.llm_trace_ids_for_service(q.service))
        tables["llm_ids"] = pa.table({"trace_id": pa.array(sorted(ids), pa.string())})
        where += " AND trace_id IN (SELECT trace_id FROM llm_ids)"
        llm_counts = index.llm_trace_counts(q.service)
        files = [replace(f, count=llm_counts.get(f.path, 0)) for f in files]

    collected: dict[tuple[str, str], dict[str, Any]] = {}
    pos, target, first = 0, q.limit, True
    ordered: list[dict[str, Any]] = []
    while True:
        chunk: list[Source] = list(extra) if first else []
        seen = 0
        while pos < len(files) and (seen < target or not chunk):
            chunk.append(Source(files[pos].path, "cold"))
            seen += files[pos].count
            pos += 1
        first = False
        result = engine.query_spans(chunk, where, params, limit=q.limit, tables=tables)
        skipped.extend(result.skipped)
        _merge(collected, result.rows)
        ordered = sorted(collected.values(), key=_sort_key, reverse=True)
        if pos >= len(files):
            break
        if len(ordered) >= q.limit and ordered[q.limit - 1]["start_time"] > files[pos].max_start_ns:
            break
        target *= 2
    page = ordered[: q.limit]
    next_cursor = encode_cursor(*_sort_key(page[-1])) if len(page) == q.limit else None
    if q.kind == "workflows":
        page = [r for r in page if _is_workflow(r)]
    return Answer(page, skipped, next_cursor, total, exact)


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
            hot_llm, llm_skipped = _llm_trace_ids(extra, q.service)
            skipped.extend(llm_skipped)
            unindexed = engine.query_spans(extra, where, params, select="DISTINCT trace_id")
            indexed_llm = index.llm_trace_subset(q.service, [r["trace_id"] for r in unindexed.rows])
            ids = sorted(hot_llm | indexed_llm)
            tables["llm_ids"] = pa.table({"trace_id": pa.array(ids, pa.string())})
            where += " AND trace_id IN (SELECT trace_id FROM llm_ids)"
        result = engine.query_spans(extra, where, params, limit=q.limit, tables=tables)
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
    extra_rows = [r for r in extra_rows if r["_tier"] == "cold" or (r["trace_id"], r["span_id"]) not in keys]
    # (start, span_id, trace_id, an indexed key to read or an unindexed row already read)
    candidates: list[tuple[int, str, str, IndexedKey | dict[str, Any]]] = [
        (k.start_ns, k.span_id, k.trace_id, k) for k in keys.values()
    ]
    candidates += [(r["start_time"], r["span_id"], r["trace_id"], r) for r in extra_rows]
    candidates.sort(key=lambda c: (c[0], c[1]), reverse=True)
    winners = candidates[: q.limit]
    next_cursor = encode_cursor(winners[-1][0], winners[-1][1]) if len(winners) == q.limit else None

    wanted = [c[3] for c in winners if isinstance(c[3], IndexedKey)]
    collected: dict[tuple[str, str], dict[str, Any]] = {}
    _merge(collected, [c[3] for c in winners if not isinstance(c[3], IndexedKey)])
    if wanted:
        result = engine.query_spans(
            [Source(p, "cold") for p in dict.fromkeys(k.path for k in wanted)],
            "service_name = $svc AND start_time >= $lo AND start_time <= $hi AND array_has($ids, span_id)",
            {
                "svc": q.service,
                "lo": _ts(min(k.start_ns for k in wanted)),
                "hi": _ts(max(k.start_ns for k in wanted)),
                "ids": pa.scalar([k.span_id for k in wanted], pa.list_(pa.string())),
            },
        )
        skipped.extend(result.skipped)
        wanted_ids = {(k.trace_id, k.span_id) for k in wanted}
        _merge(collected, [r for r in result.rows if (r["trace_id"], r["span_id"]) in wanted_ids])
    page = sorted(collected.values(), key=_sort_key, reverse=True)
    if q.kind == "workflows":
        page = [r for r in page if _is_workflow(r)]
    return Answer(page, skipped, next_cursor)


def _llm_trace_ids(sources: list[Source], service: str) -> tuple[set[str], list[SkippedFile]]:
    """Trace ids with an LLM span of `service` in `sources` (the tiers the index has not seen)."""
    result = engine.query_spans(
        sources,
        "service_name = $svc AND regexp_like(attributes, $re)",
        {"svc": service, "re": LLM_PATTERN},
        select="DISTINCT trace_id",
    )
    return {r["trace_id"] for r in result.rows}, result.skipped


def trace_spans(index: MetadataIndex, tiers: HotTiers, trace_id: str) -> Answer:
    """Every span of one trace from its indexed files plus the unindexed tiers, newest first."""
    with extra_sources(index, tiers) as extra:
        sources = [Source(p, "cold") for p in index.trace_file_paths(trace_id)] + extra
        result = engine.query_spans(sources, "trace_id = $tid", {"tid": trace_id})
    collected: dict[tuple[str, str], dict[str, Any]] = {}
    _merge(collected, result.rows)
    return Answer(sorted(collected.values(), key=_sort_key, reverse=True), result.skipped)


def services(index: MetadataIndex, tiers: HotTiers) -> Answer:
    names = set(index.services())
    with extra_sources(index, tiers) as extra:
        result = engine.query_spans(extra, "TRUE", {}, select="DISTINCT service_name")
    names.update(r["service_name"] for r in result.rows)
    return Answer(sorted(names), result.skipped)
