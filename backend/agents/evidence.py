"""Trace evidence: every span of a trace plus the backend's annotation of its Junjo executables.

The shape is the one junjo's `StudioClient.get_trace_evidence` reads (seven top-level keys, nothing
else): `spans`, `executables_by_span_id` (Agent, Workflow and Subflow owners),
`operations_by_owner_runtime_id` (an Agent's model and Tool operations), `stores_by_id` (every
Store an owner declares, replayed by `stores.replay_store`), `relationships_by_owner_span_id`
(an Agent's semantic parent and nested executables) and `diagnostics`. Pure functions over
REST-shaped spans; contract versions 2 and 3 are annotated, any other is reported, never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from backend.agents import telemetry as t
from backend.agents.stores import (
    AGENT_STORE,
    APPLICATION_STORE,
    VERIFIED,
    WORKFLOW_STORE,
    StoreEvents,
    replay_store,
    store_events,
)
from backend.agents.verification import verify_agent

SUPPORTED_CONTRACTS = (2, 3)
OWNER_TYPES = ("agent", "workflow", "subflow")
STATUS_ERROR = "2"
MAX_ANCESTORS = 256  # how far up an Agent's enclosing Workflow is looked for
_LOSS_FIELDS = (
    "resource_dropped_attributes",
    "span_dropped_attributes",
    "span_dropped_events",
    "span_dropped_links",
    "event_dropped_attributes",
)


def _attrs(span: dict[str, Any]) -> dict[str, Any]:
    attrs = span.get("attributes_json")
    return attrs if isinstance(attrs, dict) else {}


def _events(span: dict[str, Any]) -> list[dict[str, Any]]:
    events = span.get("events_json")
    return [e for e in events if isinstance(e, dict)] if isinstance(events, list) else []


def _issue(code: str, message: str, path: str = "") -> dict[str, str]:
    return {"code": code, "path": path, "message": message}


def _error(span: dict[str, Any]) -> dict[str, Any] | None:
    """{type, message, stacktrace} of a failed span (status ERROR), from its `exception` event."""
    if span.get("status_code") != STATUS_ERROR:
        return None
    attrs = _attrs(span)
    exception = next((e for e in reversed(_events(span)) if e.get("name") == "exception"), None)
    ev = exception.get("attributes") if exception else None
    ev = ev if isinstance(ev, dict) else {}
    return {
        "type": t.text(attrs, "error.type") or t.text(ev, "exception.type"),
        "qualified_type": t.text(ev, "exception.type"),
        "message": t.text(ev, "exception.message", 65536) or span.get("status_message") or None,
        "stacktrace": t.text(ev, "exception.stacktrace", 1 << 20),
    }


def _cancellation(attrs: dict[str, Any]) -> dict[str, Any] | None:
    if t.boolean(attrs, "junjo.cancelled") is not True:
        return None
    return {"reason": t.text(attrs, "junjo.cancelled_reason", 4096)}


def _loss_counts(spans: list[dict[str, Any]]) -> dict[str, int]:
    counts = dict.fromkeys(_LOSS_FIELDS, 0)
    for span in spans:
        for counter, key in (
            ("resource_dropped_attributes", "resource_dropped_attributes_count"),
            ("span_dropped_attributes", "dropped_attributes_count"),
            ("span_dropped_events", "dropped_events_count"),
            ("span_dropped_links", "dropped_links_count"),
        ):
            value = span.get(key)
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                counts[counter] += value
        for event in _events(span):
            value = event.get("droppedAttributesCount")
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                counts["event_dropped_attributes"] += value
    return counts


def _payload_issues(owner: str, slots: dict[str, Any]) -> list[dict[str, str]]:
    issues = []
    for name, slot in slots.items():
        if slot is None:
            continue
        if slot["mode"] == "missing":
            issues.append(_issue("invalid_payload_slot", slot["reason"] or "invalid payload", name))
        elif slot["mode"] != "full":
            issues.append(_issue("payload_not_full", f"payload mode is {slot['mode']}", name))
    return issues


def _integrity(issues: list[dict[str, str]], losses: dict[str, int]) -> dict[str, Any]:
    return {
        "status": "complete" if not issues and not any(losses.values()) else "partial",
        "diagnostics": issues,
        "loss_counts": losses,
    }


def _model_operation(span: dict[str, Any], attrs: dict[str, Any]) -> dict[str, Any]:
    request = t.payload(attrs, "junjo.agent.model.request")
    response = t.payload(attrs, "junjo.agent.model.response")
    calls = []
    value = response["value"] if response else None
    if isinstance(value, dict) and isinstance(value.get("calls"), list):
        for call in value["calls"]:
            if isinstance(call, dict):
                calls.append(
                    {
                        "call_id": call.get("id") if isinstance(call.get("id"), str) else None,
                        "tool_name": call.get("name") if isinstance(call.get("name"), str) else None,
                        "arguments": call.get("arguments"),
                    }
                )
    return {
        "operation_type": "model_request",
        "ordinal": t.integer(attrs, "junjo.agent.model_request.ordinal", 1),
        "state_revision": t.integer(attrs, "junjo.agent.model_request.state_revision"),
        "driver_key": t.text(attrs, "junjo.agent.model.driver_key"),
        "provider": t.text(attrs, "junjo.agent.model.provider"),
        "model_name": t.text(attrs, "junjo.agent.model.name"),
        "fixture": t.boolean(attrs, "junjo.model.fixture") is True,
        "request": request,
        "response_candidate": t.candidate(attrs, "junjo.agent.model.response_candidate"),
        "response_type": t.text(attrs, "junjo.agent.model.response_type", 64),
        "response": response,
        "usage": t.model_usage(attrs.get("junjo.agent.model.usage")),
        "requested_tool_calls": calls,
    }


def _tool_operation(span: dict[str, Any], attrs: dict[str, Any]) -> dict[str, Any]:
    return {
        "operation_type": "tool",
        "call_id": t.text(attrs, "junjo.agent.tool_call.id"),
        "ordinal": t.integer(attrs, "junjo.agent.tool_call.ordinal", 1),
        "tool_name": t.text(attrs, "junjo.agent.tool.name"),
        "tool_structural_id": t.text(attrs, "junjo.agent.tool.structural_id"),
        "state_revision_before": t.integer(attrs, "junjo.agent.tool.state_revision.before"),
        "state_revision_after": t.integer(attrs, "junjo.agent.tool.state_revision.after"),
        "requested_arguments": t.payload(attrs, "junjo.agent.tool.requested_arguments"),
        "arguments": t.payload(attrs, "junjo.agent.tool.arguments"),
        "result_candidate": t.candidate(attrs, "junjo.agent.tool.result_candidate"),
        "result": t.payload(attrs, "junjo.agent.tool.result"),
        # a call rejected in preflight (or whose service could not be built) has a span but never started
        "started": (t.candidate(attrs, "junjo.agent.tool.result_candidate") or {}).get("unavailable_reason")
        != "not_invoked",
        "completed": t.integer(attrs, "junjo.agent.tool.state_revision.after") is not None,
    }


def _operation(span: dict[str, Any]) -> dict[str, Any] | None:
    attrs = _attrs(span)
    kind = attrs.get("junjo.agent.operation_type")
    if kind not in ("model_request", "tool"):
        return None
    op = _model_operation(span, attrs) if kind == "model_request" else _tool_operation(span, attrs)
    error = _error(span)
    cancellation = _cancellation(attrs)
    return {
        "sequence": t.integer(attrs, "junjo.agent.operation.sequence", 1),
        "span_id": span["span_id"],
        "name": span.get("name"),
        "start_time": span.get("start_time"),
        "end_time": span.get("end_time"),
        **op,
        "outcome": "cancelled" if cancellation else "failed" if error else "completed",
        "error": error,
        "cancellation": cancellation,
    }


def _not_admitted_reason(
    call: dict[str, Any], last_batch: bool, attrs: dict[str, Any], declared_tools: set[str] | None
) -> str | None:
    """Why a requested call was not admitted, as the run's termination explains it; None when the
    termination explains nothing (a batch that was not the last cannot have been rejected)."""
    if not last_batch:
        return None
    reason = t.text(attrs, "junjo.agent.termination_reason", 128)
    if reason == "limit_exceeded" and t.text(attrs, "junjo.agent.limit.exceeded", 64) == "tool_calls":
        return "limit_exceeded"
    if reason == "unknown_tool":
        unknown = declared_tools is not None and call["tool_name"] not in declared_tools
        return "unknown_tool" if unknown else "batch_preflight_rejected"
    if reason == "tool_input_validation_error":
        rejected = call["observed_tool_operation"] is not None  # only the first invalid call gets a span
        return "tool_input_validation_error" if rejected else "batch_preflight_rejected"
    if reason in ("final_output", None):
        return None
    return "execution_interrupted"  # the run ended (error, cancellation) before admitting the batch


def _declared_tools(definition: dict[str, Any] | None) -> set[str] | None:
    value = definition["value"] if definition else None
    tools = value.get("tools") if isinstance(value, dict) else None
    if not isinstance(tools, list):
        return None
    return {tool["name"] for tool in tools if isinstance(tool, dict) and isinstance(tool.get("name"), str)}


def _link_tool_calls(
    operations: list[dict[str, Any]],
    admitted: set[str] | None,
    attrs: dict[str, Any],
    declared_tools: set[str] | None,
) -> None:
    """Each model request's requested calls -> the Tool operation that ran it, its admission and,
    when not admitted or never started, the reason.

    Admission comes from the replayed end state's `admitted_tool_call_ids`, so it is `unknown`
    unless the runtime Store verified.
    """
    tools = {(op.get("call_id")): op for op in operations if op["operation_type"] == "tool"}
    batches = [
        op for op in operations if op["operation_type"] == "model_request" and op["requested_tool_calls"]
    ]
    for op in batches:
        for call in op["requested_tool_calls"]:
            tool = tools.get(call["call_id"])
            call["observed_tool_operation"] = tool["span_id"] if tool else None
            if admitted is None:
                call["admission"], call["reason"] = "unknown", "store_evidence_unavailable"
            elif call["call_id"] in admitted:
                call["admission"] = "admitted"
                call["reason"] = None if tool and tool["started"] else "execution_interrupted"
            else:
                call["admission"] = "not_admitted"
                call["reason"] = _not_admitted_reason(call, op is batches[-1], attrs, declared_tools)


@dataclass
class _Trace:
    """The trace's spans indexed once, so annotating many owners stays linear in the trace."""

    spans: list[dict[str, Any]]
    by_id: dict[str, dict[str, Any]] = field(default_factory=dict)
    by_agent_runtime: dict[Any, list[dict[str, Any]]] = field(default_factory=dict)
    owners: dict[tuple[Any, Any], list[dict[str, Any]]] = field(default_factory=dict)
    children: dict[Any, list[dict[str, Any]]] = field(default_factory=dict)
    events: StoreEvents = field(default_factory=dict)

    def __post_init__(self) -> None:
        for span in self.spans:
            attrs = _attrs(span)
            self.by_id[span["span_id"]] = span
            runtime = attrs.get("junjo.agent.runtime_id")
            if isinstance(runtime, str):
                self.by_agent_runtime.setdefault(runtime, []).append(span)
            key = (attrs.get("junjo.executable_runtime_id"), attrs.get("junjo.span_type"))
            if isinstance(key[0], str) and isinstance(key[1], str):
                self.owners.setdefault(key, []).append(span)
            parent = span.get("parent_span_id")
            if isinstance(parent, str):
                self.children.setdefault(parent, []).append(span)
        self.events = store_events(self.spans)


