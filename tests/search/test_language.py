"""The search language's parser: the tree it builds, and clear errors (with positions) for bad or
oversized input."""

from __future__ import annotations

import pytest

from backend.search.compile import compile_search
from backend.search.language import (
    MAX_DEPTH,
    MAX_QUERY_CHARS,
    MAX_TERMS,
    And,
    Compare,
    Not,
    Or,
    SearchSyntaxError,
    Text,
    parse,
)


def _c(key: str, op: str, value: object, field: bool = False) -> Compare:
    return Compare(key, field, op, value)  # type: ignore[arg-type]


def _strip(node: object) -> object:
    """The tree without positions (compared structurally below)."""
    if isinstance(node, Compare):
        return _c(node.key, node.op, node.value, node.field)
    if isinstance(node, And | Or):
        return type(node)(tuple(_strip(n) for n in node.operands))  # type: ignore[arg-type]
    if isinstance(node, Not):
        return Not(_strip(node.operand))  # type: ignore[arg-type]
    return node


@pytest.mark.parametrize(
    ("query", "tree"),
    [
        ("user.id = 42", _c("user.id", "=", 42)),
        ('user.id = "42"', _c("user.id", "=", "42")),
        ("user.id=alice", _c("user.id", "=", "alice")),
        ("cached = true", _c("cached", "=", True)),
        ("score >= -1.5e3", _c("score", ">=", -1500)),
        ("score < 0.25", _c("score", "<", 0.25)),
        ("model != gpt-4o", _c("model", "!=", "gpt-4o")),
        ("user.id exists", _c("user.id", "exists", None)),
        ('"name" = x', _c("name", "=", "x")),  # a quoted key is an attribute
        ("name = x", _c("name", "=", "x", True)),
        ("duration > 1.5s", _c("duration", ">", 1_500_000_000, True)),
        ("duration <= 200ms", _c("duration", "<=", 200_000_000, True)),
        ("status = error", _c("status", "=", "error", True)),
        ("refund", Text("refund")),
        ('"café ☕ \\"quoted\\""', Text('café ☕ "quoted"')),
        ("a = 1 b = 2", And((_c("a", "=", 1), _c("b", "=", 2)))),
        ("a = 1 AND b = 2", And((_c("a", "=", 1), _c("b", "=", 2)))),
        ("a = 1 OR b = 2 c", Or((_c("a", "=", 1), And((_c("b", "=", 2), Text("c")))))),
        ("NOT (a = 1 OR b exists)", Not(Or((_c("a", "=", 1), _c("b", "exists", None))))),
    ],
)
def test_parses(query: str, tree: object) -> None:
    assert _strip(parse(query)) == tree
    compile_search(parse(query))  # every valid query compiles


@pytest.mark.parametrize(
    ("query", "message", "position"),
    [
        ("", "empty query", 1),
        ("user.id =", "expected a value, found end of query", 10),
        ("user.id = (", "expected a value, found '('", 11),
        ('user.id = "open', "unterminated quoted string", 11),
        ("a = 1 !", "unexpected character", 7),
        ("(a = 1", "missing ')'", 7),
        ("a = 1)", "unexpected ')'", 6),
        ("score > high", "> needs a number", 7),
        ("duration > 5", "a duration needs a unit", 12),
        ("name exists", "name is a span field", 1),
        ("AND", "expected a term, found 'AND'", 1),
        ('x = "\\q"', "unknown escape \\q", 7),
    ],
)
def test_refuses_with_a_position(query: str, message: str, position: int) -> None:
    with pytest.raises(SearchSyntaxError) as caught:
        parse(query)
    assert message in str(caught.value)
    assert f"(at character {position})" in str(caught.value)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("status = maybe", "status is ok, error or unset"),
        ("kind = sideways", "kind is one of"),
        ("status > 1", "status takes = or !="),
        ("start >= yesterday", "is not an ISO 8601 time"),
    ],
)
def test_field_values_are_checked(query: str, message: str) -> None:
    with pytest.raises(SearchSyntaxError, match=message):
        compile_search(parse(query))


def test_bounds() -> None:
    with pytest.raises(SearchSyntaxError, match=f"longer than {MAX_QUERY_CHARS}"):
        parse("x" * (MAX_QUERY_CHARS + 1))
    parse(" ".join(f"k{i} = {i}" for i in range(MAX_TERMS)))
    with pytest.raises(SearchSyntaxError, match=f"more than {MAX_TERMS} terms"):
        parse(" ".join(f"k{i} = {i}" for i in range(MAX_TERMS + 1)))
    parse("(" * MAX_DEPTH + "a" + ")" * MAX_DEPTH)
    with pytest.raises(SearchSyntaxError, match="nested deeper"):
        parse("(" * (MAX_DEPTH + 1) + "a" + ")" * (MAX_DEPTH + 1))
    parse("NOT " * MAX_DEPTH + "a")
    with pytest.raises(SearchSyntaxError, match="nested deeper"):
        parse("NOT " * (MAX_DEPTH + 1) + "a")
    with pytest.raises(SearchSyntaxError, match="nested deeper"):
        parse("(NOT " * 100 + "a")


def test_values_reach_sql_as_parameters_only() -> None:
    compiled = compile_search(parse('name = "x\' OR 1=1 --" user.id = "\'; DROP" "100%_"'))
    for value in ("x' OR 1=1 --", "'; DROP", "100"):
        assert value not in compiled.where
    assert "%100\\%\\_%" in compiled.params.values()
