"""An attempt's evidence: the trace its bound execution produced, as a compact manifest or as the
complete evidence of selected spans (`/api/v1/trace-evidence/attempts/{id}/manifest|spans`).

The subject comes from the attempt's binding: a Junjo execution is resolved to its owner span
like `/api/v1/execution-resolution` does (hot and cold data); a span reference names it directly.
Either way the answer is 404 — "pending" to the Studio client — until ingestion has delivered
that span (and for an unknown attempt, an unbound one, or a span whose service differs from the
binding), and 409 `ambiguous_execution_identity` with `match_count` when the identity is not
unique. Both views are projections of the trace evidence document (backend.agents.evidence).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

import orjson
from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, ConfigDict, Field

from backend.agents import service as agents
from backend.agents.evidence import STATUS_ERROR, build_trace_evidence
from backend.agents.routes import execution_paths
from backend.deps import DatabaseDep
from backend.evaluations import service
from backend.evaluations.errors import ApiError, NotFound
from backend.evaluations.schemas import EvidenceReference
from backend.evaluations.text import MAX_RECORD_ID_BYTES, SpanId
from backend.evaluations.tokens import EvidenceReader
from backend.spans.routes import ServiceDep
from backend.spans.service import SpanService

MAX_SELECTED_SPANS = 1000
PENDING = "Evidence not received yet (or the attempt is unknown or unbound)"
SPAN_KINDS = {"agent", "workflow", "subflow", "node", "run_concurrent"}
OPERATION_KINDS = {"model_request": "model", "tool": "tool"}

router = APIRouter(prefix="/api/v1/trace-evidence/attempts", tags=["evaluation"], max_body_size=256 * 1024)
AttemptId = Annotated[str, Path(min_length=1, max_length=MAX_RECORD_ID_BYTES)]


class SpanSelection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    span_ids: Annotated[list[SpanId], Field(min_length=1, max_length=MAX_SELECTED_SPANS)]


@dataclass
class Subject:
    body: dict[str, Any]  # the wire `subject`
    evidence: dict[str, Any]  # the trace evidence document
    service_name: str


def _attrs(span: dict[str, Any]) -> dict[str, Any]:
    value = span.get("attributes_json")
    return value if isinstance(value, dict) else {}


def _resource_service(span: dict[str, Any]) -> tuple[str, str]:
    resource = span.get("resource_attributes_json")
    resource = resource if isinstance(resource, dict) else {}
    namespace = resource.get("service.namespace")
    return (namespace if isinstance(namespace, str) else "", span.get("service_name") or "")


async def _resolve(spans: SpanService, reference: EvidenceReference) -> tuple[str, str]:
    if reference.kind == "otel_span":
        return reference.trace_id, reference.span_id
    answer, _ = await spans.run_plan(
        lambda tiers: agents.resolve(
            spans.index,
            tiers,
            reference.service_namespace,
            reference.service_name,
            reference.executable_type.value,
            reference.runtime_id,
        )
    )
    matches: list[tuple[str, str]] = answer.data
    if not matches:
        raise NotFound(PENDING)
    if len(matches) > 1:
        raise ApiError(
            409,
            {
                "code": "ambiguous_execution_identity",
                "message": f"{len(matches)} executions share this service, type and runtime id",
                "match_count": len(matches),
            },
        )
    return matches[0]


async def load_subject(db: DatabaseDep, spans: SpanService, attempt_id: str) -> Subject:
    reference = service.get_attempt(db, attempt_id).attempt.subject_evidence
    if reference is None:
        raise NotFound(PENDING)
    trace_id, span_id = await _resolve(spans, reference)
    answer, _ = await spans.trace_spans(trace_id)
    trace_spans: list[dict[str, Any]] = answer.data or []
    owner = next((s for s in trace_spans if s.get("span_id") == span_id), None)
    if owner is None or _resource_service(owner) != (reference.service_namespace, reference.service_name):
        raise NotFound(PENDING)
    if reference.kind == "junjo_execution":
        detail, trace, failure = execution_paths(
            reference.executable_type.value, trace_id, span_id, reference.service_name
        )
    else:
        detail = trace = failure = _span_path(reference.service_name, trace_id, span_id)
    document = await asyncio.to_thread(build_trace_evidence, trace_id, trace_spans)
    body = {
        "attempt_id": attempt_id,
        "reference": reference.model_dump(mode="json"),
        "trace_id": trace_id,
        "span_id": span_id,
        "detail_path": detail,
        "failure_path": failure,
        "trace_path": trace,
    }
    return Subject(body=body, evidence=document, service_name=reference.service_name)


def _span_path(service_name: str, trace_id: str, span_id: str) -> str:
    return f"/traces/{quote(service_name, safe='')}/{trace_id}/{span_id}"


def _semantic_kind(span: dict[str, Any]) -> str:
    attrs = _attrs(span)
    kind = attrs.get("junjo.span_type")
    if kind in SPAN_KINDS:
        return str(kind)
    return OPERATION_KINDS.get(attrs.get("junjo.agent.operation_type"), "span")  # type: ignore[arg-type]


def _failed(span: dict[str, Any]) -> bool:
    return span.get("status_code") == STATUS_ERROR


def _exception(span: dict[str, Any]) -> dict[str, Any]:
    events = span.get("events_json")
    found: dict[str, Any] = {}
    for event in events if isinstance(events, list) else []:
        if (
            isinstance(event, dict)
            and event.get("name") == "exception"
            and isinstance(event.get("attributes"), dict)
        ):
            found = event["attributes"]
    text = lambda key: found[key] if isinstance(found.get(key), str) else None  # noqa: E731
    return {
        "exception_type": text("exception.type"),
        "exception_message": text("exception.message") or span.get("status_message") or None,
        "stacktrace_available": text("exception.stacktrace") is not None,
    }


def _owner(
    span: dict[str, Any], by_id: dict[str, dict[str, Any]], owners: dict[str, Any]
) -> dict[str, Any] | None:
    """The executable owning `span`: itself or its nearest owner ancestor (cycle-safe)."""
    seen: set[str] = set()
    current: dict[str, Any] | None = span
    while current is not None and current["span_id"] not in seen:
        if current["span_id"] in owners:
            return owners[current["span_id"]]
        seen.add(current["span_id"])
        current = by_id.get(current.get("parent_span_id") or "")
    return None


def _span_summary(span: dict[str, Any]) -> dict[str, Any]:
    return {
        "span_id": span["span_id"],
        "parent_span_id": span.get("parent_span_id") or None,
        "name": span.get("name") or "",
        "semantic_kind": _semantic_kind(span),
        "status_code": str(span.get("status_code") or ""),
        "start_time": str(span.get("start_time") or ""),
        "end_time": str(span.get("end_time") or ""),
    }


def _outcome(executable: dict[str, Any]) -> str:
    if executable.get("cancellation"):
        return "cancelled"
    return "failed" if executable.get("error") else "completed"


def _operations(evidence: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(owner runtime id, operation) of every model request and Tool call."""
    return [
        (runtime_id, operation)
        for runtime_id, by_span in evidence["operations_by_owner_runtime_id"].items()
        for operation in by_span.values()
    ]


