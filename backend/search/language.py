"""The span search language: a small recursive-descent parser from query text to an expression tree.

    query      := or_expr
    or_expr    := and_expr ("OR" and_expr)*
    and_expr   := unary (["AND"] unary)*          (terms side by side are ANDed)
    unary      := "NOT" unary | "(" or_expr ")" | term
    term       := key "exists" | key op value | text
    op         := "=" | "!=" | ">" | ">=" | "<" | "<="
    key        := word | "quoted"                  (a quoted key is always an attribute)
    value      := "quoted" | number | true | false | word | duration (5s, 200ms, 1.5m, 10us)
    text       := "quoted" | word                  (free text in the name and attribute values)

Keys `name`, `status`, `duration`, `service`, `kind`, `trace_id`, `start` are span fields; any
other key is an attribute. The parser bounds its own work: query length, number of terms and
nesting depth (NOT counts as a level) are capped, and each violation is a `SearchSyntaxError`
with the position.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

MAX_QUERY_CHARS = 1000
MAX_TERMS = 20
MAX_DEPTH = 8

Op = Literal["=", "!=", ">", ">=", "<", "<=", "exists"]
Scalar = str | int | float | bool
FIELDS = ("name", "status", "duration", "service", "kind", "trace_id", "start")
_DURATION_UNITS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "ms": 1_000_000,
    "s": 10**9,
    "m": 60 * 10**9,
    "h": 3600 * 10**9,
}

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<op>!=|>=|<=|=|>|<)
  | (?P<paren>[()])
  | (?P<word>[^\s"()=!<>]+)
    """,
    re.VERBOSE,
)
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_DURATION = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h)")
_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t"}


class SearchSyntaxError(ValueError):
    """The query cannot be parsed; `position` is the character offset of the problem."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"{message} (at character {position + 1})")
        self.position = position


@dataclass(frozen=True)
class Token:
    kind: Literal["string", "op", "paren", "word", "end"]
    text: str
    position: int
    value: str = ""  # a string token's unescaped content


@dataclass(frozen=True)
class Compare:
    """`key op value`; `field` is True for span fields, False for attributes."""

    key: str
    field: bool
    op: Op
    value: Scalar | None  # None for exists
    position: int = 0  # of the key in the query text


@dataclass(frozen=True)
class Text:
    """Free text: contained (case-insensitively) in the span name or an attribute value."""

    text: str


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class And:
    operands: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    operands: tuple[Node, ...]


Node = Compare | Text | Not | And | Or


def _unescape(body: str, position: int) -> str:
    out, i = [], 0
    while i < len(body):
        char = body[i]
        if char == "\\":
            escaped = body[i + 1]
            if escaped not in _ESCAPES:
                raise SearchSyntaxError(f"unknown escape \\{escaped} in a quoted string", position + i + 1)
            out.append(_ESCAPES[escaped])
            i += 2
        else:
            out.append(char)
            i += 1
    return "".join(out)


def tokenize(query: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    while position < len(query):
        match = _TOKEN.match(query, position)
        if match is None:  # an unterminated quote or a lone "!"
            problem = "unterminated quoted string" if query[position] == '"' else "unexpected character"
            raise SearchSyntaxError(problem, position)
        kind = match.lastgroup
        text = match.group()
        if kind == "string":
            tokens.append(Token("string", text, position, _unescape(text[1:-1], position + 1)))
        elif kind != "space":
            tokens.append(Token(kind, text, position))  # type: ignore[arg-type]
        position = match.end()
    tokens.append(Token("end", "", len(query)))
    return tokens


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.at = 0
        self.terms = 0

    def peek(self) -> Token:
        return self.tokens[self.at]

    def take(self) -> Token:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def keyword(self, word: str) -> bool:
        token = self.peek()
        return token.kind == "word" and token.text == word

    def parse(self) -> Node:
        if self.peek().kind == "end":
            raise SearchSyntaxError("empty query", 0)
        node = self.or_expr(0)
        token = self.peek()
        if token.kind != "end":
            raise SearchSyntaxError(f"unexpected {token.text!r}", token.position)
        return node

    def or_expr(self, depth: int) -> Node:
        operands = [self.and_expr(depth)]
        while self.keyword("OR"):
            self.take()
            operands.append(self.and_expr(depth))
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def and_expr(self, depth: int) -> Node:
        operands = [self.unary(depth)]
        while True:
            token = self.peek()
            if token.kind == "end" or token.text == ")" or self.keyword("OR"):
                break
            if self.keyword("AND"):
                self.take()
            operands.append(self.unary(depth))
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def unary(self, depth: int) -> Node:
        token = self.peek()
        nests = self.keyword("NOT") or (token.kind == "paren" and token.text == "(")
        if nests and depth + 1 > MAX_DEPTH:
            raise SearchSyntaxError(
                f"NOT and parentheses nested deeper than {MAX_DEPTH} levels", token.position
            )
        if self.keyword("NOT"):
            self.take()
            return Not(self.unary(depth + 1))
        if token.kind == "paren" and token.text == "(":
            self.take()
            node = self.or_expr(depth + 1)
            closing = self.take()
            if closing.text != ")":
                raise SearchSyntaxError("missing ')'", closing.position)
            return node
        return self.term()

    def term(self) -> Node:
        token = self.take()
        if token.kind not in ("word", "string") or token.text in ("AND", "OR"):
            what = "end of query" if token.kind == "end" else repr(token.text)
            raise SearchSyntaxError(f"expected a term, found {what}", token.position)
        self.terms += 1
        if self.terms > MAX_TERMS:
            raise SearchSyntaxError(f"more than {MAX_TERMS} terms", token.position)
        key = token.value if token.kind == "string" else token.text
        is_field = token.kind == "word" and key in FIELDS
        following = self.peek()
        if following.kind == "word" and following.text == "exists":
            self.take()
            if is_field:
                raise SearchSyntaxError(f"{key} is a span field: every span has it", token.position)
            return Compare(key, False, "exists", None, token.position)
        if following.kind != "op":
            return Text(key)
        op = self.take().text
        value = self.value(self.take(), key if is_field else None)
        numeric = not isinstance(value, bool) and isinstance(value, int | float)
        if op in (">", ">=", "<", "<=") and not numeric and not (is_field and key == "start"):
            raise SearchSyntaxError(f"{op} needs a number", following.position)
        return Compare(key, is_field, op, value, token.position)  # type: ignore[arg-type]

    def value(self, token: Token, field: str | None) -> Scalar:
        if token.kind == "string":
            return token.value
        if token.kind != "word":
            what = "end of query" if token.kind == "end" else repr(token.text)
            raise SearchSyntaxError(f"expected a value, found {what}", token.position)
        text = token.text
        if field == "duration":
            duration = _DURATION.fullmatch(text)
            if duration is None:
                raise SearchSyntaxError("a duration needs a unit: ns, us, ms, s, m or h", token.position)
            return int(float(duration.group(1)) * _DURATION_UNITS[duration.group(2)])
        if text in ("true", "false"):
            return text == "true"
        if _NUMBER.fullmatch(text):
            number = float(text)
            return int(number) if number.is_integer() and abs(number) < 2**53 else number
        return text


def parse(query: str) -> Node:
    """The expression tree of `query`; raises SearchSyntaxError (with position) when it is not valid."""
    if len(query) > MAX_QUERY_CHARS:
        raise SearchSyntaxError(f"query longer than {MAX_QUERY_CHARS} characters", MAX_QUERY_CHARS)
    return _Parser(tokenize(query)).parse()
