"""Property tests: random and hostile telemetry into the trace document, span shaping and the indexer.

Spans are built as stored rows (JSON text columns) and shaped exactly as the API does, so the
fuzzing covers decoding too. Every example must finish without an exception, encode as the API's
response, and stay inside a memory bound measured with tracemalloc; hypothesis' per-example
deadline is generous (a hang fails, slowness of the shared machine does not).
"""

from __future__ import annotations

import json
import tracemalloc
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.index.cold import LocalColdFiles
from backend.index.indexer import Indexer
from backend.index.store import MetadataIndex
from backend.index.summary import summarize
from backend.spans import document
from backend.spans.document import build_trace_document
from backend.spans.limits import STATE_HISTORY_BYTES
from backend.spans.preview import preview_select
from backend.spans.shape import span_preview, span_to_api
from tests.query.spanfiles import BASE_NS, cold_path, new_trace_id, read_back, span, write_span_file

MiB = 1024 * 1024
STATUSES = {"verified", "failed", "unavailable", "unverifiable"}
FUZZ = settings(
    max_examples=120,
    deadline=timedelta(seconds=30),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


leaves = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)
json_values = st.recursive(
    leaves,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=25,
)
hostile = st.one_of(
    json_values,
    st.sampled_from([10**9, -(10**9), 2**63 - 1, -(2**63), 0, 1, -1, "", [], {}, ["x"], {"a": 1}, True]),
    st.builds(nested, st.sampled_from([100, 300, 500, 1100])),
)
json_texts = st.one_of(
    json_values.map(json.dumps),
    st.builds(nested, st.sampled_from([60, 70, 300, 500, 1100])),
    st.builds(lambda d: '{"a":' * d + "0" + "}" * d, st.sampled_from([63, 65, 400])),
    st.text(max_size=30),
    hostile,
)
store_ids = st.sampled_from(["s1", "s2"])
ops = st.fixed_dictionaries(
    {
        "op": st.one_of(st.sampled_from(["add", "remove", "replace", "move", "copy", "test"]), hostile),
        "path": st.one_of(st.sampled_from(["", "/a", "/a/0", "/a/-", "/b", "/a/a/a"]), hostile),
    },
    optional={"from": st.one_of(st.sampled_from(["", "/a", "/b"]), hostile), "value": json_values},
)
patches = st.one_of(st.lists(st.one_of(ops, hostile), max_size=6).map(json.dumps), json_texts)


def _maybe(keys: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional=keys)


workflow_attributes = _maybe(
    {
        "junjo.span_type": st.one_of(st.sampled_from(["workflow", "subflow", "node"]), hostile),
        "junjo.telemetry.contract_version": st.one_of(st.sampled_from([2, 3]), hostile),
        "junjo.executable_runtime_id": st.one_of(st.sampled_from(["n1", "n2"]), hostile),
        "junjo.workflow.store.id": st.one_of(store_ids, hostile),
        "junjo.workflow.state.start": json_texts,
        "junjo.workflow.state.end": json_texts,
        "junjo.workflow.state.start.mode": st.one_of(st.just("full"), hostile),
        "junjo.store.transition.start": st.one_of(st.integers(-3, 5), hostile),
        "junjo.store.transition.end": st.one_of(st.integers(-3, 12), hostile),
        "junjo.store.transition.count": st.one_of(st.integers(-3, 12), hostile),
        "junjo.store.revision.start": st.one_of(st.integers(0, 3), hostile),
        "junjo.store.revision.end": st.one_of(st.integers(0, 12), hostile),
        "junjo.workflow.execution_graph_snapshot": st.one_of(
            st.builds(
                lambda nodes, edges: json.dumps({"v": 2, "nodes": nodes, "edges": edges}),
                st.lists(
                    st.one_of(
                        st.fixed_dictionaries({"nodeRuntimeId": st.one_of(st.text(max_size=3), hostile)}),
                        hostile,
                    ),
                    max_size=4,
                ),
                st.lists(hostile, max_size=3),
            ),
            json_texts,
        ),
    }
)
set_state_events = st.builds(
    lambda attrs, name: {"name": name, "timeUnixNano": "1", "attributes": attrs},
    _maybe(
        {
            "junjo.store.id": st.one_of(store_ids, hostile),
            "junjo.store.transition.sequence": st.one_of(st.integers(-2, 12), hostile),
            "junjo.store.revision.before": st.one_of(st.integers(0, 12), hostile),
            "junjo.store.revision.after": st.one_of(st.integers(0, 12), hostile),
            "junjo.state_json_patch": patches,
            "junjo.state_json_patch.mode": st.one_of(st.just("full"), hostile),
            "id": hostile,
            "junjo.store.action": hostile,
        }
    ),
    st.one_of(st.just("set_state"), st.text(max_size=5)),
)
events = st.one_of(st.lists(st.one_of(set_state_events, hostile), max_size=6), hostile)