def _agent_annotation(
    span: dict[str, Any], version: int, trace: _Trace
) -> tuple[dict[str, Any], dict[str, dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
    """(executable, operations by span id, stores, relationships) of one Agent owner span."""
    attrs = _attrs(span)
    runtime_id = t.text(attrs, "junjo.executable_runtime_id") or t.text(attrs, "junjo.agent.runtime_id")
    issues: list[dict[str, str]] = []
    if runtime_id != t.text(attrs, "junjo.agent.runtime_id"):
        issues.append(_issue("runtime_id_mismatch", "junjo.executable_runtime_id != junjo.agent.runtime_id"))

    own_spans = [span]
    operations: dict[str, dict[str, Any]] = {}
    for other in trace.by_agent_runtime.get(runtime_id, []) if runtime_id is not None else []:
        if other is span:
            continue
        op = _operation(other)
        if op is None:
            continue
        own_spans.append(other)
        operations[other["span_id"]] = op
    ordered = sorted(operations.values(), key=lambda o: (o["sequence"] is None, o["sequence"] or 0))

    stores: list[dict[str, Any]] = []
    own_ids = {s["span_id"] for s in own_spans}
    runtime_store = replay_store(attrs, AGENT_STORE, version, trace.events, own_ids)
    admitted: set[str] | None = None
    foreign: list[str] = []
    if runtime_store["available"]:
        stores.append(_store_entry(runtime_store, span, runtime_id, "agent", "runtime"))
        end_state = runtime_store["end"]["value"] if runtime_store["end"] else None
        if runtime_store["reconstruction_status"] == VERIFIED and isinstance(end_state, dict):
            ids = end_state.get("admitted_tool_call_ids")
            admitted = {i for i in ids if isinstance(i, str)} if isinstance(ids, list) else None
        events = trace.events.get(runtime_store["store_id"], [])
        foreign = sorted({span_id for _, span_id, _ in events if span_id not in own_ids})
    app_store = replay_store(attrs, APPLICATION_STORE, version, trace.events)
    app_entry = (
        _store_entry(app_store, span, runtime_id, "agent", "application") if app_store["available"] else None
    )
    if app_entry is not None:
        stores.append(app_entry)
        issues.extend(app_store["diagnostics"])

    payloads = {
        "junjo.agent.definition_snapshot": t.payload(attrs, "junjo.agent.definition_snapshot"),
        "junjo.agent.input": t.payload(attrs, "junjo.agent.input"),
        "junjo.agent.output": t.payload(attrs, "junjo.agent.output"),
    }
    definition = payloads["junjo.agent.definition_snapshot"]
    _link_tool_calls(ordered, admitted, attrs, _declared_tools(definition))
    error = _error(span)
    verification = verify_agent(
        span=span,
        attrs=attrs,
        runtime_id=runtime_id,
        error=error,
        ordered=ordered,
        spans=trace.by_id,
        store=runtime_store,
        foreign_store_spans=foreign,
        admitted=admitted,
        definition=definition,
        inputs=payloads["junjo.agent.input"],
        output=payloads["junjo.agent.output"],
    )
    for rule in verification["rules"]:
        issues.extend(rule["diagnostics"])
    issues.extend(_payload_issues(span["span_id"], payloads))
    losses = _loss_counts(own_spans)
    relationships = _relationships(span, attrs, ordered, trace)
    summary = t.owner_summary(
        attrs,
        resource if isinstance(resource := span.get("resource_attributes_json"), dict) else {},
        trace_id=span["trace_id"],
        span_id=span["span_id"],
        service_name=span.get("service_name") or "",
        name=span.get("name") or "",
        start_ns=0,
        end_ns=0,
        status_error=span.get("status_code") == STATUS_ERROR,
    )
    for key in ("start_time_ns", "end_time_ns", "duration_ns"):
        summary.pop(key)
    executable = {
        "executable_type": "agent",
        "owner_span_id": span["span_id"],
        "runtime_id": runtime_id,
        "contract_version": version,
        "name": summary["agent_name"],
        "store_id": runtime_store["store_id"] if runtime_store["available"] else None,
        "application_store_id": app_store["store_id"] if app_store["available"] else None,
        # this run's window of its application Store (stores_by_id keeps the Store's owner's entry)
        "application_store": app_entry,
        "unavailable_store": None if runtime_store["available"] else runtime_store,
        "state_available": t.boolean(attrs, "junjo.agent.state.available"),
        "summary": summary,
        "definition": payloads["junjo.agent.definition_snapshot"],
        "input": payloads["junjo.agent.input"],
        "output": payloads["junjo.agent.output"],
        "input_candidate": t.candidate(attrs, "junjo.agent.input_candidate"),
        "history_candidate": t.candidate(attrs, "junjo.agent.history_candidate"),
        "limit": {
            "exceeded": t.text(attrs, "junjo.agent.limit.exceeded", 64),
            "attempted_count": t.integer(attrs, "junjo.agent.limit.attempted_count"),
            "requested_batch_size": t.integer(attrs, "junjo.agent.limit.requested_batch_size"),
        },
        "error": error,
        "cancellation": _cancellation(attrs),
        "verification": verification,
        "integrity": _integrity(issues, losses),
    }
    return executable, operations, stores, relationships


def _store_entry(
    detail: dict[str, Any], owner: dict[str, Any], runtime_id: str | None, owner_type: str, role: str
) -> dict[str, Any]:
    return {
        "store_id": detail["store_id"],
        "role": role,
        "owner_span_id": owner["span_id"],
        "owner_runtime_id": runtime_id,
        "owner_executable_type": owner_type,
        "detail": detail,
        "integrity": _integrity(detail["diagnostics"], dict.fromkeys(_LOSS_FIELDS, 0)),
    }


def _executable_ref(span: dict[str, Any]) -> dict[str, Any]:
    attrs = _attrs(span)
    return {
        "executable_type": attrs.get("junjo.span_type")
        if isinstance(attrs.get("junjo.span_type"), str)
        else None,
        "trace_id": span["trace_id"],
        "span_id": span["span_id"],
        "name": span.get("name"),
        "service": t.service_identity(
            resource if isinstance(resource := span.get("resource_attributes_json"), dict) else {},
            span.get("service_name") or "",
        ),
        "definition_id": t.text(attrs, "junjo.executable_definition_id"),
        "runtime_id": t.text(attrs, "junjo.executable_runtime_id"),
        "structural_id": t.text(attrs, "junjo.executable_structural_id"),
    }


def _enclosing_workflow(span: dict[str, Any], by_id: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """The nearest Workflow/Subflow ancestor span, within MAX_ANCESTORS steps."""
    seen: set[str] = set()
    current = by_id.get(span.get("parent_span_id") or "")
    while current is not None and current["span_id"] not in seen and len(seen) < MAX_ANCESTORS:
        seen.add(current["span_id"])
        if _attrs(current).get("junjo.span_type") in ("workflow", "subflow"):
            return current
        current = by_id.get(current.get("parent_span_id") or "")
    return None


def _relationships(
    span: dict[str, Any], attrs: dict[str, Any], operations: list[dict[str, Any]], trace: _Trace
) -> dict[str, Any]:
    declared = t.parent_executable(attrs)
    parent: dict[str, Any] | None = None
    if declared is not None:
        matches = trace.owners.get((declared["runtime_id"], declared["type"]), [])
        parent = {
            **declared,
            "executable_type": declared["type"],
            "physical_parent_span_id": span.get("parent_span_id"),
            "span_id": matches[0]["span_id"] if len(matches) == 1 else None,
            "name": matches[0].get("name") if len(matches) == 1 else None,
            "resolved": len(matches) == 1,
            "workflow": None,
        }
        workflow = _enclosing_workflow(span, trace.by_id)
        if workflow is not None:
            parent["workflow"] = _executable_ref(workflow)
    tool_spans = {op["span_id"]: op for op in operations if op["operation_type"] == "tool"}
    nested = []
    for tool_span_id, tool in tool_spans.items():
        for other in trace.children.get(tool_span_id, []):
            if _attrs(other).get("junjo.span_type") not in OWNER_TYPES:
                continue
            nested.append(
                {
                    **_executable_ref(other),
                    "parent_operation_sequence": tool["sequence"],
                    "parent_operation_span_id": tool["span_id"],
                }
            )
    return {"parent": parent, "nested": nested}


def _workflow_annotation(
    span: dict[str, Any], version: int, trace: _Trace
) -> tuple[dict[str, Any], dict[str, Any]]:
    attrs = _attrs(span)
    detail = replay_store(attrs, WORKFLOW_STORE, version, trace.events)
    executable = {
        "executable_type": attrs.get("junjo.span_type"),
        "owner_span_id": span["span_id"],
        "runtime_id": t.text(attrs, "junjo.executable_runtime_id"),
        "definition_id": t.text(attrs, "junjo.executable_definition_id"),
        "structural_id": t.text(attrs, "junjo.executable_structural_id"),
        "contract_version": version,
        "name": span.get("name"),
        "store_id": detail["store_id"] if detail["available"] else None,
        "unavailable_store": None if detail["available"] else detail,
        "error": _error(span),
        "integrity": _integrity(detail["diagnostics"], _loss_counts([span])),
    }
    store = _store_entry(detail, span, executable["runtime_id"], executable["executable_type"], "runtime")
    return executable, store


def build_trace_evidence(trace_id: str, spans: list[dict[str, Any]]) -> dict[str, Any]:
    """The trace evidence document; `spans` are REST-shaped (any order)."""
    ordered = sorted(spans, key=lambda s: (s.get("start_time") or "", s["span_id"]))
    trace = _Trace(ordered)
    executables: dict[str, Any] = {}
    operations: dict[str, dict[str, Any]] = {}
    stores: dict[str, Any] = {}
    relationships: dict[str, Any] = {}
    diagnostics: list[dict[str, Any]] = []

    def add_store(entry: dict[str, Any]) -> None:
        store_id = entry["store_id"]
        if store_id in stores and stores[store_id]["owner_span_id"] != entry["owner_span_id"]:
            # a Workflow's Store borrowed by an Agent (its application Store): the Workflow owns it
            if entry["role"] == "application":
                return
            if stores[store_id]["role"] == "application":
                stores[store_id] = entry
                return
            diagnostics.append(
                {
                    "scope": "trace",
                    "owner_span_id": None,
                    "issue": _issue("duplicate_store_identity", f"Store {store_id} has two owners"),
                }
            )
            return
        stores[store_id] = entry

    for span in ordered:
        attrs = _attrs(span)
        kind = attrs.get("junjo.span_type")
        if kind not in OWNER_TYPES:
            continue
        version = t.integer(attrs, "junjo.telemetry.contract_version")
        if version not in SUPPORTED_CONTRACTS:
            diagnostics.append(
                {
                    "scope": "executable",
                    "owner_span_id": span["span_id"],
                    "issue": _issue(
                        "unsupported_contract",
                        f"junjo.telemetry.contract_version {attrs.get('junjo.telemetry.contract_version')!r} "
                        f"is not one of {list(SUPPORTED_CONTRACTS)}; the span is shown raw",
                        "junjo.telemetry.contract_version",
                    ),
                }
            )
            continue
        assert version is not None
        if kind == "agent":
            executable, ops, agent_stores, rel = _agent_annotation(span, version, trace)
            executables[span["span_id"]] = executable
            if executable["runtime_id"]:
                operations.setdefault(executable["runtime_id"], {}).update(ops)
            relationships[span["span_id"]] = rel
            for entry in agent_stores:
                add_store(entry)
        else:
            executable, entry = _workflow_annotation(span, version, trace)
            executables[span["span_id"]] = executable
            if entry["store_id"]:
                add_store(entry)
        for issue in executable["integrity"]["diagnostics"]:
            diagnostics.append({"scope": "executable", "owner_span_id": span["span_id"], "issue": issue})
    return {
        "trace_id": trace_id,
        "spans": ordered,
        "executables_by_span_id": executables,
        "operations_by_owner_runtime_id": operations,
        "stores_by_id": stores,
        "relationships_by_owner_span_id": relationships,
        "diagnostics": diagnostics,
    }
