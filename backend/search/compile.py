"""A parsed search → a DataFusion predicate over the span columns, plus the index lookups that
narrow which files it reads.

User text reaches SQL only as `param_values` placeholders: the SQL text is assembled from fixed
fragments and generated placeholder names. Attributes are compact JSON with sorted keys (span
format v1), so an attribute is found by a regular expression anchored on `{` or `,` before its
quoted key (a quote inside a JSON string is always escaped, so the anchor cannot match there);
key and value are JSON-encoded, then regex-escaped. Numbers are compared after `TRY_CAST`, so a
malformed value is simply no match. Free text is matched case-insensitively in the span name
(LIKE, wildcards escaped) and inside attribute string values (not keys).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
import pyarrow as pa

from backend.search.attributes import INDEXED_ATTRIBUTES, MAX_VALUE_CHARS, canonical
from backend.search.language import And, Compare, Node, Not, Or, Scalar, SearchSyntaxError, Text
from junjo_common.spanformat.v1 import SPAN_KIND_NAMES, STATUS_ERROR, STATUS_OK, STATUS_UNSET, TIMESTAMP

_STATUS = {"unset": STATUS_UNSET, "ok": STATUS_OK, "error": STATUS_ERROR}
_KINDS = {name.lower(): number for number, name in SPAN_KIND_NAMES.items()}
# regex-syntax's meta characters (Rust regex, which DataFusion uses); nothing else may be escaped.
_META = frozenset("\\.+*?()|[]{}^$#&-~")
_REST_OF_STRING = r'(?:[^"\\]|\\.)*"[,}\]]'
_JSON_NUMBER = r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?"


def regex_escape(text: str) -> str:
    return "".join(f"\\{c}" if c in _META else c for c in text)


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def json_text(value: Scalar) -> str:
    """How `value` appears in a compact JSON column."""
    return orjson.dumps(value).decode()


@dataclass
class CompiledSearch:
    """`where` (with `$sN` placeholders bound by `params`) and the attribute equalities every match
    must satisfy (top-level AND): those on an indexed attribute, looked up in the index's values,
    and all of them (with a value short enough to be recorded), checked against its filters."""

    where: str
    params: dict[str, Any] = field(default_factory=dict)
    indexed: list[tuple[str, str]] = field(default_factory=list)  # (attribute, canonical value), ANDed
    filtered: list[tuple[str, str]] = field(default_factory=list)  # (attribute, canonical value), ANDed


class _Compiler:
    def __init__(self) -> None:
        self.params: dict[str, Any] = {}

    def param(self, value: Any) -> str:
        name = f"s{len(self.params)}"
        self.params[name] = value
        return f"${name}"

    def node(self, node: Node) -> str:
        if isinstance(node, And):
            return "(" + " AND ".join(self.node(n) for n in node.operands) + ")"
        if isinstance(node, Or):
            return "(" + " OR ".join(self.node(n) for n in node.operands) + ")"
        if isinstance(node, Not):
            return f"(NOT {self.node(node.operand)})"
        if isinstance(node, Text):
            return self.text(node.text)
        return self.field(node) if node.field else self.attribute(node)

    def text(self, text: str) -> str:
        """`text` in the name or inside an attribute's string value: the match must run on to a
        closing quote followed by `,`, `}` or `]` (a key's closing quote is followed by `:`)."""
        in_name = self.param(f"%{escape_like(text)}%")
        in_value = self.param("(?i)" + regex_escape(json_text(text)[1:-1]) + _REST_OF_STRING)
        return f"(name ILIKE {in_name} ESCAPE '\\' OR regexp_like(attributes, {in_value}))"

    def attribute(self, c: Compare) -> str:
        key = regex_escape(json_text(c.key))
        exists = f"regexp_like(attributes, {self.param('[{,]' + key + ':')})"
        if c.op == "exists":
            return exists
        if c.op in ("=", "!="):
            equal = self.equal(key, c.value)
            return equal if c.op == "=" else f"({exists} AND NOT {equal})"
        number = self.number(key)
        return f"COALESCE({number} {c.op} {self.param(float(c.value))}, FALSE)"  # type: ignore[arg-type]

    def number(self, key: str) -> str:
        pattern = self.param("[{,]" + key + ":(" + _JSON_NUMBER + ")[,}]")
        return f"TRY_CAST(regexp_match(attributes, {pattern})[1] AS DOUBLE)"

    def equal(self, key: str, value: Scalar | None) -> str:
        """The attribute equals `value`; a number or boolean also matches the same text as a string."""
        assert value is not None
        as_string = json_text(value if isinstance(value, str) else canonical(value))
        clauses = [
            f"regexp_like(attributes, {self.param('[{,]' + key + ':' + regex_escape(as_string) + '[,}]')})"
        ]
        if isinstance(value, bool):
            clauses.append(
                f"regexp_like(attributes, {self.param('[{,]' + key + ':' + json_text(value) + '[,}]')})"
            )
        elif isinstance(value, int | float):
            clauses.append(f"COALESCE({self.number(key)} = {self.param(float(value))}, FALSE)")
        return clauses[0] if len(clauses) == 1 else "(" + " OR ".join(clauses) + ")"

    def field(self, c: Compare) -> str:
        if c.key == "duration":
            return f"(duration_ns {c.op} {self.param(int(c.value))})"  # type: ignore[arg-type]
        if c.key == "start":
            return f"(start_time {c.op} {self.param(_timestamp(c.value, c.position))})"
        if c.op not in ("=", "!="):
            raise SearchSyntaxError(f"{c.key} takes = or !=", c.position)
        if c.key == "status":
            code = _STATUS.get(str(c.value).lower())
            if code is None:
                raise SearchSyntaxError("status is ok, error or unset", c.position)
            return f"(status_code {c.op} {self.param(pa.scalar(code, pa.int8()))})"
        if c.key == "kind":
            kind = _KINDS.get(str(c.value).lower())
            if kind is None:
                raise SearchSyntaxError(f"kind is one of {', '.join(_KINDS)}", c.position)
            return f"(span_kind {c.op} {self.param(pa.scalar(kind, pa.int8()))})"
        column = {"name": "name", "service": "service_name", "trace_id": "trace_id"}[c.key]
        if c.key == "trace_id":
            c = Compare(c.key, True, c.op, str(c.value).lower(), c.position)
        value = canonical(c.value)  # type: ignore[arg-type]
        return f"({column} {c.op} {self.param(value)})"


def _timestamp(value: Scalar | None, position: int) -> pa.Scalar:
    if not isinstance(value, str):
        raise SearchSyntaxError("start takes an ISO 8601 time, e.g. start >= 2026-01-31T12:00:00Z", position)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise SearchSyntaxError(f"{value!r} is not an ISO 8601 time", position) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    ns = int(moment.timestamp()) * 10**9 + moment.microsecond * 1000
    return pa.scalar(min(max(ns, 0), 2**63 - 1), type=TIMESTAMP)


def _required(node: Node) -> list[tuple[str, str]]:
    """The (attribute, canonical value) equalities every match must satisfy (top-level AND only)."""
    operands = node.operands if isinstance(node, And) else (node,)
    return [
        (n.key, canonical(n.value))
        for n in operands
        if isinstance(n, Compare) and not n.field and n.op == "=" and n.value is not None
    ]


def compile_search(node: Node) -> CompiledSearch:
    compiler = _Compiler()
    where = compiler.node(node)
    required = _required(node)
    return CompiledSearch(
        where,
        compiler.params,
        indexed=[(key, value) for key, value in required if key in INDEXED_ATTRIBUTES],
        filtered=[(key, value) for key, value in required if len(value) <= MAX_VALUE_CHARS],
    )
