"""The evaluation store: datasets of cases, runs of attempts, evidence bindings and results.

Every mutation is idempotent on its natural key because the Studio client retries a request it
did not see answered: a replay with the same content returns the stored record unchanged; a
write that contradicts it is a `Conflict` (409 `{code, message}`). Mutations run in
`BEGIN IMMEDIATE` transactions, so two replays racing each other cannot both insert.

Lifecycle: a dataset is `draft` (cases may be added, at most 100) until locked; a run on a
locked dataset gets one `queued` attempt per case; an attempt is bound to the execution it
produced (its evidence) and then gets a terminal result; the run is `completed` when no attempt
is queued any more.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from backend.db.engine import Database
from backend.db.models import utcnow
from backend.evaluations.cursor import created_at_of, decode_cursor, encode_cursor
from backend.evaluations.errors import Conflict, NotFound, Unprocessable
from backend.evaluations.models import EvaluationAttempt, EvaluationCase, EvaluationDataset, EvaluationRun
from backend.evaluations.schemas import (
    MAX_CASES_PER_DATASET,
    AttemptDetail,
    AttemptRead,
    AttemptResultWrite,
    AttemptStatus,
    CaseCreate,
    CaseRead,
    DatasetCreate,
    DatasetDetail,
    DatasetList,
    DatasetRead,
    DatasetStatus,
    DatasetSummary,
    EvaluationNameFacet,
    EvidenceMembershipItem,
    EvidenceMembershipList,
    EvidenceReference,
    OutcomeSummary,
    RunCaseRead,
    RunDetail,
    RunList,
    RunRead,
    RunScope,
    RunStart,
    RunStatus,
    RunSummary,
    TargetFacet,
    canonical_json,
    reference_key,
)
from backend.ids import new_id

TERMINAL = frozenset({AttemptStatus.PASSED, AttemptStatus.FAILED, AttemptStatus.ERROR})


# ---- row -> wire ----


def dataset_read(row: EvaluationDataset) -> DatasetRead:
    return DatasetRead(
        id=row.id,
        application_key=row.application_key,
        key=row.key,
        name=row.name,
        status=DatasetStatus(row.status),
        description=row.description,
        created_by_user_id=row.created_by_user_id,
        created_at=row.created_at,
        locked_at=row.locked_at,
    )


def _reference(stored: str | None) -> EvidenceReference | None:
    return None if stored is None else json.loads(stored)


def case_read(row: EvaluationCase) -> CaseRead:
    return CaseRead.model_validate(
        {
            "id": row.id,
            "dataset_id": row.dataset_id,
            "case_key": row.case_key,
            "evaluation_name": row.evaluation_name,
            "ordinal": row.ordinal,
            "origin": row.origin,
            "target_kind": row.target_kind,
            "target_key": row.target_key,
            "target_name": row.target_name,
            "input_version": row.input_version,
            "input_json": json.loads(row.input_json),
            "expectation_json": None if row.expectation_json is None else json.loads(row.expectation_json),
            "evaluator_key": row.evaluator_key,
            "evaluator_version": row.evaluator_version,
            "source_evidence": _reference(row.source_evidence),
            "source_revision": row.source_revision,
            "created_at": row.created_at,
        }
    )


def run_read(row: EvaluationRun) -> RunRead:
    return RunRead(
        id=row.id,
        dataset_id=row.dataset_id,
        request_key=row.request_key,
        run_label=row.run_label,
        source_revision=row.source_revision,
        status=RunStatus(row.status),
        created_by_user_id=row.created_by_user_id,
        created_at=row.created_at,
        completed_at=row.completed_at,
    )


def attempt_read(row: EvaluationAttempt) -> AttemptRead:
    return AttemptRead.model_validate(
        {
            "id": row.id,
            "run_id": row.run_id,
            "case_id": row.case_id,
            "status": row.status,
            "reason": row.reason,
            "duration_ms": row.duration_ms,
            "subject_evidence": _reference(row.subject_evidence),
            "evidence_bound_at": row.evidence_bound_at,
            "recorded_at": row.recorded_at,
        }
    )


# ---- datasets and cases ----


def _dataset(tx: Session, dataset_id: str) -> EvaluationDataset:
    row = tx.get(EvaluationDataset, dataset_id)
    if row is None:
        raise NotFound("Dataset not found")
    return row


def create_dataset(db: Database, body: DatasetCreate, user_id: str) -> DatasetRead:
    with db.write_transaction() as tx:
        row = tx.scalar(
            select(EvaluationDataset).where(
                EvaluationDataset.application_key == body.application_key, EvaluationDataset.key == body.key
            )
        )
        if row is not None:
            if (row.name, row.description) != (body.name, body.description):
                raise Conflict(
                    "dataset_identity_conflict",
                    f"Dataset {body.key!r} exists with a different name or description",
                )
            return dataset_read(row)
        row = EvaluationDataset(
            id=new_id(),
            application_key=body.application_key,
            key=body.key,
            name=body.name,
            description=body.description,
            status=DatasetStatus.DRAFT,
            created_by_user_id=user_id,
            created_at=utcnow(),
        )
        tx.add(row)
        tx.flush()
        return dataset_read(row)


def _after(
    columns: tuple[InstrumentedAttribute[datetime], InstrumentedAttribute[str]],
    created_at: datetime,
    row_id: str,
) -> ColumnElement[bool]:
    """Keyset condition for `ORDER BY created_at DESC, id DESC` past the cursor's row."""
    created, ident = columns
    return or_(created < created_at, and_(created == created_at, ident < row_id))