def _text(value: Any) -> str:
    """A JSON column as stored: usually the value's JSON, sometimes not JSON at all."""
    return value if isinstance(value, str) else json.dumps(value)


@st.composite
def traces(draw: st.DrawFn) -> list[dict[str, Any]]:
    trace_id = new_trace_id()
    rows = []
    for i in range(draw(st.integers(1, 5))):
        row = span(trace_id, start_ns=BASE_NS + draw(st.integers(0, 3)), name=f"s{i}")
        row["attributes"] = _text(draw(st.one_of(workflow_attributes, hostile)))
        row["events"] = _text(draw(events))
        row["links"] = _text(draw(hostile))
        row["resource_attributes"] = _text(draw(hostile))
        rows.append(row)
    return rows


def _bounded(fn: Any, limit: int) -> Any:
    tracemalloc.start()
    try:
        result = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < limit, f"peak {peak / MiB:.1f} MiB"
    return result


@FUZZ
@given(rows=traces())
def test_trace_document_never_raises_and_stays_bounded(rows: list[dict[str, Any]]) -> None:
    read = read_back(rows)

    def build() -> bytes:
        spans = [span_to_api(r) for r in read]
        return orjson.dumps(build_trace_document(rows[0]["trace_id"], spans))

    doc = orjson.loads(_bounded(build, 64 * MiB))
    assert len(doc["spans"]) == len(rows)
    for workflow in doc["workflows"].values():
        assert workflow["store"]["status"] in STATUSES
        assert isinstance(workflow["runtime_id"], str | None)
        assert all(isinstance(k, str) for k in workflow["node_spans"])
        for t in workflow["store"]["transitions"]:
            assert isinstance(t["event_id"], str | None) and isinstance(t["revision_before"], int | None)


@FUZZ
@given(rows=traces())
def test_listing_previews_never_raise(rows: list[dict[str, Any]]) -> None:
    for row in read_back(rows, preview_select()):
        preview = span_preview(row)
        assert len(orjson.dumps(preview)) < 16 * 1024


@settings(max_examples=25, deadline=timedelta(seconds=60), suppress_health_check=[HealthCheck.too_slow])
@given(attributes=st.lists(st.one_of(json_texts, st.text(max_size=200)), min_size=1, max_size=20))
def test_indexer_takes_any_attribute_text(
    tmp_path_factory: pytest.TempPathFactory, attributes: list[str]
) -> None:
    root = tmp_path_factory.mktemp("fuzz") / "parquet"
    rows = []
    for i, text in enumerate(attributes):
        row = span(new_trace_id(), start_ns=BASE_NS + i, parent=None if i % 2 else "a" * 16)
        row["attributes"] = text if isinstance(text, str) else json.dumps(text)
        rows.append(row)
    path = write_span_file(cold_path(root, "fuzz"), rows)
    summary = _bounded(lambda: summarize(path), 64 * MiB)
    assert summary.row_count == len(rows)
    index = MetadataIndex(root.parent / "metadata.db")
    assert Indexer(index, LocalColdFiles(root), poll_interval=60).run_pass().indexed == [str(path)]


# --- hostile cases the properties might not reach ---------------------------------------------------


def _owner(store: str = "s1", **attrs: Any) -> dict[str, Any]:
    return {
        "junjo.span_type": "workflow",
        "junjo.telemetry.contract_version": 3,
        "junjo.workflow.store.id": store,
        "junjo.workflow.state.start": '{"a":[1,2,3,4,5,6,7,8]}',
        "junjo.store.transition.start": 0,
        **attrs,
    }