def _iso_ns(value: Any) -> int | None:
    """ns since the epoch of the span API's `...T12:00:00.123456789+00:00` timestamps."""
    if not isinstance(value, str) or "." not in value:
        return None
    try:
        whole, rest = value.split(".", 1)
        digits = rest[: len(rest) - len(rest.lstrip("0123456789"))]
        seconds = datetime.fromisoformat(whole + rest[len(digits) :]).timestamp()
    except ValueError:
        return None
    return int(seconds) * 1_000_000_000 + int(digits.ljust(9, "0")[:9])


def _nanos(operation: dict[str, Any]) -> int | None:
    start, end = _iso_ns(operation.get("start_time")), _iso_ns(operation.get("end_time"))
    return end - start if start is not None and end is not None and end >= start else None


def _store_summary(entry: dict[str, Any]) -> dict[str, Any]:
    detail = entry.get("detail") or {}
    count = detail.get("transition_count")
    return {
        "store_id": entry.get("store_id"),
        "owner_span_id": entry["owner_span_id"],
        "owner_runtime_id": entry.get("owner_runtime_id"),
        "owner_executable_type": entry["owner_executable_type"],
        "role": entry["role"],
        "sequence_start": detail.get("transition_start"),
        "sequence_end": detail.get("transition_end"),
        "available": bool(detail.get("available")),
        "transition_count": count
        if isinstance(count, int) and count >= 0
        else len(detail.get("transitions") or []),
        "reconstructable": bool(detail.get("reconstructable")),
        "reconstruction_status": detail.get("reconstruction_status") or "not_applicable",
        "integrity": entry.get("integrity") or {},
    }


def _relationships(value: dict[str, Any]) -> dict[str, Any]:
    return {"parent": value.get("parent"), "nested": list(value.get("nested") or [])}