def _page_cursor(kind: str, rows: Sequence[EvaluationDataset | EvaluationRun], limit: int) -> str | None:
    if len(rows) <= limit:
        return None
    last = rows[limit - 1]
    return encode_cursor(kind, created_at=last.created_at.isoformat(), id=last.id)


def list_datasets(db: Database, application_key: str | None, cursor: str | None, limit: int) -> DatasetList:
    query = select(EvaluationDataset).order_by(
        EvaluationDataset.created_at.desc(), EvaluationDataset.id.desc()
    )
    if application_key is not None:
        query = query.where(EvaluationDataset.application_key == application_key)
    if cursor is not None:
        position = decode_cursor(cursor, "datasets", ("created_at", "id"))
        query = query.where(
            _after(
                (EvaluationDataset.created_at, EvaluationDataset.id), created_at_of(position), position["id"]
            )
        )
    with db.session() as tx:
        rows = list(tx.scalars(query.limit(limit + 1)))
    return DatasetList(
        items=[dataset_read(r) for r in rows[:limit]], next_cursor=_page_cursor("datasets", rows, limit)
    )


def _cases(tx: Session, dataset_id: str) -> list[EvaluationCase]:
    return list(
        tx.scalars(
            select(EvaluationCase)
            .where(EvaluationCase.dataset_id == dataset_id)
            .order_by(EvaluationCase.ordinal)
        )
    )


def get_dataset(db: Database, dataset_id: str) -> DatasetDetail:
    with db.session() as tx:
        dataset = _dataset(tx, dataset_id)
        return DatasetDetail(
            dataset=dataset_read(dataset), cases=[case_read(c) for c in _cases(tx, dataset_id)]
        )


def _case_content(body: CaseCreate) -> dict[str, object]:
    """The stored columns a case is made of (compared on replays)."""
    return {
        "evaluation_name": body.evaluation_name,
        "origin": body.origin.value,
        "target_kind": body.target_kind.value,
        "target_key": body.target_key,
        "target_name": body.target_name,
        "input_version": body.input_version,
        "input_json": canonical_json(body.input_json),
        "expectation_json": None if body.expectation_json is None else canonical_json(body.expectation_json),
        "evaluator_key": body.evaluator_key,
        "evaluator_version": body.evaluator_version,
        "source_evidence": None if body.source_evidence is None else reference_key(body.source_evidence),
        "source_revision": body.source_revision,
    }


def add_case(db: Database, dataset_id: str, body: CaseCreate) -> CaseRead:
    content = _case_content(body)
    with db.write_transaction() as tx:
        dataset = _dataset(tx, dataset_id)
        existing = tx.scalar(
            select(EvaluationCase).where(
                EvaluationCase.dataset_id == dataset_id, EvaluationCase.case_key == body.case_key
            )
        )
        if existing is not None:
            if any(getattr(existing, name) != value for name, value in content.items()):
                raise Conflict(
                    "case_identity_conflict",
                    f"Case {body.case_key!r} exists in this dataset with different content",
                )
            return case_read(existing)
        if dataset.status != DatasetStatus.DRAFT:
            raise Conflict(
                "dataset_locked", "The dataset is locked; cases can only be added to a draft dataset"
            )
        count, last = tx.execute(
            select(func.count(), func.max(EvaluationCase.ordinal)).where(
                EvaluationCase.dataset_id == dataset_id
            )
        ).one()
        if count >= MAX_CASES_PER_DATASET:
            raise Conflict(
                "dataset_case_limit_reached", f"A dataset holds at most {MAX_CASES_PER_DATASET} cases"
            )
        row = EvaluationCase(
            id=new_id(),
            dataset_id=dataset_id,
            case_key=body.case_key,
            ordinal=(last or 0) + 1,
            created_at=utcnow(),
            **content,
        )
        tx.add(row)
        tx.flush()
        return case_read(row)


