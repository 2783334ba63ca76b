"""Wire shapes of the evaluation API: the closed, strict models the Junjo Studio client (0.69)
validates. Responses carry every field, nulls included, and nothing else; requests refuse
unknown fields and apply the client's own bounds, so what passes the client passes here and
hostile input gets a 422.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, JsonValue, Strict, model_validator

from backend.accounts.schemas import UtcSeconds
from backend.evaluations.text import (
    DescriptionText,
    IdentityText,
    KeyText,
    NamespaceText,
    NameText,
    ReasonText,
    RecordId,
    SourceRevision,
    SpanId,
    TraceId,
    Version,
)

MAX_CASES_PER_DATASET = 100
MAX_PAGE_SIZE = 100
MAX_JSON_BYTES = 16_384
MAX_DURATION_MS = 86_400_000


def canonical_json(value: JsonValue) -> str:
    """Compact, key-sorted JSON: the stored form, compared byte for byte on replays."""
    return json.dumps(value, allow_nan=False, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _bounded_json(value: JsonValue) -> JsonValue:
    try:
        size = len(canonical_json(value).encode("utf-8"))
    except (ValueError, UnicodeEncodeError):
        raise ValueError("must be interoperable JSON (no NaN/Infinity, valid Unicode)") from None
    if size > MAX_JSON_BYTES:
        raise ValueError(f"serialized JSON must be at most {MAX_JSON_BYTES} UTF-8 bytes")
    return value


BoundedJson = Annotated[JsonValue, AfterValidator(_bounded_json)]


class Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DatasetStatus(StrEnum):
    DRAFT = "draft"
    LOCKED = "locked"


class CaseOrigin(StrEnum):
    AUTHORED = "authored"
    GENERATED = "generated"


class TargetKind(StrEnum):
    NODE = "node"
    WORKFLOW = "workflow"
    AGENT = "agent"


class ExecutableType(StrEnum):
    WORKFLOW = "workflow"
    SUBFLOW = "subflow"
    AGENT = "agent"


class RunStatus(StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"


class AttemptStatus(StrEnum):
    QUEUED = "queued"
    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"


class SemanticExecutionReference(Closed):
    kind: Literal["junjo_execution"] = "junjo_execution"
    service_namespace: NamespaceText
    service_name: IdentityText
    executable_type: ExecutableType
    runtime_id: IdentityText


class OpenTelemetrySpanReference(Closed):
    kind: Literal["otel_span"] = "otel_span"
    service_namespace: NamespaceText
    service_name: IdentityText
    trace_id: TraceId
    span_id: SpanId


EvidenceReference = Annotated[
    SemanticExecutionReference | OpenTelemetrySpanReference, Field(discriminator="kind")
]


def reference_key(reference: SemanticExecutionReference | OpenTelemetrySpanReference) -> str:
    """The stored form of a reference (canonical JSON with `kind`): equal references, equal keys."""
    return canonical_json(reference.model_dump(mode="json"))


# ---- requests ----


class DatasetCreate(Closed):
    application_key: KeyText
    key: KeyText
    name: NameText
    description: DescriptionText | None = None


class CaseCreate(Closed):
    case_key: KeyText
    evaluation_name: NameText
    origin: CaseOrigin
    target_kind: TargetKind
    target_key: KeyText
    target_name: NameText
    input_version: Version
    input_json: BoundedJson
    expectation_json: BoundedJson | None = None
    evaluator_key: KeyText
    evaluator_version: Version
    source_evidence: EvidenceReference | None = None
    source_revision: SourceRevision | None = None

    @model_validator(mode="after")
    def _provenance(self) -> CaseCreate:
        has_source = (self.source_evidence is not None, self.source_revision is not None)
        if self.origin is CaseOrigin.AUTHORED and any(has_source):
            raise ValueError("authored cases cannot include source provenance")
        if self.origin is CaseOrigin.GENERATED and not all(has_source):
            raise ValueError("generated cases require both source_evidence and source_revision")
        return self


class RunStart(Closed):
    dataset_id: RecordId
    request_key: KeyText
    run_label: NameText
    source_revision: SourceRevision


class AttemptEvidenceBind(Closed):
    evidence: EvidenceReference


class AttemptResultWrite(Closed):
    status: Literal[AttemptStatus.PASSED, AttemptStatus.FAILED, AttemptStatus.ERROR]
    reason: ReasonText
    duration_ms: Annotated[int, Strict(), Field(ge=0, le=MAX_DURATION_MS)] | None = None


# ---- responses ----


class DatasetSummary(Closed):
    id: str
    application_key: str
    key: str
    name: str
    status: DatasetStatus


class DatasetRead(DatasetSummary):
    description: str | None
    created_by_user_id: str | None
    created_at: UtcSeconds
    locked_at: UtcSeconds | None


class CaseRead(Closed):
    id: str
    dataset_id: str
    case_key: str
    evaluation_name: str
    ordinal: int
    origin: CaseOrigin
    target_kind: TargetKind
    target_key: str
    target_name: str
    input_version: int
    input_json: JsonValue
    expectation_json: JsonValue | None
    evaluator_key: str
    evaluator_version: int
    source_evidence: EvidenceReference | None
    source_revision: str | None
    created_at: UtcSeconds


class DatasetDetail(Closed):
    dataset: DatasetRead
    cases: list[CaseRead]


class DatasetList(Closed):
    items: list[DatasetRead]
    next_cursor: str | None


class RunRead(Closed):
    id: str
    dataset_id: str
    request_key: str
    run_label: str
    source_revision: str
    status: RunStatus
    created_by_user_id: str | None
    created_at: UtcSeconds
    completed_at: UtcSeconds | None


class AttemptRead(Closed):
    id: str
    run_id: str
    case_id: str
    status: AttemptStatus
    reason: str | None
    duration_ms: int | None
    subject_evidence: EvidenceReference | None
    evidence_bound_at: UtcSeconds | None
    recorded_at: UtcSeconds | None


class RunCaseRead(Closed):
    case: CaseRead
    attempt: AttemptRead


class RunDetail(Closed):
    run: RunRead
    dataset: DatasetRead
    cases: list[RunCaseRead]


class AttemptDetail(Closed):
    run: RunRead
    dataset: DatasetRead
    case: CaseRead
    attempt: AttemptRead


class RunScope(Closed):
    dataset_id: str | None = None
    target_kind: TargetKind | None = None
    target_key: str | None = None
    input_version: int | None = None
    evaluation_name: str | None = None


class OutcomeSummary(Closed):
    total: int
    queued: int
    judged: int
    passed: int
    failed: int
    error: int
    pass_rate: float | None
    coverage: float | None


class TargetFacet(Closed):
    target_kind: TargetKind
    target_key: str
    target_name: str
    input_version: int
    case_count: int


class EvaluationNameFacet(Closed):
    evaluation_name: str
    case_count: int


class RunSummary(Closed):
    run: RunRead
    dataset: DatasetSummary
    outcome_summary: OutcomeSummary
    target_facets: list[TargetFacet]
    evaluation_facets: list[EvaluationNameFacet]


class RunList(Closed):
    scope: RunScope
    items: list[RunSummary]
    next_cursor: str | None


class EvidenceMembershipItem(Closed):
    role: Literal["case_source", "attempt_subject"]
    dataset_id: str
    case_id: str
    run_id: str | None
    attempt_id: str | None


class EvidenceMembershipList(Closed):
    items: list[EvidenceMembershipItem]
    next_cursor: str | None


class ConflictBody(Closed):
    code: str
    message: str
