"""Typed reads of Junjo telemetry attributes (attacker-controlled input).

Every reader checks the JSON type it expects and answers None otherwise: a bool is never an int,
a float is never an int, text is bounded. Payload slots (`P`, `P.mode`, `P.policy`, `P.reference`)
and candidates (`C.available`, `C.unavailable_reason`) are decoded into plain dicts the API returns
as they are. `owner_summary` is the one place an Agent owner span becomes the row the index keeps
and the list answers, so the index, the hot tier and the detail page agree on every field.
"""

from __future__ import annotations

from typing import Any

import orjson

from backend.spans.limits import MAX_JSON_DEPTH, may_nest_deeper, nests_deeper

MAX_TEXT = 1024  # identity and display text kept in the index and the list
MAX_INT = 2**53 - 1  # I-JSON's portable integers; anything larger is treated as absent
PAYLOAD_MODES = ("full", "redacted", "excluded", "reference")
USAGE_FIELDS = ("inputTokens", "outputTokens", "cachedInputTokens", "reasoningTokens", "totalTokens")
OUTCOMES = ("completed", "failed", "cancelled")
EXECUTABLE_TYPES = ("workflow", "subflow", "agent")


def text(attrs: dict[str, Any], key: str, limit: int = MAX_TEXT) -> str | None:
    value = attrs.get(key)
    return value if isinstance(value, str) and value and len(value) <= limit else None


def integer(attrs: dict[str, Any], key: str, minimum: int = 0) -> int | None:
    value = attrs.get(key)
    if isinstance(value, int) and not isinstance(value, bool) and minimum <= value <= MAX_INT:
        return value
    return None


def boolean(attrs: dict[str, Any], key: str) -> bool | None:
    value = attrs.get(key)
    return value if isinstance(value, bool) else None


def json_object(value: Any) -> dict[str, Any]:
    """The JSON object a text holds (an attributes or resource column); {} for anything else."""
    try:
        parsed = orjson.loads(value) if isinstance(value, str) else None
    except orjson.JSONDecodeError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def parse_json(value: Any) -> tuple[Any, str | None]:
    """(value, None) for a JSON text; (None, reason) otherwise (also when nested so deep that
    copying or encoding it would exhaust the stack)."""
    if not isinstance(value, str):
        return None, "missing"
    try:
        parsed = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None, "invalid JSON"
    if may_nest_deeper(value) and nests_deeper(parsed):
        return None, f"nested deeper than {MAX_JSON_DEPTH} levels"
    return parsed, None


def payload(attrs: dict[str, Any], key: str) -> dict[str, Any] | None:
    """A payload slot: {mode, policy, value, reference, reason}; None when the slot is absent.

    Only `full` and `redacted` carry a value; `missing` marks a slot that is absent or invalid
    while its mode says it should be there.
    """
    mode = attrs.get(f"{key}.mode")
    raw = attrs.get(key)
    if mode is None and raw is None:
        return None
    policy = attrs.get(f"{key}.policy")
    slot: dict[str, Any] = {
        "mode": mode if mode in PAYLOAD_MODES else "missing",
        "policy": policy if isinstance(policy, str) else None,
        "value": None,
        "reference": None,
        "reason": None,
    }
    if mode is None:  # a value without its mode: shown, but flagged
        slot["reason"] = "payload mode missing"
    if slot["mode"] in ("full", "redacted") or mode is None:
        value, error = parse_json(raw)
        if error:
            slot["mode"], slot["reason"] = "missing", f"payload {error}"
        else:
            slot["value"] = value
    elif slot["mode"] == "reference":
        slot["reference"] = attrs.get(f"{key}.reference")
    elif slot["mode"] == "missing":
        slot["reason"] = f"unknown payload mode {mode!r}"
    return slot


def candidate(attrs: dict[str, Any], key: str) -> dict[str, Any] | None:
    """A candidate: {available, payload, unavailable_reason}; None when absent."""
    available = boolean(attrs, f"{key}.available")
    if available is None:
        return None
    reason = attrs.get(f"{key}.unavailable_reason")
    return {
        "available": available,
        "payload": payload(attrs, key) if available else None,
        "unavailable_reason": reason if isinstance(reason, str) else None,
    }


