"""Bounds on what the span API builds from telemetry, which is attacker-controlled.

Every number here bounds work by what was actually stored, never by what a span claims: JSON
nesting (the response encoder and `copy`/`jsonpatch` recurse; orjson refuses more than 254
levels when encoding), the text a listing row carries, and the bytes of one trace answer.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
import structlog

log = structlog.get_logger(__name__)

MAX_JSON_DEPTH = 64
"""Nesting kept in decoded telemetry JSON; deeper containers become `DEPTH_MARKER`."""
DEPTH_MARKER = f"[nested deeper than {MAX_JSON_DEPTH} levels: not shown]"

JSON_COLUMNS = ("attributes", "events", "links", "resource_attributes")
"""The span columns whose size the sender controls."""

# Decoded JSON takes up to ~20x its text in Python objects (`[{},{},...]`), so the byte bounds
# below are a few MiB: two concurrent answers stay well inside the backend's 384 MiB.
TRACE_SPAN_LIMIT = 2000
"""Spans in one trace answer; the rest are paged with the answer's cursor."""
TRACE_ANSWER_BYTES = 4 * 1024 * 1024
"""JSON-column bytes of the spans in one trace answer (at least one span is answered)."""
SPAN_VALUE_BYTES = 4 * 1024 * 1024
"""A span whose JSON columns exceed this is answered as a preview, never decoded whole."""
STATE_HISTORY_BYTES = 4 * 1024 * 1024
"""Before/after states one store history materialises; later transitions carry patches only."""
PREVIEW_PARSE_BYTES = 64 * 1024
"""Above this, a preview gets its few values out of the text in SQL instead of decoding it all."""

FAT_ROW_BYTES = 256 * 1024
"""A row group whose JSON text averages more than this per row is fat (see `fat_read_turn`)."""
FAT_ROW_GROUP_BYTES = 32 * 1024 * 1024
"""A row group with more JSON text than this is fat, whatever its rows."""
FAT_READ_WAIT_SECONDS = 120.0
"""How long a fat read waits for its turn before it goes ahead anyway."""
_fat_reads = threading.Lock()  # no owner: a reader's generator may be closed by another thread

PREVIEW_TEXT_CHARS = 256
"""A string attribute in a listing row keeps this many characters (then `…`)."""
PREVIEW_EVENTS = 16
"""Events a listing row names (failure events first); their attributes are left out."""
PREVIEW_ATTRIBUTES = (
    # What the list pages read: the span type, the node count, failure and cancellation
    # signals and the LLM badge.
    "junjo.span_type",
    "junjo.workflow.node.count",
    "junjo.cancelled",
    "error.type",
    "openinference.span.kind",
    "gen_ai.provider.name",
    "gen_ai.system",
    "gen_ai.operation.name",
)


def is_fat(json_bytes: int, rows: int) -> bool:
    """Whether a row group with `json_bytes` of decoded JSON text in `rows` rows is fat."""
    return json_bytes > FAT_ROW_GROUP_BYTES or json_bytes > rows * FAT_ROW_BYTES


@contextmanager
def fat_read_turn() -> Iterator[None]:
    """Held while a fat row group is decoded, by a query or by the indexer. Decoding a value costs
    a few times its text (the decompressed page, the value, the reader's buffers), so two such
    reads at once, or one beside the indexer, could pass the backend's memory limit: they take
    turns. Not re-entrant (a fat read reads nothing else meanwhile). A turn waited for longer than
    FAT_READ_WAIT_SECONDS (a reader left suspended) is taken anyway, so none waits for good."""
    turn = _fat_reads.acquire(timeout=FAT_READ_WAIT_SECONDS)
    if not turn:
        log.warning("fat_read_turn_timed_out", waited_seconds=FAT_READ_WAIT_SECONDS)
    try:
        yield
    finally:
        if turn:
            _fat_reads.release()


def may_nest_deeper(text: str | bytes, depth: int = MAX_JSON_DEPTH) -> bool:
    """False when `text` has too few brackets to nest `depth` levels (a C-speed pre-check)."""
    if isinstance(text, bytes):
        return text.count(b"{") + text.count(b"[") > depth
    return text.count("{") + text.count("[") > depth


def cap_depth(value: Any, depth: int = MAX_JSON_DEPTH) -> bool:
    """Replaces, in place, each container nested deeper than `depth` with `DEPTH_MARKER`.

    Iterative, so no nesting can exhaust the stack. Returns whether anything was replaced.
    """
    if not isinstance(value, dict | list):
        return False
    capped = False
    stack: list[tuple[dict[str, Any] | list[Any], int]] = [(value, 1)]
    while stack:
        node, level = stack.pop()
        items = list(node.items()) if isinstance(node, dict) else list(enumerate(node))
        for key, child in items:
            if not isinstance(child, dict | list):
                continue
            if level >= depth:
                node[key] = DEPTH_MARKER  # type: ignore[index]
                capped = True
            else:
                stack.append((child, level + 1))
    return capped


def nests_deeper(value: Any, depth: int = MAX_JSON_DEPTH) -> bool:
    """Whether `value` holds a container more than `depth` levels down (iterative)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, level = stack.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        for child in children:
            if isinstance(child, dict | list):
                if level >= depth:
                    return True
                stack.append((child, level + 1))
    return False


def loads_capped(text: str | bytes) -> Any:
    """orjson.loads with nesting capped at MAX_JSON_DEPTH (raises orjson.JSONDecodeError)."""
    value = orjson.loads(text)
    if may_nest_deeper(text):
        cap_depth(value)
    return value
