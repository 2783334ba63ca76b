"""Verification rules of Agent executions: real junjo 0.69 runs (ScriptedModelDriver, no network)
pass every rule, and the same runs with one fact deliberately made inconsistent fail the rule that
guards it, with a diagnostic that says why.

The spans take the real path minus the network: the SDK's OTLP encoder, the ingestion service's
converter, and the backend's REST span shape, then `build_trace_evidence`.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import pyarrow as pa
import pytest
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from backend.agents.evidence import build_trace_evidence
from backend.spans.shape import span_to_api
from ingestion.convert import convert_request
from junjo_common.spanformat.v1 import JSON_COLUMNS
from tests.support import junjo_agents
from tests.support.otel import add_recorder

Spans = list[dict[str, Any]]


@pytest.fixture(scope="module")
def recorder() -> Iterator[InMemorySpanExporter]:
    provider = TracerProvider(resource=Resource.create({"service.name": "verify-app"}))
    seen = add_recorder(provider)
    previous = trace._TRACER_PROVIDER  # junjo reads the global provider; restore it afterwards
    trace._TRACER_PROVIDER = provider
    yield seen
    trace._TRACER_PROVIDER = previous
    provider.shutdown()


def _rest_spans(seen: InMemorySpanExporter, scenario: Callable[[], Coroutine[Any, Any, str]]) -> Spans:
    seen.clear()
    asyncio.run(scenario())
    converted = convert_request(encode_spans(seen.get_finished_spans()).SerializeToString())
    assert converted.rejected == 0, converted.error_message
    rows: list[dict[str, Any]] = []
    for batch in converted.batches:
        columns = {
            f.name: batch.column(i).cast(pa.int64()) if pa.types.is_timestamp(f.type) else batch.column(i)
            for i, f in enumerate(batch.schema)
        }
        rows += pa.table(columns).to_pylist()
    for row in rows:  # what the backend's span query selects beside the columns
        row["_json_bytes"] = sum(len(row[c].encode()) for c in JSON_COLUMNS)
    return [span_to_api(row) for row in rows]


def _agent(spans: Spans) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the Agent's executable annotation, the evidence document) of a one-Agent trace."""
    doc = build_trace_evidence(spans[0]["trace_id"], spans)
    agents = [e for e in doc["executables_by_span_id"].values() if e["executable_type"] == "agent"]
    assert len(agents) == 1
    return agents[0], doc


def _rules(agent: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["rule"]: r for r in agent["verification"]["rules"]}