def usage_totals(value: Any) -> dict[str, Any]:
    """`junjo.agent.usage` JSON -> {model_responses, fields{name: {sum, observations}}} (checked)."""
    parsed, _ = parse_json(value)
    out: dict[str, Any] = {"model_responses": 0, "fields": {}}
    if not isinstance(parsed, dict):
        return out
    responses = parsed.get("modelResponses")
    if isinstance(responses, int) and not isinstance(responses, bool) and 0 <= responses <= MAX_INT:
        out["model_responses"] = responses
    fields = parsed.get("fields")
    if isinstance(fields, dict):
        for name in USAGE_FIELDS:
            entry = fields.get(name)
            if isinstance(entry, dict):
                total, seen = integer(entry, "sum"), integer(entry, "observations")
                if total is not None and seen is not None:
                    out["fields"][name] = {"sum": total, "observations": seen}
    return out


def model_usage(value: Any) -> dict[str, int] | None:
    """`junjo.agent.model.usage` JSON -> {input_tokens, ...} with the reported fields only."""
    parsed, _ = parse_json(value)
    if not isinstance(parsed, dict):
        return None
    names = {
        "inputTokens": "input_tokens",
        "outputTokens": "output_tokens",
        "cachedInputTokens": "cached_input_tokens",
        "reasoningTokens": "reasoning_tokens",
        "totalTokens": "total_tokens",
    }
    return {snake: n for camel, snake in names.items() if (n := integer(parsed, camel)) is not None}


def service_identity(resource: dict[str, Any], service_name: str) -> dict[str, Any]:
    namespace = resource.get("service.namespace")
    version = resource.get("service.version")
    return {
        "namespace": namespace if isinstance(namespace, str) else "",
        "name": service_name,
        "version": version if isinstance(version, str) else None,
    }


def parent_executable(attrs: dict[str, Any]) -> dict[str, Any] | None:
    """The declared semantic parent (all four attributes present), else None."""
    parent = {
        part: text(attrs, f"junjo.parent_executable_{part}")
        for part in ("type", "definition_id", "runtime_id", "structural_id")
    }
    return parent if all(parent.values()) else None


def owner_summary(
    attrs: dict[str, Any],
    resource: dict[str, Any],
    *,
    trace_id: str,
    span_id: str,
    service_name: str,
    name: str,
    start_ns: int,
    end_ns: int,
    status_error: bool,
) -> dict[str, Any]:
    """An Agent owner span -> the list item (reference fields plus ours: error, parent, tokens)."""
    usage = usage_totals(attrs.get("junjo.agent.usage"))
    outcome = attrs.get("junjo.agent.outcome")
    return {
        "trace_id": trace_id,
        "agent_span_id": span_id,
        "service": service_identity(resource, service_name),
        "agent_key": text(attrs, "junjo.agent.key") or "",
        "agent_name": text(attrs, "junjo.agent.name") or name[:MAX_TEXT],
        "structural_id": text(attrs, "junjo.executable_structural_id"),
        "definition_id": text(attrs, "junjo.executable_definition_id"),
        "runtime_id": text(attrs, "junjo.executable_runtime_id") or text(attrs, "junjo.agent.runtime_id"),
        "start_time_ns": start_ns,
        "end_time_ns": end_ns,
        "duration_ns": max(0, end_ns - start_ns),
        "outcome": outcome if outcome in OUTCOMES else None,
        "termination_reason": text(attrs, "junjo.agent.termination_reason", 128),
        "is_error": status_error,
        "limits": {
            "model_requests": integer(attrs, "junjo.agent.limit.model_requests", 1),
            "tool_calls": integer(attrs, "junjo.agent.limit.tool_calls", 1),
        },
        "counts": {
            "operations": integer(attrs, "junjo.agent.operation.count"),
            "model_requests": integer(attrs, "junjo.agent.model_request.count"),
            "tool_calls": {
                stage: integer(attrs, f"junjo.agent.tool_call.{stage}_count")
                for stage in ("requested", "admitted", "started", "completed")
            },
        },
        "usage": usage,
        "limit_exceeded": text(attrs, "junjo.agent.limit.exceeded", 64),
        "parent": parent_executable(attrs),
        "contract_version": integer(attrs, "junjo.telemetry.contract_version"),
    }