def _set_state(seq: int, patch: list[Any], store: str = "s1") -> dict[str, Any]:
    return {
        "name": "set_state",
        "timeUnixNano": "1",
        "attributes": {
            "junjo.store.id": store,
            "junjo.store.transition.sequence": seq,
            "junjo.state_json_patch": json.dumps(patch),
        },
    }


def _document(owner: dict[str, Any], events: list[dict[str, Any]]) -> dict[str, Any]:
    trace = new_trace_id()
    [row] = read_back([span(trace, attributes=owner, events=events)])
    return build_trace_document(trace, [span_to_api(row)])


def test_copy_operations_cannot_double_the_state_without_bound() -> None:
    doubling = [{"op": "copy", "from": "/a", "path": "/a/-"} for _ in range(40)]
    owner = _owner(**{"junjo.store.transition.end": 1, "junjo.workflow.state.end": "{}"})
    doc = _bounded(lambda: _document(owner, [_set_state(1, doubling)]), 8 * STATE_HISTORY_BYTES)
    store = next(iter(doc["workflows"].values()))["store"]
    assert store["status"] == "unavailable"
    assert any("replay stopped at sequence 1" in r for r in store["reasons"])


def test_long_history_keeps_states_within_the_budget_and_still_verifies() -> None:
    big = "x" * (256 * 1024)
    steps = 40  # 40 snapshots of a 256 KiB state: more than STATE_HISTORY_BYTES
    events = [_set_state(i + 1, [{"op": "replace", "path": "/n", "value": i + 1}]) for i in range(steps)]
    owner = _owner(
        **{
            "junjo.workflow.state.start": json.dumps({"big": big, "n": 0}),
            "junjo.workflow.state.end": json.dumps({"big": big, "n": steps}),
            "junjo.store.transition.end": steps,
        }
    )
    doc = _bounded(lambda: _document(owner, events), 8 * STATE_HISTORY_BYTES)
    store = next(iter(doc["workflows"].values()))["store"]
    assert store["status"] == "verified", store["reasons"]
    shown = [t for t in store["transitions"] if t["after"] is not None]
    assert 0 < len(shown) < steps and store["transitions"][-1]["after"] is None
    assert any("left out" in r for r in store["reasons"])


def test_a_huge_window_is_judged_by_the_events_that_exist() -> None:
    owner = _owner(**{"junjo.store.transition.end": 10**15, "junjo.workflow.state.end": "{}"})
    doc = _bounded(lambda: _document(owner, [_set_state(1, [])]), 8 * MiB)
    reasons = next(iter(doc["workflows"].values()))["store"]["reasons"]
    assert any(r.startswith("missing set_state transitions [2, 3, 4") for r in reasons)


def test_an_unforeseen_failure_marks_only_its_workflow_unverifiable(monkeypatch: pytest.MonkeyPatch) -> None:
    trace = new_trace_id()
    good, bad = read_back(
        [
            span(trace, name="good", attributes=_owner("s1")),
            span(trace, name="bad", attributes=_owner("s2"), start_ns=BASE_NS + 1),
        ]
    )
    real = document.reconstruct_store

    def explode(owner: dict[str, Any], spans: list[dict[str, Any]], version: int) -> dict[str, Any]:
        if owner["name"] == "bad":
            raise RuntimeError("boom")
        return real(owner, spans, version)

    monkeypatch.setattr(document, "reconstruct_store", explode)
    doc = build_trace_document(trace, [span_to_api(good), span_to_api(bad)])
    by_name = {w["name"]: w for w in doc["workflows"].values()}
    assert by_name["bad"]["store"]["status"] == "unverifiable"
    assert by_name["bad"]["store"]["reasons"] == ["unverifiable: RuntimeError: 'boom'"]
    assert by_name["good"]["store"]["status"] != "unverifiable"
    orjson.dumps(doc)


def test_the_same_cases_through_stored_text_columns(tmp_path: Path) -> None:
    """A span whose attribute JSON nests past the cap keeps its other attributes."""
    row = span(new_trace_id(), attributes={"keep": "me"})
    row["attributes"] = '{"deep":' + nested(900) + ',"keep":"me"}'
    shaped = span_to_api(read_back([row])[0])
    assert shaped["attributes_json"]["keep"] == "me"
    orjson.dumps(shaped)
