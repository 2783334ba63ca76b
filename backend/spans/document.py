"""The trace document: every span of a trace plus, per Junjo workflow/subflow span, its execution
graph and a backend-verified store history.

Pure functions over REST-shaped spans (no I/O), so they are tested against real SDK output.
The store history is rebuilt here, not trusted from the SDK: the ordered `set_state` RFC 6902
patches are applied to `junjo.workflow.state.start` and the result is checked against
`junjo.workflow.state.end` and the revision chain (junjo-telemetry §2.8 replay rule). Contract
versions 2 and 3 are understood; spans of any other version are still returned raw, with a
diagnostic, because a user must always see what was sent.

Telemetry is attacker-controlled, so every value read here is type-checked, every loop is bounded
by the events and bytes that exist (never by a count or window a span claims), nesting is capped,
and the before/after states one history materialises are bounded by STATE_HISTORY_BYTES. Anything
unforeseen fails only its own workflow, which is then marked "unverifiable" with the reason, while
the rest of the trace still renders.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import jsonpatch
import jsonpointer
import orjson
import structlog

from backend.spans.limits import MAX_JSON_DEPTH, STATE_HISTORY_BYTES, may_nest_deeper, nests_deeper

log = structlog.get_logger(__name__)

SUPPORTED_CONTRACT_VERSIONS = (2, 3)
OWNER_TYPES = ("workflow", "subflow")
FULL_MODE = "full"

VERIFIED, FAILED, UNAVAILABLE = "verified", "failed", "unavailable"
UNVERIFIABLE = "unverifiable"  # building the history itself failed; the reason says why
_MISSING_SHOWN = 10
# What applying a malformed patch operation raises (a pointer that is not a string, a path into
# a scalar, nesting too deep to copy...): the patch does not apply.
_PATCH_ERRORS = (
    jsonpatch.JsonPatchException,
    jsonpointer.JsonPointerException,
    TypeError,
    AttributeError,
    KeyError,
    IndexError,
    ValueError,
    RecursionError,
)


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
        parsed = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        return None, f"not valid JSON ({exc})"
    if may_nest_deeper(value) and nests_deeper(parsed):
        return None, f"nested deeper than {MAX_JSON_DEPTH} levels"
    return parsed, None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def contract_version(span: dict[str, Any]) -> int | None:
    return _int(_dict(span["attributes_json"]).get("junjo.telemetry.contract_version"))


def parse_graph(attributes: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
    """The execution graph snapshot (schema v2) or the reason it cannot be shown.

    Nodes without a string `nodeRuntimeId` and edges without string endpoints are dropped, so the
    graph the UI lays out is well-formed whatever was sent.
    """
    graph, error = _parse_json_text(attributes.get("junjo.workflow.execution_graph_snapshot"))
    if error:
        return None, f"execution graph snapshot {error}"
    if (
        not isinstance(graph, dict)
        or not isinstance(graph.get("nodes"), list)
        or not isinstance(graph.get("edges"), list)
    ):
        return None, "execution graph snapshot has no nodes/edges lists"
    nodes = [n for n in graph["nodes"] if isinstance(n, dict) and isinstance(n.get("nodeRuntimeId"), str)]
    edges = [
        e
        for e in graph["edges"]
        if isinstance(e, dict)
        and isinstance(e.get("tailNodeRuntimeId"), str)
        and isinstance(e.get("headNodeRuntimeId"), str)
    ]
    dropped = len(graph["nodes"]) - len(nodes) + len(graph["edges"]) - len(edges)
    graph = {**graph, "nodes": nodes, "edges": edges}
    if dropped:
        return graph, f"execution graph snapshot: {dropped} malformed node(s)/edge(s) left out"
    if graph.get("v") != 2:
        return graph, f"execution graph snapshot version {graph.get('v')!r} is not 2; shown as sent"
    return graph, None


def _store_events(spans: list[dict[str, Any]], store_id: str) -> list[_Transition]:
    found: list[_Transition] = []
    for span in spans:
        for event in span["events_json"]:
            if not isinstance(event, dict) or event.get("name") != "set_state":
                continue
            attrs = _dict(event.get("attributes"))
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
        if end < start:
            outcome.fail(f"transition window {start}..{end} ends before it starts")
            return None
        return start, end
    if count is None:
        outcome.unavailable("junjo.store.transition.count missing")
        return None
    if count < 0:
        outcome.fail(f"junjo.store.transition.count {count} is negative")
        return None
    return 0, count


def _first_missing(present: list[int], lo: int, hi: int) -> list[int]:
    """The first few sequence numbers in (lo, hi] absent from sorted, distinct `present`.

    Walks the events that exist, so the work is bounded by them, not by the window's width.
    """
    missing: list[int] = []
    expected = lo + 1
    for seq in [*present, hi + 1]:
        while expected < seq and len(missing) < _MISSING_SHOWN:
            missing.append(expected)
            expected += 1
        if len(missing) >= _MISSING_SHOWN:
            break
        expected = seq + 1
    return missing


def _copied_bytes(state: Any, op: Any) -> int:
    """JSON size of what a `copy` operation duplicates (0 for other operations or bad pointers)."""
    if not isinstance(op, dict) or op.get("op") != "copy" or not isinstance(op.get("from"), str):
        return 0
    try:
        return len(orjson.dumps(jsonpointer.resolve_pointer(state, op["from"])))
    except (jsonpointer.JsonPointerException, orjson.JSONEncodeError, TypeError, KeyError, IndexError):
        return 0


class _ReplayTooLarge(Exception):
    pass


class _Replay:
    """The store state being replayed, and the before/after snapshots a history may still hold.

    Patches are applied in place, one operation at a time: `copy` is the only operation that can
    grow the state beyond the patch text received, so its size is added up and the replay stops
    once the state could exceed STATE_HISTORY_BYTES. Snapshots are decoded copies of the encoded
    state, taken while their total stays within the same bound.
    """

    def __init__(self, start: Any, start_bytes: int) -> None:
        self.state = orjson.loads(orjson.dumps(start))  # replayed in place; `start` stays as sent
        self.size = start_bytes
        self.snapshot: Any = start  # the first `before` is state.start itself
        self.snapshot_bytes = start_bytes
        self.snapshots_full = False

    def apply(self, patch: list[Any], patch_bytes: int) -> None:
        """Applies `patch`; raises jsonpatch/jsonpointer errors, or _ReplayTooLarge."""
        self.size += patch_bytes
        for op in patch:
            self.size += _copied_bytes(self.state, op)
            if self.size > STATE_HISTORY_BYTES:
                raise _ReplayTooLarge(f"the replay would exceed {STATE_HISTORY_BYTES // (1024 * 1024)} MiB")
            self.state = jsonpatch.JsonPatch([op]).apply(self.state, in_place=True)

    def take_snapshot(self) -> Any:
        """A copy of the current state for `after`, or None once the snapshot budget is spent."""
        if self.snapshots_full:
            return None
        encoded = orjson.dumps(self.state)
        self.size = len(encoded)  # exact again: removals and replacements may have shrunk it
        if self.snapshot_bytes + len(encoded) > STATE_HISTORY_BYTES:
            self.snapshots_full = True
            return None
        self.snapshot_bytes += len(encoded)
        return orjson.loads(encoded)


def reconstruct_store(owner: dict[str, Any], spans: list[dict[str, Any]], version: int) -> dict[str, Any]:
    """Replays the owner's store transitions and verifies them; never raises on bad input."""
    attrs = _dict(owner["attributes_json"])
    outcome = _Outcome()
    store_id = _str(attrs.get("junjo.workflow.store.id"))
    result: dict[str, Any] = {"store_id": store_id, "start": None, "end": None, "transitions": []}
    if not isinstance(store_id, str) or not store_id:
        outcome.unavailable("junjo.workflow.store.id missing")
        return {**result, "status": outcome.status, "reasons": outcome.reasons}

    states: dict[str, Any] = {}
    state_bytes: dict[str, int] = {}
    for slot in ("start", "end"):
        key = f"junjo.workflow.state.{slot}"
        mode = attrs.get(f"{key}.mode", FULL_MODE)
        if mode != FULL_MODE:
            outcome.unavailable(f"{key} payload mode is {mode!r}, not full")
            continue
        value, error = _parse_json_text(attrs.get(key))
        if error:
            outcome.unavailable(f"{key} {error}")
        elif len(attrs[key]) > STATE_HISTORY_BYTES:
            outcome.unavailable(f"{key} is larger than {STATE_HISTORY_BYTES // (1024 * 1024)} MiB")
        else:
            states[slot], state_bytes[slot] = value, len(attrs[key])
    result["start"], result["end"] = states.get("start"), states.get("end")

    window = _window(attrs, version, outcome)
    events = _store_events(spans, store_id)
    if window is not None:
        lo, hi = window
        events = [t for t in events if lo < t.sequence <= hi]
        present = sorted({t.sequence for t in events})
        if len(present) != len(events):
            outcome.fail("duplicate set_state sequence numbers")
        absent = (hi - lo) - len(present)
        if absent:
            first = _first_missing(present, lo, hi)
            more = f" ({absent} in all)" if absent > len(first) else ""
            outcome.fail(f"missing set_state transitions {first}{more}")
    events.sort(key=lambda t: t.sequence)

    replay = _Replay(states["start"], state_bytes["start"]) if "start" in states else None
    replayable = replay is not None
    revision = _int(attrs.get("junjo.store.revision.start"))
    for t in events:
        entry: dict[str, Any] = {
            "sequence": t.sequence,
            "span_id": t.span_id,
            "event_id": _str(t.attributes.get("id")),
            "store_name": _str(t.attributes.get("junjo.store.name")),
            "action": _str(t.attributes.get("junjo.store.action")),
            "revision_before": _int(t.attributes.get("junjo.store.revision.before")),
            "revision_after": _int(t.attributes.get("junjo.store.revision.after")),
            "time_unix_nano": _str(t.event.get("timeUnixNano")),
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
        patch_text = t.attributes.get("junjo.state_json_patch")
        patch, error = _parse_json_text(patch_text)
        if patch_mode != FULL_MODE:
            outcome.unavailable(f"patch of sequence {t.sequence} has mode {_short(patch_mode)}")
            replayable = False
            continue
        if error or not isinstance(patch, list):
            outcome.fail(f"patch of sequence {t.sequence} is {error or 'not a JSON array'}")
            replayable = False
            continue
        entry["patch"] = patch
        if not replayable or replay is None:
            continue
        entry["before"] = replay.snapshot
        try:
            replay.apply(patch, len(patch_text) if isinstance(patch_text, str) else 0)
        except _ReplayTooLarge as exc:
            outcome.unavailable(f"replay stopped at sequence {t.sequence}: {exc}")
            replayable = False
            continue
        except _PATCH_ERRORS as exc:
            outcome.fail(f"patch of sequence {t.sequence} does not apply: {exc}")
            replayable = False
            continue
        replay.snapshot = entry["after"] = replay.take_snapshot()

    end_rev = _int(attrs.get("junjo.store.revision.end"))
    if revision is not None and end_rev is not None and revision != end_rev:
        outcome.fail(f"last revision {revision} differs from junjo.store.revision.end {end_rev}")
    if replayable and replay is not None and "end" in states and replay.state != states["end"]:
        outcome.fail("replaying the patches from state.start does not produce state.end")
    if not replayable and outcome.status == VERIFIED:
        outcome.unavailable("state could not be replayed")
    if replay is not None and replay.snapshots_full and result["transitions"]:
        outcome.reasons.append(
            f"before/after states are left out where the history exceeds "
            f"{STATE_HISTORY_BYTES // (1024 * 1024)} MiB (the patches are all shown)"
        )
    return {**result, "status": outcome.status, "reasons": outcome.reasons}


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:80] + "…"


