"""The trace document over real Junjo 0.69 output (captured once by tests/query/capture_fixture.py)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from backend.spans.document import build_trace_document

FIXTURE = Path(__file__).parent / "fixtures" / "junjo_069_workflow.json"


@pytest.fixture
def spans() -> list[dict[str, Any]]:
    return json.loads(FIXTURE.read_text())["spans"]


def _by_name(spans: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(s for s in spans if s["name"] == name)


def _workflow(doc: dict[str, Any], name: str) -> dict[str, Any]:
    return next(w for w in doc["workflows"].values() if w["name"] == name)


def test_real_sdk_output_verifies_workflow_and_subflow(spans: list[dict[str, Any]]) -> None:
    doc = build_trace_document(spans[0]["trace_id"], spans)
    assert doc["diagnostics"] == []
    assert len(doc["spans"]) == len(spans) == 8
    assert {w["executable_type"] for w in doc["workflows"].values()} == {"workflow", "subflow"}

    main = _workflow(doc, "demo_workflow")
    assert main["contract_version"] == 3 and main["status_code"] == "2"
    store = main["store"]
    assert store["status"] == "verified", store["reasons"]
    assert [t["sequence"] for t in store["transitions"]] == [1, 2, 3, 4, 5]
    actions = [t["action"] for t in store["transitions"]]
    assert actions[0] == "set_count" and actions[-1] == "set_doubled"
    assert set(actions[1:4]) == {"set_left", "set_right", "add_item"}  # concurrent nodes
    # before/after chain: each transition starts where the previous ended, ending at state.end
    assert store["transitions"][0]["before"] == store["start"]
    for prev, nxt in zip(store["transitions"], store["transitions"][1:], strict=False):
        assert prev["after"] == nxt["before"]
    assert store["transitions"][-1]["after"] == store["end"]
    assert store["end"]["items"] == ["laser", "coffee", "horse"] and store["end"]["doubled"] == 6

    graph = main["graph"]
    assert graph["v"] == 2 and len(graph["nodes"]) >= 4 and main["graph_error"] is None
    count_node = _by_name(spans, "CountNode")
    rid = count_node["attributes_json"]["junjo.executable_runtime_id"]
    assert main["node_spans"][rid] == [count_node["span_id"]]

    sub = _workflow(doc, "doubler")
    assert sub["store"]["status"] == "verified"
    assert [t["after"] for t in sub["store"]["transitions"]] == [{"value": 3}, {"value": 6}]


def test_tampered_patch_fails_verification(spans: list[dict[str, Any]]) -> None:
    node = _by_name(spans, "CountNode")
    node["events_json"][0]["attributes"]["junjo.state_json_patch"] = (
        '[{"op":"replace","path":"/count","value":4}]'
    )
    store = _workflow(build_trace_document("t", spans), "demo_workflow")["store"]
    assert store["status"] == "failed"
    assert any("does not produce state.end" in r for r in store["reasons"])


def test_missing_transition_and_bad_patch_are_reported(spans: list[dict[str, Any]]) -> None:
    _by_name(spans, "LeftNode")["events_json"] = []
    store = _workflow(build_trace_document("t", spans), "demo_workflow")["store"]
    assert store["status"] == "failed"
    assert any("missing set_state transitions [2]" in r for r in store["reasons"])

    spans2 = json.loads(FIXTURE.read_text())["spans"]
    _by_name(spans2, "CountNode")["events_json"][0]["attributes"]["junjo.state_json_patch"] = (
        '[{"op":"remove","path":"/nope"}]'
    )
    store2 = _workflow(build_trace_document("t", spans2), "demo_workflow")["store"]
    assert store2["status"] == "failed"
    assert any("does not apply" in r for r in store2["reasons"])


def test_redacted_state_is_unavailable_not_failed(spans: list[dict[str, Any]]) -> None:
    attrs = _by_name(spans, "demo_workflow")["attributes_json"]
    attrs["junjo.workflow.state.start.mode"] = "redacted"
    del attrs["junjo.workflow.state.start"]
    store = _workflow(build_trace_document("t", spans), "demo_workflow")["store"]
    assert store["status"] == "unavailable"
    assert store["transitions"] and all(t["before"] is None for t in store["transitions"])
    assert any("redacted" in r for r in store["reasons"])


def test_contract_v2_window_uses_transition_count(spans: list[dict[str, Any]]) -> None:
    for span in spans:
        attrs = span["attributes_json"]
        if "junjo.telemetry.contract_version" in attrs:
            attrs["junjo.telemetry.contract_version"] = 2
            attrs.pop("junjo.store.transition.start", None)
            attrs.pop("junjo.store.transition.end", None)
    doc = build_trace_document("t", spans)
    main = _workflow(doc, "demo_workflow")
    assert main["contract_version"] == 2 and main["store"]["status"] == "verified"


def test_unknown_contract_version_keeps_raw_spans_with_diagnostic(spans: list[dict[str, Any]]) -> None:
    raw = copy.deepcopy(spans)
    for span in spans:
        if "junjo.telemetry.contract_version" in span["attributes_json"]:
            span["attributes_json"]["junjo.telemetry.contract_version"] = 99
    doc = build_trace_document("t", spans)
    assert doc["workflows"] == {}
    assert len(doc["spans"]) == len(raw)
    assert {d["code"] for d in doc["diagnostics"]} == {"unsupported_contract"}


def test_broken_graph_snapshot_is_a_diagnostic(spans: list[dict[str, Any]]) -> None:
    _by_name(spans, "demo_workflow")["attributes_json"]["junjo.workflow.execution_graph_snapshot"] = (
        "{not json"
    )
    doc = build_trace_document("t", spans)
    main = _workflow(doc, "demo_workflow")
    assert main["graph"] is None and "not valid JSON" in main["graph_error"]
    assert main["store"]["status"] == "verified"
    assert any(d["code"] == "graph_snapshot" for d in doc["diagnostics"])


def test_plain_otel_spans_have_no_workflows() -> None:
    span = {
        "trace_id": "a" * 32,
        "span_id": "b" * 16,
        "parent_span_id": None,
        "name": "GET /",
        "start_time": "2026-01-01T00:00:00.000000+00:00",
        "attributes_json": {"http.method": "GET"},
        "events_json": [],
    }
    doc = build_trace_document("a" * 32, [span])
    assert doc["workflows"] == {} and doc["diagnostics"] == [] and doc["spans"] == [span]
