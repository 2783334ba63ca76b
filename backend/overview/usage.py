"""Token usage and cost of one LLM call, read from its span's attributes (attacker-controlled).

Three conventions carry tokens: OpenInference (`llm.token_count.*`), OpenTelemetry gen_ai
(`gen_ai.usage.*`, with the older `prompt_tokens`/`completion_tokens` names) and Junjo Agent model
requests (`junjo.agent.model.usage`, a JSON object). A Junjo Agent span's own `junjo.agent.usage`
is the sum of its model requests and is never counted as a call: totals over a trace or an
execution add up the calls alone, so nothing is counted twice.

One call can also be recorded twice: a Junjo model request's driver calls a provider SDK whose own
instrumentation records an OpenInference or gen_ai span below the model request. The rule
(`uncounted`): a model request that reports tokens is the call of record, and the LLM spans below
it are not added again; a model request that reports none leaves its call to the LLM spans below it.

Cost comes from the `genai-prices` table for the span's provider and model at the span's start
time: per-token prices (plain or tiered by input tokens) through the library's `calc_unit_price`,
any other kind through its `calc_price`; both read the same table. A model the table does not
know, or lists without token prices, has `cost_usd = None` and `price_known = False`, never 0.
A token value that is not a whole number in [0, MAX_TOKENS] is ignored and named in `flags`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

import genai_prices
from genai_prices import data_snapshot
from genai_prices.types import TieredPrices, calc_unit_price

from backend.agents.telemetry import parse_json

MAX_TOKENS = 10**9
"""Tokens one call can plausibly report; larger values are treated as hostile and ignored."""
MAX_NAME = 256
"""Model and provider names longer than this are not looked up."""

# Attribute names per convention: (input, output, total, cache read).
_OPENINFERENCE = (
    "llm.token_count.prompt",
    "llm.token_count.completion",
    "llm.token_count.total",
    "llm.token_count.prompt_details.cache_read",
)
_GEN_AI = ("gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", None, "gen_ai.usage.cache_read_tokens")
_GEN_AI_OLD = (
    "gen_ai.usage.prompt_tokens",
    "gen_ai.usage.completion_tokens",
    "gen_ai.usage.total_tokens",
    None,
)
_JUNJO = ("inputTokens", "outputTokens", "totalTokens", "cachedInputTokens")

# Provider names the conventions use that genai-prices spells differently.
_PROVIDER_ALIASES = {
    "gemini": "google",
    "gcp.gemini": "google",
    "gcp.vertex_ai": "google",
    "google_genai": "google",
    "vertexai": "google",
    "az.ai.openai": "azure",
    "azure.ai.openai": "azure",
    "azure_openai": "azure",
    "aws.bedrock": "aws",
    "bedrock": "aws",
    "mistral_ai": "mistral",
    "xai": "x-ai",
}


@dataclass
class LlmUsage:
    """Tokens, model and cost of one LLM call (None where the span does not say)."""

    source: str  # "junjo" | "openinference" | "gen_ai"
    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None
    cache_read_tokens: int | None = None
    provider: str | None = None
    model: str | None = None
    cost_usd: float | None = None
    price_known: bool = False
    flags: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "total_tokens": self.total_tokens,
            "cache_read_tokens": self.cache_read_tokens,
            "provider": self.provider,
            "model": self.model,
            "cost_usd": self.cost_usd,
            "price_known": self.price_known,
            "flags": self.flags,
        }


def _tokens(container: dict[str, Any], key: str | None, flags: list[str]) -> int | None:
    if key is None or key not in container:
        return None
    value = container[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        flags.append(f"{key}: not a number")
        return None
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        flags.append(f"{key}: not a whole number")
        return None
    if not 0 <= value <= MAX_TOKENS:
        flags.append(f"{key}: outside 0..{MAX_TOKENS}")
        return None
    return int(value)


def _name(attrs: dict[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = attrs.get(key)
        if isinstance(value, str) and value and len(value) <= MAX_NAME:
            return value
    return None


def _read(source: str, container: dict[str, Any], names: tuple[str | None, ...]) -> LlmUsage:
    usage = LlmUsage(source)
    flags = usage.flags
    usage.input_tokens = _tokens(container, names[0], flags)
    usage.output_tokens = _tokens(container, names[1], flags)
    usage.total_tokens = _tokens(container, names[2], flags)
    usage.cache_read_tokens = _tokens(container, names[3], flags)
    if usage.total_tokens is None and (usage.input_tokens is not None or usage.output_tokens is not None):
        usage.total_tokens = (usage.input_tokens or 0) + (usage.output_tokens or 0)
    return usage


def llm_usage(attrs: dict[str, Any], start_ns: int) -> LlmUsage | None:
    """The usage of the LLM call this span records; None when it is not an LLM call."""
    if attrs.get("junjo.agent.operation_type") == "model_request":
        raw = attrs.get("junjo.agent.model.usage")
        parsed, error = parse_json(raw) if raw is not None else ({}, None)
        usage = _read("junjo", parsed if isinstance(parsed, dict) else {}, _JUNJO)
        if error or not isinstance(parsed, dict):
            usage.flags.append("junjo.agent.model.usage: not a JSON object")
        usage.provider = _name(attrs, "junjo.agent.model.provider")
        usage.model = _name(attrs, "junjo.agent.model.name")
    elif attrs.get("openinference.span.kind") == "LLM":
        usage = _read("openinference", attrs, _OPENINFERENCE)
        usage.provider = _name(attrs, "llm.provider", "llm.system")
        usage.model = _name(attrs, "llm.model_name")
    elif _name(attrs, "gen_ai.provider.name", "gen_ai.system", "gen_ai.operation.name"):
        new = any(k in attrs for k in _GEN_AI if k)
        usage = _read("gen_ai", attrs, _GEN_AI if new else _GEN_AI_OLD)
        usage.provider = _name(attrs, "gen_ai.provider.name", "gen_ai.system")
        usage.model = _name(attrs, "gen_ai.response.model", "gen_ai.request.model")
    else:
        return None
    usage.cost_usd = _cost(usage, start_ns)
    usage.price_known = usage.cost_usd is not None
    return usage


def _cost(usage: LlmUsage, start_ns: int) -> float | None:
    if usage.model is None or (usage.input_tokens is None and usage.output_tokens is None):
        return None
    cache_read = usage.cache_read_tokens
    if cache_read is not None and cache_read > (usage.input_tokens or 0):
        cache_read = None  # a cache share larger than the input is not a price question
    when = datetime.fromtimestamp(max(0, min(start_ns, 2**62)) / 1e9, tz=UTC)
    found = _model(_provider_id(usage.provider), usage.model)
    if found is None:
        return None
    provider, model = found
    price = model.get_prices(when)
    if price.input_mtok is None and price.output_mtok is None:
        return None  # the table lists the model without token prices: not "free"
    tokens_in, tokens_out, cached = usage.input_tokens or 0, usage.output_tokens or 0, cache_read or 0
    per_token = _token_prices(price)
    if per_token is not None and (not cached or "cache_read_mtok" in per_token):
        million = 1_000_000
        total = calc_unit_price(per_token.get("input_mtok"), tokens_in - cached, tokens_in, million)
        total += calc_unit_price(per_token.get("cache_read_mtok"), cached, tokens_in, million)
        total += calc_unit_price(per_token.get("output_mtok"), tokens_out, tokens_in, million)
        return float(total)
    try:
        calculated = model.calc_price(
            genai_prices.Usage(
                input_tokens=tokens_in, output_tokens=tokens_out, cache_read_tokens=cache_read
            ),
            provider,
            genai_request_timestamp=when,
        )
    except (LookupError, ValueError, ArithmeticError):
        return None
    return float(calculated.total_price)


_TOKEN_FIELDS = {"input_mtok", "output_mtok", "cache_read_mtok"}
_UNUSED_FIELDS = {"cache_write_mtok", "cache_write_1h_mtok", "web_searches_kcount", "storage_searches_kcount"}
_token_price_cache: dict[int, tuple[Any, dict[str, Any] | None]] = {}


def _token_prices(price: Any) -> dict[str, Any] | None:
    """A price's per-million-token prices (plain or tiered by input tokens), when they are all it
    charges for the usage a span reports; None otherwise (`calc_price` then works it out).

    The table's price objects live as long as the process, and looking their fields over costs
    more than the sum: the answer is kept per object.
    """
    cached = _token_price_cache.get(id(price))
    if cached is not None and cached[0] is price:
        return cached[1]
    fields = {k: v for k, v in price.__dict__.items() if v is not None and not k.startswith("_")}
    usable = set(fields) <= _TOKEN_FIELDS | _UNUSED_FIELDS and all(
        isinstance(fields.get(k, Decimal(0)), Decimal | TieredPrices) for k in _TOKEN_FIELDS
    )
    answer = {k: v for k, v in fields.items() if k in _TOKEN_FIELDS} if usable else None
    if len(_token_price_cache) >= 4096:
        _token_price_cache.clear()
    _token_price_cache[id(price)] = (price, answer)
    return answer


@lru_cache(maxsize=1024)
def _model(provider_id: str | None, model: str) -> tuple[Any, Any] | None:
    """(provider, model) of the price table; None when the table does not know the model."""
    try:
        return data_snapshot.get_snapshot().find_provider_model(model, None, provider_id, None)
    except LookupError:
        return None


@lru_cache(maxsize=256)
def _provider_id(name: str | None) -> str | None:
    """genai-prices' id for a provider name; None (match by model) when the table has no such provider."""
    if name is None:
        return None
    wanted = _PROVIDER_ALIASES.get(name.lower(), name.lower())
    found = data_snapshot.find_provider_by_id(data_snapshot.get_snapshot().providers, wanted)
    return found.id if found is not None else None


def reports_tokens(usage: LlmUsage) -> bool:
    return usage.input_tokens is not None or usage.output_tokens is not None or usage.total_tokens is not None


def uncounted[K](calls: Mapping[K, LlmUsage], enclosing: Mapping[K, K]) -> set[K]:
    """The calls a total leaves out, so that each LLM call is counted once.

    `calls` are LLM call spans by id; `enclosing` maps each of them that is not a Junjo model
    request to the nearest Junjo model request above it (its parent, grandparent, ...), where there
    is one. Such a model request is the call of record when it reports tokens: the span below it is
    left out. When it reports none, the span below it counts and the model request is left out.
    """
    left_out: set[K] = set()
    for call, request in enclosing.items():
        left_out.add(call if reports_tokens(calls[request]) else request)
    return left_out