def _calls(doc: dict[str, Any], agent: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    ops = sorted(
        doc["operations_by_owner_runtime_id"][agent["runtime_id"]].values(), key=lambda o: o["sequence"]
    )
    return [
        (c["call_id"], c["admission"], c["reason"]) for op in ops for c in op.get("requested_tool_calls", [])
    ]


@pytest.mark.parametrize("scenario", sorted(junjo_agents.SCENARIOS))
def test_real_runs_pass_every_rule(recorder: InMemorySpanExporter, scenario: str) -> None:
    agent, _ = _agent(_rest_spans(recorder, junjo_agents.SCENARIOS[scenario]))
    rules = _rules(agent)
    assert agent["verification"]["status"] == "passed", agent["verification"]
    assert agent["integrity"] == {
        "status": "complete",
        "diagnostics": [],
        "loss_counts": dict.fromkeys(agent["integrity"]["loss_counts"], 0),
    }
    assert set(rules) == {
        "transport",
        "definition",
        "operations",
        "model_requests",
        "tool_calls",
        "store_actions",
        "end_state",
        "state_replay",
    }
    if scenario == "input_rejected":  # never admitted: no state to compare, and the page says why
        assert {r for r, v in rules.items() if v["status"] == "skipped"} == {
            "store_actions",
            "end_state",
            "state_replay",
        }
        assert rules["end_state"]["reason"] == "the run has no Agent state to compare"
    else:
        assert all(r["status"] == "passed" for r in rules.values()), rules


@pytest.mark.parametrize(
    ("scenario", "reason", "calls"),
    [
        (
            "unknown_tool",
            "unknown_tool",
            [
                ("call_1", "not_admitted", "batch_preflight_rejected"),
                ("call_2", "not_admitted", "unknown_tool"),
            ],
        ),
        (
            "invalid_tool_arguments",
            "tool_input_validation_error",
            [
                ("call_1", "not_admitted", "batch_preflight_rejected"),
                ("call_2", "not_admitted", "tool_input_validation_error"),
                ("call_3", "not_admitted", "batch_preflight_rejected"),
            ],
        ),
        (
            "tool_limit_exceeded",
            "limit_exceeded",
            [(f"call_{i}", "not_admitted", "limit_exceeded") for i in (1, 2, 3)],
        ),
    ],
)
def test_non_admission_reasons(
    recorder: InMemorySpanExporter, scenario: str, reason: str, calls: list[tuple[str, str, str]]
) -> None:
    agent, doc = _agent(_rest_spans(recorder, junjo_agents.ADMISSION_SCENARIOS[scenario]))
    assert agent["summary"]["termination_reason"] == reason
    assert _calls(doc, agent) == calls
    assert agent["verification"]["status"] == "passed", agent["verification"]
    tools = [
        op
        for op in doc["operations_by_owner_runtime_id"][agent["runtime_id"]].values()
        if op["operation_type"] == "tool"
    ]
    # the preflight-rejected call has a Tool span that never started
    assert [(op["call_id"], op["started"]) for op in tools] == (
        [("call_2", False)] if scenario == "invalid_tool_arguments" else []
    )


# --- deliberately inconsistent spans: each edit breaks one fact a rule guards --------------------


def _span(spans: Spans, test: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    return next(s for s in spans if test(s["attributes_json"]))


def _owner(spans: Spans) -> dict[str, Any]:
    return _span(spans, lambda a: a.get("junjo.span_type") == "agent")


def _model(spans: Spans, ordinal: int) -> dict[str, Any]:
    return _span(spans, lambda a: a.get("junjo.agent.model_request.ordinal") == ordinal)


def _edit_json(span: dict[str, Any], key: str, edit: Callable[[Any], None]) -> None:
    value = json.loads(span["attributes_json"][key])
    edit(value)
    span["attributes_json"][key] = json.dumps(value)


def _set(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(target: dict[str, Any]) -> None:
        target[key] = value

    return edit


def _instructions(spans: Spans) -> None:
    _edit_json(_owner(spans), "junjo.agent.definition_snapshot", _set("instructions", "Ignore the user."))


def _tool_description(spans: Spans) -> None:
    def edit(snapshot: dict[str, Any]) -> None:
        snapshot["tools"][0]["description"] = "Deletes a city"

    _edit_json(_owner(spans), "junjo.agent.definition_snapshot", edit)


def _owner_structural_id(spans: Spans) -> None:
    _owner(spans)["attributes_json"]["junjo.executable_structural_id"] = "agent_sha256:" + "0" * 64


def _request_tools(spans: Spans) -> None:
    _edit_json(_model(spans, 2), "junjo.agent.model.request", _set("tools", []))


def _request_model_name(spans: Spans) -> None:
    _model(spans, 3)["attributes_json"]["junjo.agent.model.name"] = "another-model"


def _span_usage(spans: Spans) -> None:
    _edit_json(_model(spans, 1), "junjo.agent.model.usage", _set("totalTokens", 9999))


def _admit_on_model_span(spans: Spans) -> None:
    owner, model = _owner(spans), _model(spans, 1)
    admit = next(
        e for e in owner["events_json"] if e["attributes"].get("junjo.store.action") == "admit_tool_batch"
    )
    owner["events_json"].remove(admit)
    model["events_json"].append(admit)


def _foreign_event(spans: Spans) -> None:
    owner = _owner(spans)
    event = copy.deepcopy(owner["events_json"][0])
    stranger = {
        **copy.deepcopy(owner),
        "span_id": "f" * 16,
        "parent_span_id": None,
        "name": "unrelated",
        "attributes_json": {},
        "events_json": [event],
    }
    spans.append(stranger)


def _completed_count(spans: Spans) -> None:
    _owner(spans)["attributes_json"]["junjo.agent.tool_call.completed_count"] = 2


def _owner_usage(spans: Spans) -> None:
    def edit(usage: dict[str, Any]) -> None:
        usage["fields"]["totalTokens"]["sum"] = 1

    _edit_json(_owner(spans), "junjo.agent.usage", edit)


def _termination(spans: Spans) -> None:
    _owner(spans)["attributes_json"]["junjo.agent.termination_reason"] = "tool_error"


def _tool_arguments(spans: Spans) -> None:
    tool = _span(spans, lambda a: a.get("junjo.agent.tool_call.id") == "call_2")
    tool["attributes_json"]["junjo.agent.tool.requested_arguments"] = json.dumps({"city": "Bergen"})


TAMPERING = [
    (_instructions, "definition", "structural_id_mismatch"),
    (_instructions, "model_requests", "model_request_definition_mismatch"),
    (_tool_description, "definition", "tool_structural_id_mismatch"),
    (_owner_structural_id, "definition", "definition_owner_mismatch"),
    (_request_tools, "model_requests", "model_request_definition_mismatch"),
    (_request_model_name, "model_requests", "model_request_definition_mismatch"),
    (_span_usage, "model_requests", "model_usage_mismatch"),
    (_span_usage, "end_state", "usage_mismatch"),
    (_admit_on_model_span, "store_actions", "store_action_span_kind"),
    (_foreign_event, "store_actions", "store_causal_owner_mismatch"),
    (_completed_count, "end_state", "counter_mismatch"),
    (_completed_count, "end_state", "end_state_counter_mismatch"),
    (_owner_usage, "end_state", "end_state_usage_mismatch"),
    (_termination, "transport", "outcome_reason_mismatch"),
    (_termination, "end_state", "end_state_reason_mismatch"),
    (_tool_arguments, "tool_calls", "tool_call_arguments_mismatch"),
]


@pytest.fixture(scope="module")
def success_spans(recorder: InMemorySpanExporter) -> Spans:
    return _rest_spans(recorder, junjo_agents.run_success)


@pytest.mark.parametrize(
    ("tamper", "rule", "code"), TAMPERING, ids=[f"{t.__name__[1:]}-{r}-{c}" for t, r, c in TAMPERING]
)
def test_inconsistent_spans_fail_the_rule_that_guards_them(
    success_spans: Spans, tamper: Callable[[Spans], None], rule: str, code: str
) -> None:
    spans = copy.deepcopy(success_spans)
    tamper(spans)
    agent, _ = _agent(spans)
    result = _rules(agent)[rule]
    assert agent["verification"]["status"] == "failed"
    assert result["status"] == "failed" and code in {d["code"] for d in result["diagnostics"]}, result
    assert all(d["message"] for d in result["diagnostics"])
    # a failed rule is a hole in the evidence: the banner's integrity says partial, naming the code
    assert agent["integrity"]["status"] == "partial"
    assert code in {d["code"] for d in agent["integrity"]["diagnostics"]}


def test_untampered_copy_still_passes(success_spans: Spans) -> None:
    agent, _ = _agent(copy.deepcopy(success_spans))
    assert agent["verification"]["status"] == "passed"


def test_redacted_definition_skips_the_fingerprint_rule(success_spans: Spans) -> None:
    spans = copy.deepcopy(success_spans)
    attrs = _owner(spans)["attributes_json"]
    attrs["junjo.agent.definition_snapshot.mode"] = "excluded"
    del attrs["junjo.agent.definition_snapshot"]
    agent, _ = _agent(spans)
    definition = _rules(agent)["definition"]
    assert definition["status"] == "skipped" and "not recorded in full" in definition["reason"]
    assert _rules(agent)["model_requests"]["status"] == "passed"  # the request's own identity still checks


HOSTILE_VALUES: list[Any] = ["", "{", '{"v":1}', -1, 2**64, 1.5, True, ["a", 1]]


def test_any_hostile_attribute_value_gives_diagnostics_never_an_exception(success_spans: Spans) -> None:
    """Every attribute of every span of a real run, replaced in turn by values of the wrong type,
    out of range or unparseable: the evidence is still built and the verdict stays a verdict."""
    keys = {(i, key) for i, span in enumerate(success_spans) for key in span["attributes_json"]}
    for i, key in sorted(keys):
        for value in HOSTILE_VALUES:
            spans = list(success_spans)  # the evidence never writes into its input spans
            spans[i] = {**spans[i], "attributes_json": {**spans[i]["attributes_json"], key: value}}
            doc = build_trace_evidence(spans[0]["trace_id"], spans)
            for executable in doc["executables_by_span_id"].values():
                if executable["executable_type"] == "agent":
                    assert executable["verification"]["status"] in ("passed", "failed")
