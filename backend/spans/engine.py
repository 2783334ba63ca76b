"""DataFusion execution over an explicit set of Parquet files (cold files and the hot snapshot)
and in-memory tables (hot tiers streamed from ingesters that share no disk with the backend).

Local files and in-memory tables are queried in a fresh SessionContext per query, so files added
or deleted since the last query never break it. Every local file is opened first and registered
through `/proc/self/fd/<n>`: the open descriptor pins the file's content, so retention unlinking a
cold file or ingestion renaming a new hot snapshot over the old path cannot change or break a query
in flight. Cold files on object storage (`s3://…` locations, see backend/index/cold.py) are queried
in place through DataFusion's own S3 store (range requests for the footer and the pages the
filters leave, the same pushdown) in one long-lived session, `ObjectSession`, whose runtime keeps
their footers across queries (see there).
Files that cannot be opened or read, or whose span format version this build does not know, are
skipped and reported; the query still answers from the rest.

Filters are pushed down (bloom filter on trace_id, row-group and page statistics), strings come
back as plain `string`, and every value reaches SQL through `param_values` placeholders only.
Timestamps come back as int64 nanoseconds.

The four JSON columns (attributes, events, links, resource) can hold megabytes per span after
decompression, and Parquet compresses repetitive text (and dictionary-encodes repeated values) so
well that file sizes say nothing about it. Queries that pick rows (listing pages, trace keys)
therefore read the thin columns only, and the JSON columns are read afterwards for the chosen rows
by `stream_spans`, one file at a time, usually as bounded expressions of them (`preview`: of a
span too large to answer whole, only its preview reaches Python). How many rows it decodes at
once comes from the file's footer (`json_reading`): the decoded size of the JSON columns in
each row group. A batch never spans row groups; row groups over `FAT_ROW_GROUP_BYTES` are read
one row at a time, smaller ones in batches of about `BATCH_JSON_BYTES`. A file with a fat row
group (`limits.is_fat`) is read in its turn (`limits.fat_read_turn`): such reads take turns.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext, suppress
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

import pyarrow as pa
import pyarrow.parquet as pq

from backend.spans import allocators  # noqa: F401  (before DataFusion loads: its mimalloc reads them)

# isort: split
from datafusion import SessionConfig, SessionContext

from backend.index.cold import ObjectColdFiles
from backend.spans.limits import FAT_ROW_GROUP_BYTES, JSON_COLUMNS, fat_read_turn, is_fat
from junjo_common import spanformat
from junjo_common.object_store import SCHEME
from junjo_common.spanformat.v1 import COLUMNS

Tier = Literal["cold", "hot"]
ORDER_DESC = "ORDER BY start_time DESC, span_id DESC"
ORDER_ASC = "ORDER BY start_time ASC, span_id ASC"
BATCH_JSON_BYTES = 4 * 1024 * 1024
DEFAULT_BATCH_ROWS = 8192  # DataFusion's own default batch size
# The object files' footers (metadata and page indexes, decoded) kept between queries, least
# recently used dropped first.
OBJECT_FOOTER_CACHE_BYTES = 32 * 1024 * 1024
_FOOTER_CACHE_ENTRIES = 1024
_format_cache: OrderedDict[object, str | None] = OrderedDict()
_schema_cache: OrderedDict[str, pa.Schema] = OrderedDict()
_footer_lock = threading.Lock()
# Cold files on object storage and the session they are queried in: set at start when
# JUNJO_OBJECT_STORE_URL is (one per process).
_object_files: ObjectColdFiles | None = None
_object_session: ObjectSession | None = None


def use_object_store(files: ObjectColdFiles | None) -> None:
    global _object_files, _object_session
    _object_files = files
    _object_session = ObjectSession(files) if files is not None else None


def _select(columns: tuple[str, ...]) -> str:
    return ", ".join(f"CAST({c} AS BIGINT) AS {c}" if c in ("start_time", "end_time") else c for c in columns)


_SELECT = _select(COLUMNS)
_SELECT_THIN = _select(tuple(c for c in COLUMNS if c not in JSON_COLUMNS))
_SELECT_KEYS = _select(("trace_id", "span_id", "start_time"))


@dataclass(frozen=True)
class Source:
    path: str
    tier: Tier
    fd: int | None = field(default=None, compare=False)  # already open (pins a hot snapshot)
    table: pa.Table | None = field(default=None, compare=False)  # in memory (a streamed hot tier)


@dataclass
class SkippedFile:
    path: str
    reason: str


@dataclass
class QueryResult:
    rows: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)


def _config() -> SessionConfig:
    return (
        SessionConfig()
        .with_target_partitions(1)  # mostly one file per query: more partitions only add threads
        .set("datafusion.execution.parquet.pushdown_filters", "true")
        .set("datafusion.execution.parquet.reorder_filters", "true")
        .set("datafusion.execution.parquet.schema_force_view_types", "false")
        .set("datafusion.execution.parquet.bloom_filter_on_read", "true")
        .set("datafusion.execution.parquet.max_predicate_cache_size", "0")
        # Footer + page index fit in 64 KiB; the 512 KiB default read most of a hot snapshot
        # (twice: schema, then scan) per query.
        .set("datafusion.execution.parquet.metadata_size_hint", str(64 * 1024))
    )


class LocalFile:
    """A local file, pinned by an open descriptor."""

    in_memory = False

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def footer_source(self) -> str:
        return f"/proc/self/fd/{self.fd}"

    def identity(self) -> object:
        st = os.fstat(self.fd)
        return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)

    def register(self, ctx: SessionContext, name: str) -> None:
        ctx.register_parquet(name, self.footer_source(), file_extension="")

    def close(self) -> None:
        os.close(self.fd)


class ObjectFile:
    """An object in the cold bucket, read in place (objects are never rewritten under a name)."""

    in_memory = False

    def __init__(self, location: str, files: ObjectColdFiles) -> None:
        self.location, self.files = location, files

    def footer_source(self) -> Any:
        return self.files.open(self.location)

    def identity(self) -> object:
        return self.location

    def register(self, ctx: SessionContext, name: str) -> None:
        """With the schema DataFusion found the first time: registering then asks the store
        nothing (the scan still asks for the object itself)."""
        with _footer_lock:
            schema = _schema_cache.get(self.location)
            if schema is not None:
                _schema_cache.move_to_end(self.location)
        ctx.register_parquet(name, self.location, file_extension="", schema=schema)
        if schema is None:
            with _footer_lock:
                _schema_cache[self.location] = ctx.table(name).schema()
                if len(_schema_cache) > _FOOTER_CACHE_ENTRIES:
                    _schema_cache.popitem(last=False)

    def close(self) -> None:
        pass


class MemoryTable:
    """A hot tier streamed from an ingester, decoded already."""

    in_memory = True

    def __init__(self, table: pa.Table) -> None:
        self.table = table

    def register(self, ctx: SessionContext, name: str) -> None:
        ctx.register_record_batches(name, [self.table.to_batches()])

    def close(self) -> None:
        pass


Handle = LocalFile | ObjectFile | MemoryTable


class ObjectSession:
    """The one DataFusion session object files are queried in, for the life of the process.

    A fresh session per query would read every object's footer again on every query (a round trip
    or two each, before any page). This session's runtime keeps the footers it has read (Parquet
    metadata and page indexes), at most OBJECT_FOOTER_CACHE_BYTES, least recently used dropped
    first, and reuses one only for the same object path, size and last-modified time (objects are
    written once under their name). File listings are not cached: each statement asks the store
    for the objects it reads (one HEAD each; their schemas are known after the first time, see
    `ObjectFile.register`), so an object deleted by retention is never looked for from a stale
    listing.

    Queries share it through `Scope`s: a query's tables get names of its own and are dropped when
    it ends. The batch size is the one setting that differs between queries; a DataFrame keeps
    the settings the session had when it was planned, so setting it and planning happen under one
    lock, and execution runs concurrently.
    """

    def __init__(self, files: ObjectColdFiles) -> None:
        self.ctx = SessionContext(_config())
        self.ctx.register_object_store(SCHEME, files.datafusion_store(), files.config.bucket)
        self.ctx.sql(f"SET datafusion.runtime.metadata_cache_limit = '{OBJECT_FOOTER_CACHE_BYTES >> 10}K'")
        self.ctx.sql("SET datafusion.runtime.list_files_cache_limit = '0K'")
        # No separate statistics cache: they come from the cached footers, and entries kept by
        # table would only pile up (every query's table names are new).
        self.ctx.sql("SET datafusion.runtime.file_statistics_cache_limit = '0K'")
        self._plan_lock = threading.Lock()
        self._scopes = itertools.count(1)

    def scope(self, tables: dict[str, pa.Table] | None, batch_rows: int | None) -> Scope:
        return Scope(self, f"q{next(self._scopes)}_", tables, batch_rows)

    def plan(self, sql: str, params: dict[str, Any], batch_rows: int | None) -> Any:
        with self._plan_lock:
            self.ctx.sql(f"SET datafusion.execution.batch_size = {batch_rows or DEFAULT_BATCH_ROWS}")
            return self.ctx.sql(sql, param_values=params)


class Scope:
    """One query's tables in a session: its own SessionContext (local files, in-memory tables),
    or, with a `session`, names of its own in the shared ObjectSession. `tables` (id sets to
    semi-join against) are visible to every statement under the names the caller gave them."""

    def __init__(
        self,
        session: ObjectSession | None,
        prefix: str = "",
        tables: dict[str, pa.Table] | None = None,
        batch_rows: int | None = None,
    ) -> None:
        self.session, self.prefix, self.batch_rows = session, prefix, batch_rows
        if session is None:
            config = _config() if batch_rows is None else _config().with_batch_size(batch_rows)
            self.ctx = SessionContext(config)
        else:
            self.ctx = session.ctx
        self.names: list[str] = []
        aliases = []
        for name, table in (tables or {}).items():
            self.ctx.from_arrow(table, name=prefix + name)
            self.names.append(prefix + name)
            aliases.append(f"{name} AS (SELECT * FROM {prefix}{name})")
        # a query in the shared session reads the tables under their own names through a WITH
        self.with_clause = f"WITH {', '.join(aliases)} " if session is not None and aliases else ""

    def register(self, handle: Handle, name: str) -> str:
        """Registers the file or table as `name`; returns what SQL calls it here."""
        own = self.prefix + name
        handle.register(self.ctx, own)
        self.names.append(own)
        return own

    def sql(self, sql: str, params: dict[str, Any]) -> Any:
        """The statement planned (a DataFrame, executed by the caller)."""
        if self.session is None:
            return self.ctx.sql(sql, param_values=params)
        return self.session.plan(self.with_clause + sql, params, self.batch_rows)

    def close(self) -> None:
        if self.session is not None:
            for name in self.names:
                self.ctx.deregister_table(name)
        self.names = []

    def __enter__(self) -> Scope:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _scope_for(
    handle: Handle, tables: dict[str, pa.Table] | None = None, batch_rows: int | None = None
) -> Scope:
    """The shared session for an object file, a context of its own for anything else."""
    if isinstance(handle, ObjectFile) and _object_session is not None:
        return _object_session.scope(tables, batch_rows)
    return Scope(None, tables=tables, batch_rows=batch_rows)


class OpenFiles:
    """Opens each source once; a missing or non-file path is skipped (not an error)."""

    def __init__(self, sources: list[Source]) -> None:
        self.opened: list[tuple[Source, Handle]] = []
        self.skipped: list[SkippedFile] = []
        seen: set[str] = set()
        for source in sources:
            if source.path in seen:
                continue
            seen.add(source.path)
            if source.table is not None:
                if source.table.num_rows:
                    self.opened.append((source, MemoryTable(source.table)))
                continue
            if _object_files is not None and source.path.startswith(SCHEME):
                self._open_object(source, _object_files)
                continue
            try:
                fd = os.dup(source.fd) if source.fd is not None else os.open(source.path, os.O_RDONLY)
            except FileNotFoundError:
                continue  # deleted by retention or replaced: its rows are gone or elsewhere
            except OSError as exc:
                self.skipped.append(SkippedFile(source.path, f"cannot open: {exc.strerror}"))
                continue
            if os.fstat(fd).st_size == 0:
                os.close(fd)
                self.skipped.append(SkippedFile(source.path, "empty file (0 bytes)"))
                continue
            local = LocalFile(fd)
            refused = _unknown_format(source.path, local)
            if refused is not None:
                local.close()
                self.skipped.append(SkippedFile(source.path, refused))
                continue
            self.opened.append((source, local))

    def _open_object(self, source: Source, files: ObjectColdFiles) -> None:
        remote = ObjectFile(source.path, files)
        try:
            refused = _unknown_format(source.path, remote)
        except FileNotFoundError:
            return  # deleted by retention: its rows are gone
        except Exception as exc:  # the store cannot be reached
            self.skipped.append(SkippedFile(source.path, f"cannot read: {_short(exc)}"))
            return
        if refused is not None:
            self.skipped.append(SkippedFile(source.path, refused))
            return
        self.opened.append((source, remote))

    def close(self) -> None:
        for _, handle in self.opened:
            handle.close()
        self.opened = []

    def __enter__(self) -> OpenFiles:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _unknown_format(path: str, handle: LocalFile | ObjectFile) -> str | None:
    """Why the open file cannot be read as spans by this build (a format version it does not know),
    or None. A file whose footer cannot be read is left to DataFusion, which reports it. Known
    per file identity (objects are never rewritten under a name): an object's footer is read over
    the network once, not on every query."""
    key = ("format", handle.identity())
    with _footer_lock:
        if key in _format_cache:
            _format_cache.move_to_end(key)
            return _format_cache[key]
    source = handle.footer_source()  # an object that is gone raises FileNotFoundError here
    try:
        metadata = pq.read_schema(source).metadata
    except (OSError, pa.ArrowException):
        return None
    try:
        spanformat.format_of(path, metadata)
        reason = None
    except spanformat.UnknownFormatVersion as exc:
        reason = exc.reason
    with _footer_lock:
        _format_cache[key] = reason
        if len(_format_cache) > _FOOTER_CACHE_ENTRIES:
            _format_cache.popitem(last=False)
    return reason


def query_spans(
    sources: list[Source],
    where: str,
    params: dict[str, Any],
    limit: int | None = None,
    tables: dict[str, pa.Table] | None = None,
    select: str | None = None,
    oldest_first: bool = False,
    keys_only: bool = False,
) -> QueryResult:
    """Thin rows from every readable source matching `where` (a predicate with `$name` placeholders).

    By default every column but the four JSON ones, plus `_tier` and `_path` (the row's file, for
    `stream_spans`); `keys_only` keeps only trace_id, span_id and start_time of them (a page is
    chosen from those, and the chosen rows are read whole afterwards); `select` replaces the
    column list (e.g. `DISTINCT service_name`). `tables`
    are extra in-memory tables (e.g. an id set to semi-join against). With `limit`, the newest
    (or with `oldest_first` the oldest) `limit` rows by (start_time, span_id) are returned.
    """
    result = QueryResult()
    with OpenFiles(sources) as files, _fat_turn(_decodes_fat_json(files.opened, where)):
        result.skipped.extend(files.skipped)
        if not files.opened:
            return result
        try:
            result.rows = _run(
                files.opened, where, params, limit, tables, select, oldest_first, result, keys_only
            )
        except Exception:  # some file's pages are corrupt: query one by one to find it
            rows: list[dict[str, Any]] = []
            result.skipped = list(files.skipped)
            for item in files.opened:
                try:
                    rows.extend(
                        _run([item], where, params, limit, tables, select, oldest_first, result, keys_only)
                    )
                except Exception as exc:
                    result.skipped.append(SkippedFile(item[0].path, f"unreadable: {_short(exc)}"))
            if select is None:
                rows.sort(key=_row_key, reverse=not oldest_first)
            result.rows = rows[:limit] if limit is not None else rows
    pa.default_memory_pool().release_unused()
    return result


class JsonReading(NamedTuple):
    """How a file's JSON columns are read: rows per batch (None: DataFusion's default batch),
    and whether the file has a fat row group."""

    batch_rows: int | None
    fat: bool


_footer_cache: OrderedDict[object, JsonReading] = OrderedDict()


def json_reading(handle: LocalFile | ObjectFile) -> JsonReading:
    """Rows per batch that keep a batch's decoded JSON columns near BATCH_JSON_BYTES, and whether
    a row group is fat, from the file's footer.

    A row group over FAT_ROW_GROUP_BYTES is read one row at a time (its size may sit in a few
    rows); a smaller one in batches of its average row size, so a batch never holds more than
    the row group. Plainly encoded columns decode to about their uncompressed page size; a
    dictionary-encoded column can repeat its largest value in every row, so it counts rows x its
    uncompressed size. Cached per file identity (device, inode, size, mtime; an object's
    location): cold files never change.
    """
    key = handle.identity()
    with _footer_lock:
        if key in _footer_cache:
            _footer_cache.move_to_end(key)
            return _footer_cache[key]
    meta = pq.read_metadata(handle.footer_source())
    names = meta.schema.names
    columns = [names.index(c) for c in JSON_COLUMNS if c in names]
    rows: int | None = None
    fat = False
    for g in range(meta.num_row_groups):
        group = meta.row_group(g)
        size = 0
        for i in columns:
            chunk = group.column(i)
            per_value = chunk.total_uncompressed_size
            size += per_value * group.num_rows if chunk.has_dictionary_page else per_value
        fat = fat or is_fat(size, group.num_rows)
        if size > FAT_ROW_GROUP_BYTES:
            rows = 1
        elif size > BATCH_JSON_BYTES:
            fitting = max(1, group.num_rows * BATCH_JSON_BYTES // size)
            rows = fitting if rows is None else min(rows, fitting)
    reading = JsonReading(rows, fat)
    with _footer_lock:
        _footer_cache[key] = reading
        if len(_footer_cache) > _FOOTER_CACHE_ENTRIES:
            _footer_cache.popitem(last=False)
    return reading


def _reading(handle: Handle) -> JsonReading:
    """`json_reading` of a file; an in-memory table is decoded already (its batches cost nothing
    more)."""
    return JsonReading(None, False) if isinstance(handle, MemoryTable) else json_reading(handle)


def _fat_turn(fat: bool) -> AbstractContextManager[Any]:
    return fat_read_turn() if fat else nullcontext()


def _decodes_fat_json(items: list[tuple[Source, Handle]], where: str) -> bool:
    """Whether a query with predicate `where` decodes a fat row group's JSON columns."""
    if not any(column in where for column in JSON_COLUMNS):
        return False
    fat = False
    for _, handle in items:
        with suppress(Exception):  # an unreadable footer: the query itself reports the file
            fat = fat or _reading(handle).fat
    return fat