def _node_spans(graph: dict[str, Any] | None, spans: list[dict[str, Any]]) -> dict[str, list[str]]:
    """nodeRuntimeId → span ids of the spans that executed it (graph ↔ span matching rule)."""
    if graph is None:
        return {}
    wanted = {n["nodeRuntimeId"] for n in graph["nodes"]}
    out: dict[str, list[str]] = {}
    for span in spans:
        rid = _dict(span["attributes_json"]).get("junjo.executable_runtime_id")
        if isinstance(rid, str) and rid in wanted:
            out.setdefault(rid, []).append(span["span_id"])
    return out


def build_trace_document(trace_id: str, spans: list[dict[str, Any]]) -> dict[str, Any]:
    """The document the workflow debugger renders; `spans` are REST-shaped, any order."""
    ordered = sorted(spans, key=lambda s: (s["start_time"], s["span_id"]))
    diagnostics: list[dict[str, Any]] = []
    workflows: dict[str, Any] = {}
    agents: dict[str, Any] = {}  # Agent owner span id -> what the debugger links to
    for span in ordered:
        attrs = _dict(span["attributes_json"])
        span_type = _str(attrs.get("junjo.span_type"))
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
        if span_type == "agent":
            outcome = attrs.get("junjo.agent.outcome")
            agents[span["span_id"]] = {
                "span_id": span["span_id"],
                "name": span["name"],
                "runtime_id": _str(attrs.get("junjo.executable_runtime_id")),
                "agent_key": _str(attrs.get("junjo.agent.key")),
                "outcome": outcome if outcome in ("completed", "failed", "cancelled") else None,
                "parent_span_id": span["parent_span_id"],
            }
            continue
        if span_type not in OWNER_TYPES:
            continue
        try:
            workflow = _workflow(span, span_type, version, ordered, diagnostics)
            orjson.dumps(workflow)  # it must encode (orjson refuses nesting deeper than 254)
        except Exception as exc:  # anything unforeseen fails this workflow only
            log.warning("workflow_unverifiable", span_id=span["span_id"], error=type(exc).__name__)
            workflow = _unverifiable(span, span_type, version, f"{type(exc).__name__}: {_short(str(exc))}")
        workflows[span["span_id"]] = workflow
    return {
        "trace_id": trace_id,
        "spans": ordered,
        "workflows": workflows,
        "agents": agents,
        "diagnostics": diagnostics,
    }


