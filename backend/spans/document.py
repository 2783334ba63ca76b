"""The trace document: every span of a trace plus, per Junjo workflow/subflow span, its execution
graph and a backend-verified store history.

Pure functions over REST-shaped spans (no I/O), so they are tested against real SDK output.
The store history is rebuilt here, not trusted from the SDK: the ordered `set_state` RFC 6902
patches are applied to `junjo.workflow.state.start` and the result is checked against
`junjo.workflow.state.end` and the revision chain (junjo-telemetry §2.8 replay rule). Contract
versions 2 and 3 are understood; spans of any other version are still returned raw, with a
diagnostic, because a user must always see what was sent.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import jsonpatch
import jsonpointer
import orjson

SUPPORTED_CONTRACT_VERSIONS = (2, 3)
OWNER_TYPES = ("workflow", "subflow")
FULL_MODE = "full"

VERIFIED, FAILED, UNAVAILABLE = "verified", "failed", "unavailable"


@dataclass
class _Transition:
    sequence: int
    span_id: str
    event: dict[str, Any]
    attributes: dict[str, Any]


@dataclass
class _Outcome:
    status: str = VERIFIED
    reasons: list[str] = field(default_factory=list)

    def fail(self, reason: str) -> None:
        self.status = FAILED
        self.reasons.append(reason)

    def unavailable(self, reason: str) -> None:
        if self.status != FAILED:
            self.status = UNAVAILABLE
        self.reasons.append(reason)


def _parse_json_text(value: Any) -> tuple[Any, str | None]:
    if not isinstance(value, str):
        return None, "missing"
    try:
        return orjson.loads(value), None
    except orjson.JSONDecodeError as exc:
        return None, f"not valid JSON ({exc})"


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def contract_version(span: dict[str, Any]) -> int | None:
    return _int(span["attributes_json"].get("junjo.telemetry.contract_version"))


def parse_graph(attributes: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
    """The execution graph snapshot (schema v2) or the reason it cannot be shown."""
    graph, error = _parse_json_text(attributes.get("junjo.workflow.execution_graph_snapshot"))
    if error:
        return None, f"execution graph snapshot {error}"
    if (
        not isinstance(graph, dict)
        or not isinstance(graph.get("nodes"), list)
        or not isinstance(graph.get("edges"), list)
    ):
        return None, "execution graph snapshot has no nodes/edges lists"
    if graph.get("v") != 2:
        return graph, f"execution graph snapshot version {graph.get('v')!r} is not 2; shown as sent"
    return graph, None


def _store_events(spans: list[dict[str, Any]], store_id: str) -> list[_Transition]:
    found: list[_Transition] = []
    for span in spans:
        for event in span["events_json"]:
            if not isinstance(event, dict) or event.get("name") != "set_state":
                continue
            attrs = event.get("attributes") or {}
            if attrs.get("junjo.store.id") != store_id:
                continue
            seq = _int(attrs.get("junjo.store.transition.sequence"))
            found.append(_Transition(seq if seq is not None else -1, span["span_id"], event, attrs))
    return found


def _window(attrs: dict[str, Any], version: int, outcome: _Outcome) -> tuple[int, int] | None:
    count = _int(attrs.get("junjo.store.transition.count"))
    if version >= 3:
        start = _int(attrs.get("junjo.store.transition.start"))
        end = _int(attrs.get("junjo.store.transition.end"))
        if start is None or end is None:
            outcome.unavailable("junjo.store.transition.start/end missing")
            return None
        if count is not None and end - start != count:
            outcome.fail(f"transition window {start}..{end} disagrees with transition.count {count}")
        return start, end
    if count is None:
        outcome.unavailable("junjo.store.transition.count missing")
        return None
    return 0, count


def reconstruct_store(owner: dict[str, Any], spans: list[dict[str, Any]], version: int) -> dict[str, Any]:
    """Replays the owner's store transitions and verifies them; never raises on bad input."""
    attrs = owner["attributes_json"]
    outcome = _Outcome()
    store_id = attrs.get("junjo.workflow.store.id")
    result: dict[str, Any] = {"store_id": store_id, "start": None, "end": None, "transitions": []}
    if not isinstance(store_id, str) or not store_id:
        outcome.unavailable("junjo.workflow.store.id missing")
        return {**result, "status": outcome.status, "reasons": outcome.reasons}

    states: dict[str, Any] = {}
    for slot in ("start", "end"):
        key = f"junjo.workflow.state.{slot}"
        mode = attrs.get(f"{key}.mode", FULL_MODE)
        if mode != FULL_MODE:
            outcome.unavailable(f"{key} payload mode is {mode!r}, not full")
            continue
        value, error = _parse_json_text(attrs.get(key))
        if error:
            outcome.unavailable(f"{key} {error}")
        else:
            states[slot] = value
    result["start"], result["end"] = states.get("start"), states.get("end")

    window = _window(attrs, version, outcome)
    events = _store_events(spans, store_id)
    if window is not None:
        lo, hi = window
        events = [t for t in events if lo < t.sequence <= hi]
        sequences = [t.sequence for t in events]
        if len(set(sequences)) != len(sequences):
            outcome.fail("duplicate set_state sequence numbers")
        missing = sorted(set(range(lo + 1, hi + 1)) - set(sequences))
        if missing:
            outcome.fail(f"missing set_state transitions {missing[:10]}")
    events.sort(key=lambda t: t.sequence)

    current = copy.deepcopy(states["start"]) if "start" in states else None
    replayable = current is not None
    revision = _int(attrs.get("junjo.store.revision.start"))
    for t in events:
        entry: dict[str, Any] = {
            "sequence": t.sequence,
            "span_id": t.span_id,
            "event_id": t.attributes.get("id"),
            "store_name": t.attributes.get("junjo.store.name"),
            "action": t.attributes.get("junjo.store.action"),
            "revision_before": t.attributes.get("junjo.store.revision.before"),
            "revision_after": t.attributes.get("junjo.store.revision.after"),
            "time_unix_nano": t.event.get("timeUnixNano"),
            "patch": None,
            "before": None,
            "after": None,
        }
        result["transitions"].append(entry)
        before_rev, after_rev = _int(entry["revision_before"]), _int(entry["revision_after"])
        if revision is not None and before_rev is not None and before_rev != revision:
            outcome.fail(f"revision discontinuity at sequence {t.sequence}: {revision} → {before_rev}")
        if before_rev is not None and after_rev is not None and after_rev - before_rev not in (0, 1):
            outcome.fail(f"revision step {before_rev} → {after_rev} at sequence {t.sequence}")
        revision = after_rev if after_rev is not None else revision

        patch_mode = t.attributes.get("junjo.state_json_patch.mode", FULL_MODE)
        patch, error = _parse_json_text(t.attributes.get("junjo.state_json_patch"))
        if patch_mode != FULL_MODE:
            outcome.unavailable(f"patch of sequence {t.sequence} has mode {patch_mode!r}")
            replayable = False
            continue
        if error or not isinstance(patch, list):
            outcome.fail(f"patch of sequence {t.sequence} is {error or 'not a JSON array'}")
            replayable = False
            continue
        entry["patch"] = patch
        if not replayable:
            continue
        entry["before"] = current
        try:
            current = jsonpatch.apply_patch(current, patch, in_place=False)
        except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException, TypeError) as exc:
            outcome.fail(f"patch of sequence {t.sequence} does not apply: {exc}")
            replayable = False
            continue
        entry["after"] = current

    end_rev = _int(attrs.get("junjo.store.revision.end"))
    if revision is not None and end_rev is not None and revision != end_rev:
        outcome.fail(f"last revision {revision} differs from junjo.store.revision.end {end_rev}")
    if replayable and "end" in states and current != states["end"]:
        outcome.fail("replaying the patches from state.start does not produce state.end")
    if not replayable and outcome.status == VERIFIED:
        outcome.unavailable("state could not be replayed")
    return {**result, "status": outcome.status, "reasons": outcome.reasons}