def lock_dataset(db: Database, dataset_id: str) -> DatasetRead:
    with db.write_transaction() as tx:
        dataset = _dataset(tx, dataset_id)
        if dataset.status == DatasetStatus.DRAFT:
            dataset.status = DatasetStatus.LOCKED
            dataset.locked_at = utcnow()
            tx.flush()
        return dataset_read(dataset)


# ---- runs and attempts ----


def _run_detail(tx: Session, run: EvaluationRun) -> RunDetail:
    dataset = _dataset(tx, run.dataset_id)
    rows = tx.execute(
        select(EvaluationCase, EvaluationAttempt)
        .join(EvaluationAttempt, EvaluationAttempt.case_id == EvaluationCase.id)
        .where(EvaluationAttempt.run_id == run.id)
        .order_by(EvaluationCase.ordinal)
    ).all()
    return RunDetail(
        run=run_read(run),
        dataset=dataset_read(dataset),
        cases=[RunCaseRead(case=case_read(c), attempt=attempt_read(a)) for c, a in rows],
    )


def start_run(db: Database, body: RunStart, user_id: str) -> RunDetail:
    with db.write_transaction() as tx:
        dataset = _dataset(tx, body.dataset_id)
        run = tx.scalar(
            select(EvaluationRun).where(
                EvaluationRun.dataset_id == body.dataset_id, EvaluationRun.request_key == body.request_key
            )
        )
        if run is not None:
            if (run.run_label, run.source_revision) != (body.run_label, body.source_revision):
                raise Conflict(
                    "run_identity_conflict",
                    f"Run {body.request_key!r} exists with a different label or source revision",
                )
            return _run_detail(tx, run)
        if dataset.status != DatasetStatus.LOCKED:
            raise Conflict("dataset_not_locked", "Lock the dataset before starting a run on it")
        cases = _cases(tx, dataset.id)
        if not cases:
            raise Conflict("dataset_empty", "The dataset has no cases to run")
        run = EvaluationRun(
            id=new_id(),
            dataset_id=dataset.id,
            request_key=body.request_key,
            run_label=body.run_label,
            source_revision=body.source_revision,
            status=RunStatus.ACTIVE,
            created_by_user_id=user_id,
            created_at=utcnow(),
        )
        tx.add(run)
        tx.flush()  # no ORM relationships: the run row must exist before its attempts
        tx.add_all(
            EvaluationAttempt(id=new_id(), run_id=run.id, case_id=c.id, status=AttemptStatus.QUEUED)
            for c in cases
        )
        tx.flush()
        return _run_detail(tx, run)


def get_run(db: Database, run_id: str) -> RunDetail:
    with db.session() as tx:
        run = tx.get(EvaluationRun, run_id)
        if run is None:
            raise NotFound("Run not found")
        return _run_detail(tx, run)


def _case_filter(scope: RunScope) -> list[object]:
    conditions: list[object] = []
    if scope.target_kind is not None:
        conditions.append(EvaluationCase.target_kind == scope.target_kind.value)
    if scope.target_key is not None:
        conditions.append(EvaluationCase.target_key == scope.target_key)
    if scope.input_version is not None:
        conditions.append(EvaluationCase.input_version == scope.input_version)
    if scope.evaluation_name is not None:
        conditions.append(EvaluationCase.evaluation_name == scope.evaluation_name)
    return conditions