def _workflow(
    span: dict[str, Any],
    span_type: str,
    version: int,
    ordered: list[dict[str, Any]],
    diagnostics: list[dict[str, Any]],
) -> dict[str, Any]:
    attrs = _dict(span["attributes_json"])
    graph, graph_error = parse_graph(attrs)
    if graph_error:
        diagnostics.append({"code": "graph_snapshot", "span_id": span["span_id"], "message": graph_error})
    return {
        **_identity(span, span_type, version),
        "graph": graph,
        "graph_error": graph_error,
        "node_spans": _node_spans(graph, ordered),
        "store": reconstruct_store(span, ordered, version),
    }


def _identity(span: dict[str, Any], span_type: str, version: int) -> dict[str, Any]:
    return {
        "span_id": span["span_id"],
        "name": span["name"],
        "executable_type": span_type,
        "contract_version": version,
        "runtime_id": _str(_dict(span["attributes_json"]).get("junjo.executable_runtime_id")),
        "status_code": span["status_code"],
    }


def _unverifiable(span: dict[str, Any], span_type: str, version: int, reason: str) -> dict[str, Any]:
    store_id = _str(_dict(span["attributes_json"]).get("junjo.workflow.store.id"))
    return {
        **_identity(span, span_type, version),
        "graph": None,
        "graph_error": f"unverifiable: {reason}",
        "node_spans": {},
        "store": {
            "store_id": store_id,
            "start": None,
            "end": None,
            "transitions": [],
            "status": UNVERIFIABLE,
            "reasons": [f"unverifiable: {reason}"],
        },
    }