def manifest(subject: Subject) -> dict[str, Any]:
    evidence = subject.evidence
    spans: list[dict[str, Any]] = evidence["spans"]
    by_id = {s["span_id"]: s for s in spans}
    owners: dict[str, Any] = evidence["executables_by_span_id"]
    path = lambda span_id: _span_path(subject.service_name, evidence["trace_id"], span_id)  # noqa: E731
    summaries, failures = [], []
    for span in spans:
        summary = _span_summary(span)
        summaries.append({**summary, "failed": _failed(span), "span_path": path(span["span_id"])})
        if _failed(span):
            owner = _owner(span, by_id, owners)
            failures.append(
                {
                    **summary,
                    **_exception(span),
                    "owner_span_id": owner["owner_span_id"] if owner else None,
                    "owner_runtime_id": owner.get("runtime_id") if owner else None,
                    "span_path": path(span["span_id"]),
                }
            )
    executables = [
        {
            "owner_span_id": span_id,
            "executable_type": executable["executable_type"],
            "name": executable.get("name") or "",
            "runtime_id": executable.get("runtime_id"),
            "store_ids": {
                "application": executable.get("application_store_id"),
                "runtime": executable.get("store_id"),
            },
            "outcome": _outcome(executable),
            "status_code": str(by_id[span_id].get("status_code") or ""),
            "failed": _failed(by_id[span_id]),
            "integrity": executable.get("integrity") or {},
        }
        for span_id, executable in owners.items()
    ]
    runtime_owner = {e.get("runtime_id"): span_id for span_id, e in owners.items() if e.get("runtime_id")}
    operations = [
        {
            "owner_span_id": runtime_owner.get(runtime_id),
            "owner_runtime_id": runtime_id,
            "span_id": operation["span_id"],
            "operation_type": operation["operation_type"],
            "name": operation.get("name") or "",
            "outcome": operation["outcome"],
            "duration_ns": _nanos(operation),
            "error_type": (operation.get("error") or {}).get("type"),
            "error_message": (operation.get("error") or {}).get("message"),
        }
        for runtime_id, operation in _operations(evidence)
    ]
    roots = [s["span_id"] for s in spans if (s.get("parent_span_id") or "") not in by_id]
    return {
        "subject": subject.body,
        "trace": {"trace_id": evidence["trace_id"], "span_count": len(spans), "root_span_ids": roots},
        "spans": summaries,
        "failures": failures,
        "executables": executables,
        "operations": operations,
        "stores": [_store_summary(entry) for entry in evidence["stores_by_id"].values()],
        "relationships_by_owner_span_id": {
            span_id: _relationships(value)
            for span_id, value in evidence["relationships_by_owner_span_id"].items()
        },
        "diagnostics": evidence["diagnostics"],
    }


def selected_spans(subject: Subject, span_ids: list[str]) -> dict[str, Any]:
    evidence = subject.evidence
    by_id = {s["span_id"]: s for s in evidence["spans"]}
    operations = {operation["span_id"]: operation for _, operation in _operations(evidence)}
    stores_by_owner: dict[str, list[dict[str, Any]]] = {}
    for entry in evidence["stores_by_id"].values():
        stores_by_owner.setdefault(entry["owner_span_id"], []).append(entry)
    diagnostics_by_owner: dict[str | None, list[dict[str, Any]]] = {}
    for diagnostic in evidence["diagnostics"]:
        diagnostics_by_owner.setdefault(diagnostic.get("owner_span_id"), []).append(diagnostic)
    relationships = evidence["relationships_by_owner_span_id"]
    items = [
        {
            "span": by_id[span_id],
            "executable": evidence["executables_by_span_id"].get(span_id),
            "operation": operations.get(span_id),
            "stores": stores_by_owner.get(span_id, []),
            "relationships": _relationships(relationships[span_id]) if span_id in relationships else None,
            "diagnostics": diagnostics_by_owner.get(span_id, []),
        }
        for span_id in span_ids
        if span_id in by_id
    ]
    return {
        "subject": subject.body,
        "items": items,
        "missing_span_ids": [span_id for span_id in span_ids if span_id not in by_id],
    }


def _json(body: dict[str, Any]) -> Response:
    return Response(orjson.dumps(body), media_type="application/json")


@router.get("/{attempt_id}/manifest", responses={404: {}, 409: {}})
async def attempt_manifest(
    attempt_id: AttemptId, _: EvidenceReader, db: DatabaseDep, spans: ServiceDep
) -> Response:
    subject = await load_subject(db, spans, attempt_id)
    return _json(await asyncio.to_thread(manifest, subject))


@router.post("/{attempt_id}/spans", responses={404: {}, 409: {}})
async def attempt_spans(
    attempt_id: AttemptId, body: SpanSelection, _: EvidenceReader, db: DatabaseDep, spans: ServiceDep
) -> Response:
    if len(set(body.span_ids)) != len(body.span_ids):
        raise ApiError(
            422,
            {
                "detail": [
                    {"type": "value_error", "loc": ["body", "span_ids"], "msg": "span_ids must be unique"}
                ]
            },
        )
    subject = await load_subject(db, spans, attempt_id)
    return _json(await asyncio.to_thread(selected_spans, subject, body.span_ids))
