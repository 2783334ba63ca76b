"""The rules one Agent execution's telemetry must satisfy, each checked by the backend and reported
by name: passed, failed (with the diagnostics that say why) or skipped (with the reason, e.g. the
payload policy withheld the values a rule compares).

The SDK writes the same facts in several places: the owner span's counters and usage, the
operation spans, the definition snapshot, and the Agent Store's start/end states and patches. A
run whose places disagree was tampered with, truncated or produced by a broken SDK, so every
agreement is checked rather than trusted: the definition's fingerprints are recomputed (SHA-256
of the RFC 8785 form, as junjo does), every model request is compared with the definition it
claims to run, every Store action must sit on the span kind that performs it, and the end state's
counters and usage must equal both the owner's and the sum of its operations. Pure functions over
the annotation `evidence.py` builds; hostile values give diagnostics, never exceptions.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from typing import Any

import rfc8785

from backend.agents import telemetry as t

PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"
STATUS_ERROR = "2"

# Which span kind performs each Agent-Store action (model request, Tool call, the Agent itself).
ACTION_SPAN_KIND = {
    "record_model_start": "model_request",
    "record_model_response": "model_request",
    "record_tool_started": "tool",
    "record_tool_result": "tool",
    "admit_tool_batch": "agent",
    "commit_success": "agent",
    "set_terminal_reason": "agent",
}
REASON_OUTCOME = {"final_output": "completed", "cancelled": "cancelled"}  # any other reason: failed
SNAPSHOT_KEYS = {
    "v",
    "agentKey",
    "name",
    "instructions",
    "inputSchema",
    "model",
    "tools",
    "outputSchema",
    "limits",
    "structuralId",
}
SNAPSHOT_TOOL_KEYS = {"name", "description", "structuralId", "inputSchema", "outputSchema"}
MODEL_KEYS = {"driverKey", "provider", "model", "settings"}
REQUEST_KEYS = {"v", "agentKey", "runId", "ordinal", "instructions", "messages", "tools", "outputSchema"}
REQUEST_TOOL_KEYS = ("name", "description", "inputSchema", "outputSchema")
COUNTER_STATE_KEYS = {
    "model_requests": "model_request_count",
    "requested": "tool_call_requested_count",
    "admitted": "tool_call_admitted_count",
    "started": "tool_call_started_count",
    "completed": "tool_call_completed_count",
}
USAGE_NAMES = {
    "inputTokens": "input_tokens",
    "outputTokens": "output_tokens",
    "cachedInputTokens": "cached_input_tokens",
    "reasoningTokens": "reasoning_tokens",
    "totalTokens": "total_tokens",
}
MAX_DIAGNOSTICS = 50  # per rule: a hostile run with thousands of bad operations stays readable

RULE_TITLES = {
    "transport": "Outcome, termination reason, status and limits agree",
    "definition": "Definition snapshot matches its fingerprints and the owner",
    "operations": "Operations are the Agent's own, in sequence 1..n",
    "model_requests": "Model requests match the definition and their responses",
    "tool_calls": "Tool calls match the requested calls; admission is explained",
    "store_actions": "Every Store action sits on the span kind that performs it",
    "end_state": "End state, counters and usage agree with the operations",
    "state_replay": "Agent state replays from its patches",
}


class _Rule:
    def __init__(self, rule_id: str) -> None:
        self.id = rule_id
        self.issues: list[dict[str, str]] = []
        self.skipped: str | None = None

    def fail(self, code: str, message: str, path: str = "") -> None:
        if len(self.issues) < MAX_DIAGNOSTICS:
            self.issues.append({"code": code, "path": path, "message": message})

    def skip(self, reason: str) -> None:
        self.skipped = reason

    def result(self) -> dict[str, Any]:
        status = FAILED if self.issues else SKIPPED if self.skipped else PASSED
        return {
            "rule": self.id,
            "title": RULE_TITLES[self.id],
            "status": status,
            "reason": self.skipped if status == SKIPPED else None,
            "diagnostics": self.issues,
        }


def _value(slot: dict[str, Any] | None) -> tuple[bool, Any]:
    """(True, value) for a payload the policy kept whole; (False, None) otherwise."""
    if slot is None or slot["mode"] != "full":
        return False, None
    return True, slot["value"]


def _fingerprint(prefix: str, material: Any) -> str | None:
    try:
        return f"{prefix}:{hashlib.sha256(rfc8785.dumps(material)).hexdigest()}"
    except (rfc8785.CanonicalizationError, TypeError, ValueError, RecursionError):
        return None


def _outcome_of(reason: str | None) -> str | None:
    return None if reason is None else REASON_OUTCOME.get(reason, "failed")


def check_transport(rule: _Rule, span: dict[str, Any], attrs: dict[str, Any], error: Any) -> None:
    outcome, reason = attrs.get("junjo.agent.outcome"), t.text(attrs, "junjo.agent.termination_reason", 128)
    if outcome not in t.OUTCOMES or reason is None:
        rule.fail("invalid_outcome", f"outcome {outcome!r} / termination reason {reason!r} are not valid")
        return
    if _outcome_of(reason) != outcome:
        rule.fail("outcome_reason_mismatch", f"termination reason {reason} cannot end a run {outcome}")
    failed_status = span.get("status_code") == STATUS_ERROR
    cancelled = t.boolean(attrs, "junjo.cancelled") is True
    if outcome == "failed":
        qualified = error.get("qualified_type") if error else None
        short = t.text(attrs, "error.type")
        if not failed_status or not qualified:
            rule.fail("failure_not_recorded", "a failed run needs status ERROR and an exception event")
        elif short is None or qualified.rsplit(".", 1)[-1] != short:
            rule.fail("error_type_mismatch", f"exception {qualified} does not match error.type {short!r}")
    elif outcome == "cancelled":
        if not cancelled or t.text(attrs, "junjo.cancelled_reason", 4096) is None or failed_status:
            rule.fail(
                "cancellation_not_recorded", "a cancelled run needs junjo.cancelled, a reason, no error"
            )
    elif failed_status or cancelled:
        rule.fail("completed_with_failure", "a completed run carries an error status or a cancellation")

    exceeded = t.text(attrs, "junjo.agent.limit.exceeded", 64)
    attempted = t.integer(attrs, "junjo.agent.limit.attempted_count")
    batch = t.integer(attrs, "junjo.agent.limit.requested_batch_size")
    limit_attrs = exceeded is not None or attempted is not None or batch is not None
    if (reason == "limit_exceeded") != limit_attrs:
        rule.fail(
            "limit_attributes_mismatch", "limit attributes appear exactly when the reason is limit_exceeded"
        )
    model_limit = t.integer(attrs, "junjo.agent.limit.model_requests", 1)
    tool_limit = t.integer(attrs, "junjo.agent.limit.tool_calls", 1)
    models = t.integer(attrs, "junjo.agent.model_request.count")
    admitted = t.integer(attrs, "junjo.agent.tool_call.admitted_count")
    requested = t.integer(attrs, "junjo.agent.tool_call.requested_count")
    if exceeded == "model_requests":
        if models != model_limit or attempted is None or models is None or attempted != models + 1:
            rule.fail(
                "limit_not_reconciled",
                f"model limit {model_limit}: {models} requests, attempted {attempted} (want limit, limit+1)",
            )
    elif exceeded == "tool_calls":
        if (
            attempted is None
            or batch is None
            or admitted is None
            or attempted != admitted + batch
            or tool_limit is None
            or attempted <= tool_limit
        ):
            rule.fail(
                "limit_not_reconciled",
                f"Tool limit {tool_limit}: attempted {attempted} != admitted {admitted} + batch {batch}",
            )
    elif exceeded is not None:
        rule.fail("limit_attributes_mismatch", f"unknown limit {exceeded!r}")
    if admitted is not None and tool_limit is not None and admitted > tool_limit:
        rule.fail("tool_limit_overrun", f"{admitted} Tool calls admitted over the limit of {tool_limit}")
    if (
        requested is not None
        and tool_limit is not None
        and requested > tool_limit
        and exceeded != "tool_calls"
    ):
        rule.fail(
            "tool_limit_overrun", f"{requested} Tool calls requested over the limit without limit_exceeded"
        )

    if t.boolean(attrs, "junjo.agent.state.available") is False:
        counts = [t.integer(attrs, f"junjo.agent.{k}") for k in ("operation.count", "model_request.count")]
        usage = t.usage_totals(attrs.get("junjo.agent.usage"))
        if any(c for c in counts) or usage["model_responses"] or usage["fields"]:
            rule.fail("unavailable_state_with_work", "a run rejected before admission did work")
        if reason not in ("input_validation_error", "history_validation_error", "internal_error"):
            rule.fail("unavailable_state_mismatch", f"state is unavailable after {reason}")


def check_definition(
    rule: _Rule,
    attrs: dict[str, Any],
    definition: dict[str, Any] | None,
    tool_ops: list[dict[str, Any]],
) -> None:
    full, snap = _value(definition)
    if not full:
        rule.skip("the definition snapshot is absent or not recorded in full")
        return
    if not isinstance(snap, dict) or set(snap) != SNAPSHOT_KEYS:
        keys = sorted(snap) if isinstance(snap, dict) else type(snap).__name__
        rule.fail("invalid_definition_snapshot", f"snapshot keys {keys} are not the contract's")
        return
    model, tools = snap["model"], snap["tools"]
    if not isinstance(model, dict) or not MODEL_KEYS <= set(model) <= MODEL_KEYS | {"fixture"}:
        rule.fail("invalid_definition_snapshot", "the snapshot's model descriptor has unexpected keys")
    if not isinstance(tools, list) or any(
        not isinstance(tool, dict) or set(tool) != SNAPSHOT_TOOL_KEYS for tool in tools
    ):
        rule.fail("invalid_definition_snapshot", "a snapshot Tool does not have the contract's keys")
        return
    for i, tool in enumerate(tools):
        material = {"v": 1, **{k: tool[k] for k in REQUEST_TOOL_KEYS}}
        if _fingerprint("tool_sha256", material) != tool["structuralId"]:
            rule.fail(
                "tool_structural_id_mismatch",
                f"Tool {tool['name']!r}: the recomputed fingerprint is not {tool['structuralId']!r}",
                f"tools/{i}/structuralId",
            )
    material = {
        "v": snap["v"],
        "agentKey": snap["agentKey"],
        "instructions": snap["instructions"],
        "inputSchema": snap["inputSchema"],
        "model": model,
        "tools": [{k: tool[k] for k in REQUEST_TOOL_KEYS} for tool in tools],
        "outputSchema": snap["outputSchema"],
        "limits": snap["limits"],
    }
    recomputed = _fingerprint("agent_sha256", material)
    if recomputed != snap["structuralId"]:
        rule.fail(
            "structural_id_mismatch",
            f"the snapshot's recomputed fingerprint {recomputed} is not its structuralId",
            "structuralId",
        )
    owner = {
        "agentKey": t.text(attrs, "junjo.agent.key"),
        "name": t.text(attrs, "junjo.agent.name"),
        "structuralId": t.text(attrs, "junjo.executable_structural_id"),
        "limits": {
            "modelRequests": t.integer(attrs, "junjo.agent.limit.model_requests", 1),
            "toolCalls": t.integer(attrs, "junjo.agent.limit.tool_calls", 1),
        },
    }
    for key, value in owner.items():
        if snap[key] != value:
            rule.fail(
                "definition_owner_mismatch", f"snapshot {key} {snap[key]!r} != the owner's {value!r}", key
            )
    declared = {tool["name"]: tool["structuralId"] for tool in tools if isinstance(tool["name"], str)}
    for op in tool_ops:
        name = op["tool_name"]
        if name not in declared:
            rule.fail(
                "undeclared_tool",
                f"Tool span for {name!r}, which the definition does not declare",
                op["span_id"],
            )
        elif op["tool_structural_id"] != declared[name]:
            rule.fail(
                "tool_structural_id_mismatch",
                f"Tool span {name!r}: fingerprint {op['tool_structural_id']!r}, declared {declared[name]!r}",
                op["span_id"],
            )


def check_operations(
    rule: _Rule,
    span: dict[str, Any],
    attrs: dict[str, Any],
    ordered: list[dict[str, Any]],
    spans: dict[str, dict[str, Any]],
) -> None:
    key, version = t.text(attrs, "junjo.agent.key"), t.integer(attrs, "junjo.telemetry.contract_version")
    for op in ordered:
        op_span = spans[op["span_id"]]
        raw_attrs = op_span.get("attributes_json")
        op_attrs: dict[str, Any] = raw_attrs if isinstance(raw_attrs, dict) else {}
        if op_span.get("parent_span_id") != span["span_id"]:
            rule.fail(
                "operation_parent_mismatch", "operation span is not a child of the Agent", op["span_id"]
            )
        if t.text(op_attrs, "junjo.agent.key") != key:
            rule.fail("operation_key_mismatch", "operation span names another Agent key", op["span_id"])
        if t.integer(op_attrs, "junjo.telemetry.contract_version") != version:
            rule.fail(
                "operation_contract_mismatch", "operation span has another contract version", op["span_id"]
            )
    sequences = [op["sequence"] for op in ordered]
    if sequences != list(range(1, len(sequences) + 1)):
        rule.fail("operation_sequence_gap", f"operation sequences {sequences[:20]} are not 1..n")
    declared = t.integer(attrs, "junjo.agent.operation.count")
    if declared != len(ordered):
        rule.fail(
            "operation_count_mismatch", f"{len(ordered)} operation spans, the Agent declares {declared}"
        )
    ordinals = [op["ordinal"] for op in ordered if op["operation_type"] == "model_request"]
    count = t.integer(attrs, "junjo.agent.model_request.count")
    if ordinals != list(range(1, len(ordinals) + 1)) or count != len(ordinals):
        rule.fail(
            "model_ordinal_gap",
            f"model request ordinals {ordinals[:20]} are not 1..{count} (junjo.agent.model_request.count)",
        )


def check_model_requests(
    rule: _Rule,
    attrs: dict[str, Any],
    runtime_id: str | None,
    definition: dict[str, Any] | None,
    model_ops: list[dict[str, Any]],
) -> None:
    full_def, snap = _value(definition)
    snap = snap if full_def and isinstance(snap, dict) and set(snap) == SNAPSHOT_KEYS else None
    model = snap["model"] if snap and isinstance(snap["model"], dict) else None
    tools = snap["tools"] if snap and isinstance(snap["tools"], list) else None
    compared = 0
    for op in model_ops:
        where = op["span_id"]
        if model is not None:
            for field, key in (
                ("driver_key", "driverKey"),
                ("provider", "provider"),
                ("model_name", "model"),
            ):
                if op[field] != model.get(key):
                    rule.fail(
                        "model_request_definition_mismatch",
                        f"request {op['ordinal']}: {field} {op[field]!r} != definition {model.get(key)!r}",
                        where,
                    )
            if op["fixture"] != (model.get("fixture") is True):
                rule.fail(
                    "model_request_definition_mismatch",
                    f"request {op['ordinal']}: fixture flag differs",
                    where,
                )
        full, request = _value(op["request"])
        if full:
            compared += 1
            if not isinstance(request, dict) or set(request) != REQUEST_KEYS:
                keys = sorted(request) if isinstance(request, dict) else type(request).__name__
                rule.fail("invalid_model_request", f"request {op['ordinal']}: keys {keys}", where)
            else:
                expected = {
                    "agentKey": t.text(attrs, "junjo.agent.key"),
                    "runId": runtime_id,
                    "ordinal": op["ordinal"],
                }
                if snap is not None and tools is not None:
                    expected["instructions"] = snap["instructions"]
                    expected["outputSchema"] = snap["outputSchema"]
                    expected["tools"] = [
                        {k: tool.get(k) for k in REQUEST_TOOL_KEYS}
                        for tool in tools
                        if isinstance(tool, dict)
                    ]
                for key, value in expected.items():
                    if request[key] != value:
                        rule.fail(
                            "model_request_definition_mismatch",
                            f"request {op['ordinal']}: {key} differs from the "
                            f"{'definition' if key in ('instructions', 'outputSchema', 'tools') else 'span'}",
                            where,
                        )
        full_resp, response = _value(op["response"])
        if op["outcome"] == "completed":
            if op["response_candidate"] is None or op["response"] is None:
                rule.fail(
                    "model_response_missing", f"request {op['ordinal']} completed without a response", where
                )
        elif op["response"] is not None or op["usage"]:
            rule.fail(
                "model_response_on_failure",
                f"request {op['ordinal']} {op['outcome']} but has a response",
                where,
            )
        if full_resp and isinstance(response, dict):
            usage = response.get("usage")
            declared = (
                {USAGE_NAMES[k]: v for k, v in usage.items() if k in USAGE_NAMES}
                if isinstance(usage, dict)
                else {}
            )
            if declared != (op["usage"] or {}):
                rule.fail(
                    "model_usage_mismatch", f"request {op['ordinal']}: span usage != response usage", where
                )
            if response.get("type") != op["response_type"]:
                rule.fail(
                    "model_response_type_mismatch", f"request {op['ordinal']}: response type differs", where
                )
    if not snap and not compared:
        rule.skip("neither the definition nor any request was recorded in full")


def requested_calls(model_ops: list[dict[str, Any]]) -> list[tuple[int, dict[str, Any], dict[str, Any]]]:
    """(run-wide ordinal, model operation, call) of every call a validated response requested."""
    out: list[tuple[int, dict[str, Any], dict[str, Any]]] = []
    for op in sorted(model_ops, key=lambda o: o["ordinal"] or 0):
        for call in op["requested_tool_calls"]:
            out.append((len(out) + 1, op, call))
    return out


def check_tool_calls(
    rule: _Rule,
    attrs: dict[str, Any],
    model_ops: list[dict[str, Any]],
    tool_ops: list[dict[str, Any]],
    admission_known: bool,
) -> None:
    calls = requested_calls(model_ops)
    ids = Counter(call["call_id"] for _, _, call in calls)
    for call_id, n in ids.items():
        if n > 1 or call_id is None:
            rule.fail("duplicate_tool_call_id", f"call id {call_id!r} is requested {n} times in this run")
    by_id = {call["call_id"]: (ordinal, call) for ordinal, _, call in calls}
    for op in tool_ops:
        match = by_id.get(op["call_id"])
        if match is None:
            rule.fail(
                "tool_call_unrequested",
                f"Tool span for call {op['call_id']!r}, which no response requested",
                op["span_id"],
            )
            continue
        ordinal, call = match
        if op["ordinal"] != ordinal:
            rule.fail(
                "tool_call_ordinal_mismatch",
                f"call {op['call_id']}: ordinal {op['ordinal']} != {ordinal}",
                op["span_id"],
            )
        if op["tool_name"] != call["tool_name"]:
            rule.fail(
                "tool_call_name_mismatch",
                f"call {op['call_id']}: Tool {op['tool_name']!r} != requested {call['tool_name']!r}",
                op["span_id"],
            )
        full, arguments = _value(op["requested_arguments"])
        if full and arguments != call["arguments"]:
            rule.fail(
                "tool_call_arguments_mismatch",
                f"call {op['call_id']}: arguments differ from the request",
                op["span_id"],
            )
    if not admission_known:
        if calls:
            rule.skip("admission is read from the replayed end state, which did not verify")
        return
    completed = attrs.get("junjo.agent.outcome") == "completed"
    for _, _, call in calls:
        if call["admission"] == "not_admitted" and call["reason"] is None:
            rule.fail(
                "tool_call_admission_unexplained",
                f"call {call['call_id']} was not admitted, and the run's termination does not say why",
            )
        if completed and call["admission"] == "not_admitted":
            rule.fail(
                "tool_call_admission_unexplained",
                f"call {call['call_id']} was not admitted in a completed run",
            )
        if completed and call["reason"] == "execution_interrupted":
            rule.fail(
                "tool_call_admission_unexplained",
                f"call {call['call_id']} was admitted but never ran in a completed run",
            )


def check_store_actions(
    rule: _Rule,
    store: dict[str, Any] | None,
    kinds: dict[str, str],
    foreign_spans: list[str],
    model_ops: list[dict[str, Any]],
    tool_ops: list[dict[str, Any]],
) -> None:
    if store is None or not store["available"]:
        rule.skip("the run has no Agent state (rejected before admission)")
        return
    for span_id in foreign_spans[:MAX_DIAGNOSTICS]:
        rule.fail(
            "store_causal_owner_mismatch",
            "an Agent-Store transition sits on a span outside this run",
            span_id,
        )
    by_span: dict[str, list[dict[str, Any]]] = {}
    for tr in store["transitions"]:
        by_span.setdefault(tr["span_id"], []).append(tr)
        expected = ACTION_SPAN_KIND.get(tr["action"] or "")
        actual = kinds.get(tr["span_id"])
        if expected is None:
            rule.fail(
                "unknown_store_action",
                f"transition {tr['sequence']}: unknown action {tr['action']!r}",
                tr["span_id"],
            )
        elif expected != actual:
            rule.fail(
                "store_action_span_kind",
                f"transition {tr['sequence']}: {tr['action']} belongs on a {expected} span, not {actual}",
                tr["span_id"],
            )
    for op in model_ops:
        starts = [tr for tr in by_span.get(op["span_id"], []) if tr["action"] == "record_model_start"]
        if len(starts) != 1:
            rule.fail(
                "model_start_transition",
                f"model request {op['ordinal']} has {len(starts)} record_model_start transitions",
                op["span_id"],
            )
        elif starts[0]["revision_after"] != op["state_revision"]:
            rule.fail(
                "model_start_revision_mismatch",
                f"model request {op['ordinal']}: state_revision {op['state_revision']} != "
                f"record_model_start after {starts[0]['revision_after']}",
                op["span_id"],
            )
    for op in tool_ops:
        own = by_span.get(op["span_id"], [])
        for action, field, revision in (
            ("record_tool_started", "revision_before", "state_revision_before"),
            ("record_tool_result", "revision_after", "state_revision_after"),
        ):
            found = [tr for tr in own if tr["action"] == action]
            if len(found) > 1 or (found and found[0][field] != op[revision]):
                rule.fail(
                    "tool_revision_mismatch",
                    f"call {op['call_id']}: {action} does not match the span's {revision} {op[revision]}",
                    op["span_id"],
                )
        if op["started"] and not any(tr["action"] == "record_tool_started" for tr in own):
            rule.fail(
                "tool_start_transition",
                f"call {op['call_id']} started without record_tool_started",
                op["span_id"],
            )


def check_end_state(
    rule: _Rule,
    attrs: dict[str, Any],
    store: dict[str, Any] | None,
    inputs: dict[str, Any] | None,
    output: dict[str, Any] | None,
    model_ops: list[dict[str, Any]],
    tool_ops: list[dict[str, Any]],
    admitted: set[str] | None,
) -> None:
    owner = {
        "model_requests": t.integer(attrs, "junjo.agent.model_request.count"),
        **{
            stage: t.integer(attrs, f"junjo.agent.tool_call.{stage}_count")
            for stage in ("requested", "admitted", "started", "completed")
        },
    }
    calls = requested_calls(model_ops)
    children = {
        "model_requests": len(model_ops),
        "started": sum(1 for op in tool_ops if op["started"]),
        "completed": sum(1 for op in tool_ops if op["completed"]),
    }
    if all(op["response"] is None or op["response"]["mode"] == "full" for op in model_ops):
        children["requested"] = len(calls)  # the calls are only readable in full responses
    if admitted is not None:
        children["admitted"] = len(admitted)
    for name, value in children.items():
        if owner[name] != value:
            rule.fail(
                "counter_mismatch", f"owner {name} count {owner[name]} != {value} from the operations", name
            )
    stages = [owner[s] for s in ("completed", "started", "admitted", "requested")]
    known = [s for s in stages if s is not None]
    if len(known) < len(stages) or known != sorted(known):
        rule.fail("counter_order", f"completed <= started <= admitted <= requested fails: {stages}")

    raw_usage, error = t.parse_json(attrs.get("junjo.agent.usage"))
    usage = t.usage_totals(attrs.get("junjo.agent.usage"))
    responses = sum(1 for op in model_ops if op["response_type"] is not None)
    if usage["model_responses"] != responses:
        rule.fail(
            "usage_mismatch", f"usage counts {usage['model_responses']} responses, {responses} were validated"
        )
    for camel, snake in USAGE_NAMES.items():
        reported = [op["usage"][snake] for op in model_ops if op["usage"] and snake in op["usage"]]
        expected = {"sum": sum(reported), "observations": len(reported)} if reported else None
        if usage["fields"].get(camel) != expected:
            rule.fail(
                "usage_mismatch",
                f"{camel}: owner {usage['fields'].get(camel)} != the requests' {expected}",
                camel,
            )

    if store is None or not store["available"]:
        rule.skip("the run has no Agent state to compare")
        return
    full_start, start = _value(store["start"])
    full_end, end = _value(store["end"])
    full_input, value = _value(inputs)
    if full_start and full_input and isinstance(start, dict) and start.get("input") != value:
        rule.fail("state_input_mismatch", "the start state's input is not the owner's input")
    if not full_end or not isinstance(end, dict):
        if not rule.issues:
            rule.skip("the end state is not recorded in full")
        return
    for name, key in COUNTER_STATE_KEYS.items():
        if end.get(key) != owner[name]:
            rule.fail(
                "end_state_counter_mismatch",
                f"end state {key} {end.get(key)!r} != the owner's {owner[name]!r}",
                key,
            )
    if error is None and end.get("usage") != raw_usage:
        rule.fail("end_state_usage_mismatch", "end state usage != junjo.agent.usage")
    reason = t.text(attrs, "junjo.agent.termination_reason", 128)
    if end.get("terminal_reason") != reason:
        rule.fail(
            "end_state_reason_mismatch",
            f"end state terminal_reason {end.get('terminal_reason')!r} != {reason!r}",
        )
    completed = attrs.get("junjo.agent.outcome") == "completed"
    if end.get("final_output_available") is not completed:
        rule.fail("end_state_output_mismatch", "final_output_available disagrees with the outcome")
    full_out, out = _value(output)
    if completed and full_out and end.get("final_output") != out:
        rule.fail("end_state_output_mismatch", "the end state's final_output is not the owner's output")


def check_state_replay(rule: _Rule, store: dict[str, Any] | None) -> None:
    if store is None or not store["available"]:
        rule.skip("the run has no Agent state (rejected before admission)")
        return
    for issue in store["diagnostics"]:
        rule.fail(issue["code"], issue["message"], issue["path"])
    if not rule.issues and store["reconstruction_status"] != "verified":
        rule.skip(store["reconstruction_reason"] or "the payload policy withheld the states")


def verify_agent(
    *,
    span: dict[str, Any],
    attrs: dict[str, Any],
    runtime_id: str | None,
    error: dict[str, Any] | None,
    ordered: list[dict[str, Any]],
    spans: dict[str, dict[str, Any]],
    store: dict[str, Any] | None,
    foreign_store_spans: list[str],
    admitted: set[str] | None,
    definition: dict[str, Any] | None,
    inputs: dict[str, Any] | None,
    output: dict[str, Any] | None,
) -> dict[str, Any]:
    """{status: passed|failed, rules: [{rule, title, status, reason, diagnostics}]} of one Agent run."""
    model_ops = [op for op in ordered if op["operation_type"] == "model_request"]
    tool_ops = [op for op in ordered if op["operation_type"] == "tool"]
    kinds = {span["span_id"]: "agent", **{op["span_id"]: op["operation_type"] for op in ordered}}
    rules = {rule_id: _Rule(rule_id) for rule_id in RULE_TITLES}
    check_transport(rules["transport"], span, attrs, error)
    check_definition(rules["definition"], attrs, definition, tool_ops)
    check_operations(rules["operations"], span, attrs, ordered, spans)
    check_model_requests(rules["model_requests"], attrs, runtime_id, definition, model_ops)
    check_tool_calls(rules["tool_calls"], attrs, model_ops, tool_ops, admitted is not None)
    check_store_actions(rules["store_actions"], store, kinds, foreign_store_spans, model_ops, tool_ops)
    check_end_state(rules["end_state"], attrs, store, inputs, output, model_ops, tool_ops, admitted)
    check_state_replay(rules["state_replay"], store)
    results = [rule.result() for rule in rules.values()]
    return {
        "status": FAILED if any(r["status"] == FAILED for r in results) else PASSED,
        "rules": results,
    }