def _node_spans(graph: dict[str, Any] | None, spans: list[dict[str, Any]]) -> dict[str, list[str]]:
    """nodeRuntimeId → span ids of the spans that executed it (graph ↔ span matching rule)."""
    if graph is None:
        return {}
    wanted = {n.get("nodeRuntimeId") for n in graph["nodes"] if isinstance(n, dict)}
    out: dict[str, list[str]] = {}
    for span in spans:
        rid = span["attributes_json"].get("junjo.executable_runtime_id")
        if rid in wanted:
            out.setdefault(rid, []).append(span["span_id"])
    return out


def build_trace_document(trace_id: str, spans: list[dict[str, Any]]) -> dict[str, Any]:
    """The document the workflow debugger renders; `spans` are REST-shaped, any order."""
    ordered = sorted(spans, key=lambda s: (s["start_time"], s["span_id"]))
    diagnostics: list[dict[str, Any]] = []
    workflows: dict[str, Any] = {}
    for span in ordered:
        attrs = span["attributes_json"]
        span_type = attrs.get("junjo.span_type")
        if span_type is None:
            continue
        version = contract_version(span)
        if version not in SUPPORTED_CONTRACT_VERSIONS:
            diagnostics.append(
                {
                    "code": "unsupported_contract",
                    "span_id": span["span_id"],
                    "message": f"junjo.telemetry.contract_version {version!r} is not one of "
                    f"{list(SUPPORTED_CONTRACT_VERSIONS)}; the span is shown raw",
                }
            )
            continue
        if span_type not in OWNER_TYPES:
            continue
        graph, graph_error = parse_graph(attrs)
        if graph_error:
            diagnostics.append({"code": "graph_snapshot", "span_id": span["span_id"], "message": graph_error})
        workflows[span["span_id"]] = {
            "span_id": span["span_id"],
            "name": span["name"],
            "executable_type": span_type,
            "contract_version": version,
            "runtime_id": attrs.get("junjo.executable_runtime_id"),
            "status_code": span["status_code"],
            "graph": graph,
            "graph_error": graph_error,
            "node_spans": _node_spans(graph, ordered),
            "store": reconstruct_store(span, ordered, version),
        }
    return {"trace_id": trace_id, "spans": ordered, "workflows": workflows, "diagnostics": diagnostics}