def stream_spans(
    sources: list[Source],
    where: str,
    params: dict[str, Any],
    skipped: list[SkippedFile],
    columns: str = ", ".join(JSON_COLUMNS),
) -> Iterator[dict[str, Any]]:
    """Rows matching `where`: the thin columns, `columns` (SQL; by default the four JSON columns,
    whole), `_tier` and `_path`. `params` fill the placeholders of `where` and `columns`.

    Files are read one after another, in batches sized by `json_reading`, so memory holds one
    small row group's rows or a single row whatever the spans' sizes; callers convert or drop
    each row before taking the next. A file with a fat row group is read in its turn.
    Unreadable files are appended to `skipped`.
    """
    select = f"{_SELECT_THIN}, {columns}"
    with OpenFiles(sources) as files:
        skipped.extend(files.skipped)
        for source, handle in files.opened:
            try:
                reading = _reading(handle)
                with _fat_turn(reading.fat), _scope_for(handle, batch_rows=reading.batch_rows) as scope:
                    table = scope.register(handle, "t")
                    query = scope.sql(f"SELECT {select} FROM {table} WHERE {where}", params)
                    for batch in query.execute_stream():
                        for row in batch.to_pyarrow().to_pylist():
                            row["_tier"], row["_path"] = source.tier, source.path
                            yield row
            except Exception as exc:  # unreadable footer or corrupt pages
                skipped.append(SkippedFile(source.path, f"unreadable: {_short(exc)}"))
    pa.default_memory_pool().release_unused()


