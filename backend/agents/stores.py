"""Store replay for every Store an execution owns (Agent runtime Store, Agent application Store,
Workflow/Subflow Store): the backend rebuilds the history, it never trusts the producer's claim.

The execution owns the Store's transitions in its window (contract v3: `transition.start` <
sequence <= `transition.end`; v2: 1..count). Events are ordered by sequence, never by time. The
checks: every sequence of the window present exactly once, revisions continuous (each step +0 or
+1) from `revision.start` to `revision.end`, one payload mode throughout, and the RFC 6902 patches
replayed from the start state equal the end state exactly. Status `verified` fills per-transition
before/after; `policy_unavailable` means the payload policy withheld the states; `failed` carries
the first reason; `not_applicable` means there is no state. The producer's `reconstructable` claim
is compared with the replay.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import jsonpatch
import jsonpointer

from backend.agents.telemetry import boolean, integer, parse_json, payload

VERIFIED, POLICY_UNAVAILABLE, FAILED, NOT_APPLICABLE = (
    "verified",
    "policy_unavailable",
    "failed",
    "not_applicable",
)
MAX_TRANSITIONS = 10_000  # per Store window: bounds replay work whatever the window claims


@dataclass(frozen=True)
class StoreSlots:
    """Where one Store kind keeps its identity and states on the owner span."""

    store_id: str  # attribute holding the Store id
    state: str  # payload slot prefix: `<state>.start` / `<state>.end`
    counters: str  # prefix of revision.start/end, transition.start/end/count, reconstructable


AGENT_STORE = StoreSlots("junjo.agent.store.id", "junjo.agent.state", "junjo.store")
APPLICATION_STORE = StoreSlots(
    "junjo.agent.application_store.id", "junjo.agent.application_state", "junjo.agent.application_store"
)
WORKFLOW_STORE = StoreSlots("junjo.workflow.store.id", "junjo.workflow.state", "junjo.store")


def _issue(code: str, message: str, path: str = "") -> dict[str, str]:
    return {"code": code, "path": path, "message": message}


StoreEvents = dict[str, list[tuple[int, str, dict[str, Any]]]]


def store_events(spans: list[dict[str, Any]]) -> StoreEvents:
    """Store id -> (sequence, span id, event attributes) of its `set_state` events, in one pass."""
    found: StoreEvents = {}
    for span in spans:
        events = span.get("events_json")
        if not isinstance(events, list):
            continue
        for event in events:
            if not isinstance(event, dict) or event.get("name") != "set_state":
                continue
            attrs = event.get("attributes")
            if not isinstance(attrs, dict) or not isinstance(attrs.get("junjo.store.id"), str):
                continue
            store_id = attrs["junjo.store.id"]
            seq = integer(attrs, "junjo.store.transition.sequence")
            found.setdefault(store_id, []).append((seq if seq is not None else -1, span["span_id"], attrs))
    return found


def replay_store(
    attrs: dict[str, Any],
    slots: StoreSlots,
    version: int,
    events_by_store: StoreEvents,
    span_ids: set[str] | None = None,
) -> dict[str, Any]:
    """StoreDetail of the Store described by `slots` on an owner span; never raises on bad input.

    `events_by_store` is `store_events(trace spans)`; `span_ids`, when given, keeps only the
    events on those spans (an Agent's runtime Store: its owner and operation spans).
    """
    store_id = attrs.get(slots.store_id)
    start, end = payload(attrs, f"{slots.state}.start"), payload(attrs, f"{slots.state}.end")
    claimed = boolean(attrs, f"{slots.counters}.reconstructable")
    detail: dict[str, Any] = {
        "available": isinstance(store_id, str) and bool(store_id),
        "store_id": store_id if isinstance(store_id, str) else None,
        "revision_start": integer(attrs, f"{slots.counters}.revision.start"),
        "revision_end": integer(attrs, f"{slots.counters}.revision.end"),
        "transition_start": integer(attrs, f"{slots.counters}.transition.start"),
        "transition_end": integer(attrs, f"{slots.counters}.transition.end"),
        "transition_count": integer(attrs, f"{slots.counters}.transition.count"),
        "reconstructable_claimed": claimed,
        "reconstructable": False,
        "reconstruction_status": NOT_APPLICABLE,
        "reconstruction_reason": None,
        "diagnostics": [],
        "start": start,
        "end": end,
        "transitions": [],
    }
    if not detail["available"] or not isinstance(store_id, str):
        return detail
    issues: list[dict[str, str]] = detail["diagnostics"]
    policy_withheld = False

    lo, hi = _window(detail, version, issues)
    events = [e for e in events_by_store.get(store_id, []) if span_ids is None or e[1] in span_ids]
    if lo is not None and hi is not None:
        events = [e for e in events if lo < e[0] <= hi]
        sequences = [e[0] for e in events]
        if len(set(sequences)) != len(sequences):
            issues.append(_issue("transition_sequence_duplicate", "a transition sequence appears twice"))
        present = set(sequences)
        missing = [s for s in range(lo + 1, min(hi, lo + MAX_TRANSITIONS) + 1) if s not in present]
        if missing:
            code = (
                "transition_sequence_missing_trailing"
                if missing[0] > max(present, default=lo)
                else "transition_sequence_gap"
            )
            issues.append(_issue(code, f"missing transition sequences {missing[:10]}"))
    events.sort(key=lambda e: e[0])
    events = events[:MAX_TRANSITIONS]

    states: dict[str, Any] = {}
    for name, slot in (("start", start), ("end", end)):
        if slot is None:
            issues.append(_issue("required_payload_slot_missing", f"{slots.state}.{name} is absent"))
        elif slot["mode"] in ("excluded", "reference"):
            policy_withheld = True
        elif slot["mode"] == "missing":
            issues.append(_issue("invalid_payload_slot", f"{slots.state}.{name}: {slot['reason']}"))
        else:
            states[name] = slot["value"]

    current = copy.deepcopy(states["start"]) if "start" in states else None
    replayable = "start" in states
    revision = detail["revision_start"]
    modes: set[tuple[Any, Any]] = set()
    for sequence, span_id, ev in events:
        entry: dict[str, Any] = {
            "sequence": sequence,
            "span_id": span_id,
            "event_id": ev.get("id") if isinstance(ev.get("id"), str) else None,
            "store_name": ev.get("junjo.store.name") if isinstance(ev.get("junjo.store.name"), str) else None,
            "action": ev.get("junjo.store.action") if isinstance(ev.get("junjo.store.action"), str) else None,
            "revision_before": integer(ev, "junjo.store.revision.before"),
            "revision_after": integer(ev, "junjo.store.revision.after"),
            "patch": None,
            "before": None,
            "after": None,
        }
        detail["transitions"].append(entry)
        if entry["event_id"] is None:
            issues.append(_issue("missing_transition_event_id", f"transition {sequence} has no id"))
        if entry["action"] is None:
            issues.append(_issue("missing_transition_action", f"transition {sequence} has no action"))
        before, after = entry["revision_before"], entry["revision_after"]
        if (
            before is None
            or after is None
            or (revision is not None and before != revision)
            or after - before not in (0, 1)
        ):
            issues.append(
                _issue(
                    "revision_discontinuity",
                    f"revisions at sequence {sequence}: {revision} -> {before} -> {after}",
                )
            )
        revision = after if after is not None else revision
        mode = ev.get("junjo.state_json_patch.mode", "full")
        modes.add((mode, ev.get("junjo.state_json_patch.policy")))
        if mode in ("excluded", "reference"):
            policy_withheld, replayable = True, False
            continue
        patch, error = parse_json(ev.get("junjo.state_json_patch"))
        if error or not isinstance(patch, list):
            issues.append(
                _issue("invalid_payload_json", f"patch of sequence {sequence} is {error or 'not an array'}")
            )
            replayable = False
            continue
        entry["patch"] = patch
        if not replayable:
            continue
        entry["before"] = current
        try:
            current = jsonpatch.apply_patch(current, patch, in_place=False)
        except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException, TypeError, ValueError) as exc:
            issues.append(
                _issue("patch_replay_mismatch", f"patch of sequence {sequence} does not apply: {exc}")
            )
            replayable = False
            entry["before"] = None
            continue
        entry["after"] = current
    if len(modes) > 1:
        issues.append(_issue("payload_policy_mismatch", "transitions use more than one payload mode/policy"))
    if revision is not None and detail["revision_end"] is not None and revision != detail["revision_end"]:
        issues.append(
            _issue(
                "terminal_revision_mismatch",
                f"last revision {revision} != revision.end {detail['revision_end']}",
            )
        )
    if replayable and "end" in states and current != states["end"]:
        issues.append(
            _issue(
                "patch_replay_mismatch",
                "replaying the patches from the start state does not give the end state",
            )
        )

    if not issues and replayable and "end" in states:
        detail["reconstruction_status"], detail["reconstructable"] = VERIFIED, True
    elif not issues and policy_withheld:
        detail["reconstruction_status"] = POLICY_UNAVAILABLE
        detail["reconstruction_reason"] = "the payload policy withheld the states or patches"
    else:
        detail["reconstruction_status"] = FAILED
        detail["reconstruction_reason"] = issues[0]["message"] if issues else "state could not be replayed"
    if detail["reconstruction_status"] != VERIFIED:
        for entry in detail["transitions"]:
            entry["before"] = entry["after"] = None
    if claimed is not None and claimed != detail["reconstructable"]:
        issues.append(
            _issue(
                "reconstructable_claim_mismatch",
                f"the producer claims reconstructable={claimed}; the replay says {detail['reconstructable']}",
            )
        )
    return detail


def _window(
    detail: dict[str, Any], version: int, issues: list[dict[str, str]]
) -> tuple[int | None, int | None]:
    count = detail["transition_count"]
    if version >= 3:
        lo, hi = detail["transition_start"], detail["transition_end"]
        if lo is None or hi is None or hi < lo:
            issues.append(_issue("required_payload_slot_missing", "transition.start/end missing or reversed"))
            return None, None
        if count is not None and hi - lo != count:
            issues.append(
                _issue(
                    "transition_sequence_gap", f"window {lo}..{hi} disagrees with transition.count {count}"
                )
            )
        return lo, hi
    if count is None:
        issues.append(_issue("required_payload_slot_missing", "transition.count missing"))
        return None, None
    return 0, count
