"""`/api/v1/evaluation/...`: the evaluation control API the Junjo Studio client and `junjo eval`
speak (datasets, cases, runs, attempts, evidence bindings, results, evidence membership).

Reads need the `evaluation:read` scope, writes `evaluation:write` (a session works too, see
backend.evaluations.tokens). No path ends in a slash (the client follows no redirects). Bodies
are small by contract (JSON payloads are capped at 16 KiB each), so the router accepts 256 KiB.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field, model_validator

from backend.deps import DatabaseDep
from backend.evaluations import service
from backend.evaluations.schemas import (
    MAX_PAGE_SIZE,
    AttemptDetail,
    AttemptEvidenceBind,
    AttemptRead,
    AttemptResultWrite,
    CaseCreate,
    CaseRead,
    ConflictBody,
    DatasetCreate,
    DatasetDetail,
    DatasetList,
    DatasetRead,
    EvidenceMembershipList,
    EvidenceReference,
    ExecutableType,
    OpenTelemetrySpanReference,
    RunDetail,
    RunList,
    RunScope,
    RunStart,
    SemanticExecutionReference,
    TargetKind,
)
from backend.evaluations.text import (
    MAX_RECORD_ID_BYTES,
    IdentityText,
    KeyText,
    NamespaceText,
    NameText,
    QueryVersion,
    RecordId,
    SpanId,
    TraceId,
)
from backend.evaluations.tokens import EvaluationReader, EvaluationWriter

MAX_BODY_BYTES = 256 * 1024
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": ConflictBody, "description": "Contradicts stored content or state"}
}

router = APIRouter(prefix="/api/v1/evaluation", tags=["evaluation"], max_body_size=MAX_BODY_BYTES)

PathId = Annotated[str, Path(min_length=1, max_length=MAX_RECORD_ID_BYTES)]
Cursor = Annotated[str, Field(min_length=1, max_length=1024)]
Limit = Annotated[int, Field(ge=1, le=MAX_PAGE_SIZE)]


class Page(BaseModel):
    cursor: Cursor | None = None
    limit: Limit = 50


class DatasetQuery(Page):
    application_key: KeyText | None = None


class RunQuery(Page):
    dataset_id: RecordId | None = None
    target_kind: TargetKind | None = None
    target_key: KeyText | None = None
    input_version: QueryVersion | None = None
    evaluation_name: NameText | None = None


class MembershipQuery(Page):
    model_config = ConfigDict(extra="ignore")

    kind: Literal["junjo_execution", "otel_span"]
    service_namespace: NamespaceText
    service_name: IdentityText
    executable_type: ExecutableType | None = None
    runtime_id: IdentityText | None = None
    trace_id: TraceId | None = None
    span_id: SpanId | None = None

    @model_validator(mode="after")
    def _identity_matches_kind(self) -> MembershipQuery:
        semantic = (self.executable_type, self.runtime_id)
        span = (self.trace_id, self.span_id)
        if self.kind == "junjo_execution" and (None in semantic or span != (None, None)):
            raise ValueError("junjo_execution takes executable_type and runtime_id (and no trace_id/span_id)")
        if self.kind == "otel_span" and (None in span or semantic != (None, None)):
            raise ValueError("otel_span takes trace_id and span_id (and no executable_type/runtime_id)")
        return self

    def reference(self) -> EvidenceReference:
        if self.kind == "junjo_execution":
            return SemanticExecutionReference(
                service_namespace=self.service_namespace,
                service_name=self.service_name,
                executable_type=self.executable_type,
                runtime_id=self.runtime_id,
            )
        return OpenTelemetrySpanReference(
            service_namespace=self.service_namespace,
            service_name=self.service_name,
            trace_id=self.trace_id,
            span_id=self.span_id,
        )


@router.post("/datasets", responses=CONFLICT)
def create_dataset(body: DatasetCreate, principal: EvaluationWriter, db: DatabaseDep) -> DatasetRead:
    return service.create_dataset(db, body, principal.user_id)


@router.get("/datasets")
def list_datasets(
    query: Annotated[DatasetQuery, Query()], _: EvaluationReader, db: DatabaseDep
) -> DatasetList:
    return service.list_datasets(db, query.application_key, query.cursor, query.limit)


@router.get("/datasets/{dataset_id}")
def get_dataset(dataset_id: PathId, _: EvaluationReader, db: DatabaseDep) -> DatasetDetail:
    return service.get_dataset(db, dataset_id)


@router.post("/datasets/{dataset_id}/cases", responses=CONFLICT)
def add_case(dataset_id: PathId, body: CaseCreate, _: EvaluationWriter, db: DatabaseDep) -> CaseRead:
    return service.add_case(db, dataset_id, body)


@router.put("/datasets/{dataset_id}/lock")
def lock_dataset(dataset_id: PathId, _: EvaluationWriter, db: DatabaseDep) -> DatasetRead:
    return service.lock_dataset(db, dataset_id)


@router.post("/runs", responses=CONFLICT)
def start_run(body: RunStart, principal: EvaluationWriter, db: DatabaseDep) -> RunDetail:
    return service.start_run(db, body, principal.user_id)


@router.get("/runs")
def list_runs(query: Annotated[RunQuery, Query()], _: EvaluationReader, db: DatabaseDep) -> RunList:
    scope = RunScope(
        dataset_id=query.dataset_id,
        target_kind=query.target_kind,
        target_key=query.target_key,
        input_version=query.input_version,
        evaluation_name=query.evaluation_name,
    )
    return service.list_runs(db, scope, query.cursor, query.limit)


@router.get("/runs/{run_id}")
def get_run(run_id: PathId, _: EvaluationReader, db: DatabaseDep) -> RunDetail:
    return service.get_run(db, run_id)


@router.get("/attempts/{attempt_id}")
def get_attempt(attempt_id: PathId, _: EvaluationReader, db: DatabaseDep) -> AttemptDetail:
    return service.get_attempt(db, attempt_id)


@router.put("/attempts/{attempt_id}/evidence", responses=CONFLICT)
def bind_attempt_evidence(
    attempt_id: PathId, body: AttemptEvidenceBind, _: EvaluationWriter, db: DatabaseDep
) -> AttemptRead:
    return service.bind_evidence(db, attempt_id, body.evidence)


@router.put("/attempts/{attempt_id}/result", responses=CONFLICT)
def record_attempt_result(
    attempt_id: PathId, body: AttemptResultWrite, _: EvaluationWriter, db: DatabaseDep
) -> AttemptRead:
    return service.record_result(db, attempt_id, body)


@router.get("/evidence-membership")
def evidence_membership(
    query: Annotated[MembershipQuery, Query()], _: EvaluationReader, db: DatabaseDep
) -> EvidenceMembershipList:
    return service.evidence_membership(db, query.reference(), query.cursor, query.limit)