def outcome_summary(statuses: Iterable[str]) -> OutcomeSummary:
    counts = Counter(statuses)
    total = sum(counts.values())
    passed, failed, error = (
        counts[AttemptStatus.PASSED],
        counts[AttemptStatus.FAILED],
        counts[AttemptStatus.ERROR],
    )
    judged = passed + failed
    return OutcomeSummary(
        total=total,
        queued=counts[AttemptStatus.QUEUED],
        judged=judged,
        passed=passed,
        failed=failed,
        error=error,
        pass_rate=passed / judged if judged else None,
        coverage=judged / total if total else None,
    )


def _facets(cases: Sequence[EvaluationCase]) -> tuple[list[TargetFacet], list[EvaluationNameFacet]]:
    targets = Counter((c.target_kind, c.target_key, c.target_name, c.input_version) for c in cases)
    names = Counter(c.evaluation_name for c in cases)
    return (
        [
            TargetFacet.model_validate(
                {
                    "target_kind": k,
                    "target_key": key,
                    "target_name": name,
                    "input_version": v,
                    "case_count": n,
                }
            )
            for (k, key, name, v), n in sorted(targets.items())
        ],
        [EvaluationNameFacet(evaluation_name=name, case_count=n) for name, n in sorted(names.items())],
    )


def list_runs(db: Database, scope: RunScope, cursor: str | None, limit: int) -> RunList:
    conditions = _case_filter(scope)
    query = select(EvaluationRun).order_by(EvaluationRun.created_at.desc(), EvaluationRun.id.desc())
    if scope.dataset_id is not None:
        query = query.where(EvaluationRun.dataset_id == scope.dataset_id)
    if conditions:
        query = query.where(
            exists().where(EvaluationCase.dataset_id == EvaluationRun.dataset_id, *conditions)  # type: ignore[arg-type]
        )
    if cursor is not None:
        position = decode_cursor(cursor, "runs", ("created_at", "id"))
        query = query.where(
            _after((EvaluationRun.created_at, EvaluationRun.id), created_at_of(position), position["id"])
        )
    with db.session() as tx:
        runs = list(tx.scalars(query.limit(limit + 1)))
        page = runs[:limit]
        dataset_ids = {r.dataset_id for r in page}
        datasets = {
            d.id: d
            for d in tx.scalars(select(EvaluationDataset).where(EvaluationDataset.id.in_(dataset_ids)))
        }
        cases_by_dataset: dict[str, list[EvaluationCase]] = {}
        for case in tx.scalars(select(EvaluationCase).where(EvaluationCase.dataset_id.in_(dataset_ids))):
            cases_by_dataset.setdefault(case.dataset_id, []).append(case)
        statuses: dict[str, list[str]] = {r.id: [] for r in page}
        attempts = select(EvaluationAttempt.run_id, EvaluationAttempt.status).join(
            EvaluationCase, EvaluationCase.id == EvaluationAttempt.case_id
        )
        for run_id, status in tx.execute(
            attempts.where(EvaluationAttempt.run_id.in_(statuses), *conditions)  # type: ignore[arg-type]
        ):
            statuses[run_id].append(status)
    items = []
    for run in page:
        dataset = datasets[run.dataset_id]
        target_facets, evaluation_facets = _facets(cases_by_dataset.get(run.dataset_id, []))
        items.append(
            RunSummary(
                run=run_read(run),
                dataset=DatasetSummary(
                    id=dataset.id,
                    application_key=dataset.application_key,
                    key=dataset.key,
                    name=dataset.name,
                    status=DatasetStatus(dataset.status),
                ),
                outcome_summary=outcome_summary(statuses[run.id]),
                target_facets=target_facets,
                evaluation_facets=evaluation_facets,
            )
        )
    return RunList(scope=scope, items=items, next_cursor=_page_cursor("runs", runs, limit))


def _attempt(tx: Session, attempt_id: str) -> EvaluationAttempt:
    row = tx.get(EvaluationAttempt, attempt_id)
    if row is None:
        raise NotFound("Attempt not found")
    return row


def get_attempt(db: Database, attempt_id: str) -> AttemptDetail:
    with db.session() as tx:
        attempt = _attempt(tx, attempt_id)
        run = tx.get_one(EvaluationRun, attempt.run_id)
        return AttemptDetail(
            run=run_read(run),
            dataset=dataset_read(_dataset(tx, run.dataset_id)),
            case=case_read(tx.get_one(EvaluationCase, attempt.case_id)),
            attempt=attempt_read(attempt),
        )