def _short(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__


def _run(
    items: list[tuple[Source, Handle]],
    where: str,
    params: dict[str, Any],
    limit: int | None,
    tables: dict[str, pa.Table] | None,
    select: str | None,
    oldest_first: bool,
    result: QueryResult,
    keys_only: bool = False,
) -> list[dict[str, Any]]:
    batch_rows = None
    if any(column in where for column in JSON_COLUMNS):  # a predicate decodes the JSON columns
        sizes = [r.batch_rows for r in (_reading(h) for _, h in items) if r.batch_rows is not None]
        batch_rows = min(sizes) if sizes else None
    # Object files in the shared session, everything else in one context of this query's; every
    # file is its own statement (its rows merged here), so they need not share a session.
    scopes: dict[bool, Scope] = {}
    try:
        parts = []
        for i, (source, handle) in enumerate(items):
            shared = isinstance(handle, ObjectFile) and _object_session is not None
            if shared not in scopes:
                scopes[shared] = _scope_for(handle, tables, batch_rows)
            scope = scopes[shared]
            try:
                table = scope.register(handle, f"t{i}")
            except Exception as exc:  # unreadable footer: not a Parquet file, truncated, ...
                result.skipped.append(SkippedFile(source.path, f"unreadable: {_short(exc)}"))
                continue
            thin = _SELECT_KEYS if keys_only else _SELECT_THIN
            columns = select or f"{thin}, '{source.tier}' AS _tier, {i} AS _source"
            parts.append((scope, f"SELECT {columns} FROM {table} WHERE {where}"))
        # Span rows: one file at a time, merged here. A UNION ALL over the files decodes them all
        # at once (one partition and one tokio reader thread each, and every thread keeps its own
        # allocator heap): much more peak RSS for a little less latency, which one core cannot use.
        rows: list[dict[str, Any]] = []
        order = ORDER_ASC if oldest_first else ORDER_DESC
        for scope, part in parts:
            sql = part if limit is None or select is not None else f"{part} {order} LIMIT {int(limit)}"
            rows.extend(scope.sql(sql, params).to_arrow_table().to_pylist())
    finally:
        for scope in scopes.values():
            scope.close()
    if select is not None:  # DISTINCT-style projections: each file's rows, as a UNION ALL gives
        return rows
    for row in rows:
        row["_path"] = items[row.pop("_source")][0].path
    if limit is not None:
        rows.sort(key=_row_key, reverse=not oldest_first)
        del rows[limit:]
    return rows


def _row_key(row: dict[str, Any]) -> tuple[int, str]:
    return row["start_time"], row["span_id"]