def bind_evidence(db: Database, attempt_id: str, reference: EvidenceReference) -> AttemptRead:
    key = reference_key(reference)
    with db.write_transaction() as tx:
        attempt = _attempt(tx, attempt_id)
        if attempt.subject_evidence == key:
            return attempt_read(attempt)
        if attempt.subject_evidence is not None:
            raise Conflict("attempt_evidence_conflict", "The attempt is already bound to different evidence")
        if attempt.status in TERMINAL:
            raise Conflict(
                "attempt_terminal", "The attempt already has a result; evidence can no longer be bound"
            )
        if (
            tx.scalar(select(EvaluationAttempt.id).where(EvaluationAttempt.subject_evidence == key))
            is not None
        ):
            raise Conflict(
                "evidence_already_bound", "This execution is already the subject of another attempt"
            )
        attempt.subject_evidence = key
        attempt.evidence_bound_at = utcnow()
        tx.flush()
        return attempt_read(attempt)


def record_result(db: Database, attempt_id: str, body: AttemptResultWrite) -> AttemptRead:
    with db.write_transaction() as tx:
        attempt = _attempt(tx, attempt_id)
        if attempt.status in TERMINAL:
            if (attempt.status, attempt.reason, attempt.duration_ms) != (
                body.status,
                body.reason,
                body.duration_ms,
            ):
                raise Conflict("attempt_result_conflict", "The attempt already has a different result")
            return attempt_read(attempt)
        if body.status != AttemptStatus.ERROR and attempt.subject_evidence is None:
            raise Conflict(
                "attempt_evidence_required",
                "Bind the attempt's execution evidence before recording a judgment",
            )
        now = utcnow()
        attempt.status = body.status
        attempt.reason = body.reason
        attempt.duration_ms = body.duration_ms
        attempt.recorded_at = now
        tx.flush()
        queued = tx.scalar(
            select(func.count()).where(
                EvaluationAttempt.run_id == attempt.run_id, EvaluationAttempt.status == AttemptStatus.QUEUED
            )
        )
        if not queued:
            run = tx.get_one(EvaluationRun, attempt.run_id)
            if run.status != RunStatus.COMPLETED:
                run.status = RunStatus.COMPLETED
                run.completed_at = now
        return attempt_read(attempt)


# ---- evidence membership ----

ROLES = ("case_source", "attempt_subject")


def evidence_membership(
    db: Database, reference: EvidenceReference, cursor: str | None, limit: int
) -> EvidenceMembershipList:
    """Cases generated from `reference` and attempts whose subject it is, ordered by (role, id)."""
    key = reference_key(reference)
    role, after = ROLES[0], ""
    if cursor is not None:
        position = decode_cursor(cursor, "evidence-membership", ("role", "id"))
        if position["role"] not in ROLES:
            raise Unprocessable(["query", "cursor"], "cursor is not a cursor this API issued")
        role, after = position["role"], position["id"]
    items: list[EvidenceMembershipItem] = []
    with db.session() as tx:
        if role == "case_source":
            for case in tx.scalars(
                select(EvaluationCase)
                .where(EvaluationCase.source_evidence == key, EvaluationCase.id > after)
                .order_by(EvaluationCase.id)
                .limit(limit + 1)
            ):
                items.append(
                    EvidenceMembershipItem(
                        role="case_source",
                        dataset_id=case.dataset_id,
                        case_id=case.id,
                        run_id=None,
                        attempt_id=None,
                    )
                )
            after = ""
        attempts = tx.execute(
            select(EvaluationAttempt, EvaluationRun.dataset_id)
            .join(EvaluationRun, EvaluationRun.id == EvaluationAttempt.run_id)
            .where(EvaluationAttempt.subject_evidence == key, EvaluationAttempt.id > after)
            .order_by(EvaluationAttempt.id)
            .limit(limit + 1)
        ).all()
        for attempt, dataset_id in attempts:
            items.append(
                EvidenceMembershipItem(
                    role="attempt_subject",
                    dataset_id=dataset_id,
                    case_id=attempt.case_id,
                    run_id=attempt.run_id,
                    attempt_id=attempt.id,
                )
            )
    next_cursor = None
    if len(items) > limit:
        last = items[limit - 1]
        last_id = last.case_id if last.role == "case_source" else str(last.attempt_id)
        next_cursor = encode_cursor("evidence-membership", role=last.role, id=last_id)
    return EvidenceMembershipList(items=items[:limit], next_cursor=next_cursor)
