"""Tables of the evaluation store in junjo.db (schema owned by the alembic migrations).

Every record a client may write twice (the Studio client retries) has a natural key with a unique
index, so a replay finds the stored row: datasets by (application_key, key), cases by
(dataset_id, case_key), runs by (dataset_id, request_key), attempts by (run_id, case_id).
JSON payloads and evidence references are kept as canonical JSON text (compact, sorted keys), so
"same content" is a string comparison and evidence membership is an indexed equality lookup.
Developer access tokens are stored only as a SHA-256 digest plus a display prefix.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.models import Base, UTCDateTime, utcnow


class EvaluationToken(Base):
    __tablename__ = "evaluation_tokens"

    id: Mapped[str] = mapped_column(String(22), primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    prefix: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(256))
    scopes: Mapped[str] = mapped_column(String(128))  # space-separated, sorted
    created_by_user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (Index("ix_evaluation_tokens_created_at_id", "created_at", "id"),)


class EvaluationDataset(Base):
    __tablename__ = "evaluation_datasets"

    id: Mapped[str] = mapped_column(String(22), primary_key=True)
    application_key: Mapped[str] = mapped_column(String(128))
    key: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(256))
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    created_by_user_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (
        UniqueConstraint("application_key", "key", name="uq_evaluation_datasets_natural_key"),
        Index("ix_evaluation_datasets_created_at_id", "created_at", "id"),
    )


class EvaluationCase(Base):
    __tablename__ = "evaluation_cases"

    id: Mapped[str] = mapped_column(String(22), primary_key=True)
    dataset_id: Mapped[str] = mapped_column(ForeignKey("evaluation_datasets.id", ondelete="CASCADE"))
    case_key: Mapped[str] = mapped_column(String(128))
    ordinal: Mapped[int] = mapped_column(Integer)
    evaluation_name: Mapped[str] = mapped_column(String(256))
    origin: Mapped[str] = mapped_column(String(16))
    target_kind: Mapped[str] = mapped_column(String(16))
    target_key: Mapped[str] = mapped_column(String(128))
    target_name: Mapped[str] = mapped_column(String(256))
    input_version: Mapped[int] = mapped_column(Integer)
    input_json: Mapped[str] = mapped_column(Text)
    expectation_json: Mapped[str | None] = mapped_column(Text, nullable=True)
    evaluator_key: Mapped[str] = mapped_column(String(128))
    evaluator_version: Mapped[int] = mapped_column(Integer)
    source_evidence: Mapped[str | None] = mapped_column(Text, nullable=True, index=True)
    source_revision: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("dataset_id", "case_key", name="uq_evaluation_cases_natural_key"),
        UniqueConstraint("dataset_id", "ordinal", name="uq_evaluation_cases_ordinal"),
    )


class EvaluationRun(Base):
    __tablename__ = "evaluation_runs"

    id: Mapped[str] = mapped_column(String(22), primary_key=True)
    dataset_id: Mapped[str] = mapped_column(ForeignKey("evaluation_datasets.id", ondelete="CASCADE"))
    request_key: Mapped[str] = mapped_column(String(128))
    run_label: Mapped[str] = mapped_column(String(256))
    source_revision: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="active")
    created_by_user_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (
        UniqueConstraint("dataset_id", "request_key", name="uq_evaluation_runs_natural_key"),
        Index("ix_evaluation_runs_created_at_id", "created_at", "id"),
    )


class EvaluationAttempt(Base):
    __tablename__ = "evaluation_attempts"

    id: Mapped[str] = mapped_column(String(22), primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("evaluation_runs.id", ondelete="CASCADE"))
    case_id: Mapped[str] = mapped_column(ForeignKey("evaluation_cases.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    duration_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # one execution is the subject of at most one attempt (unique; NULLs do not collide)
    subject_evidence: Mapped[str | None] = mapped_column(Text, nullable=True, unique=True)
    evidence_bound_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (UniqueConstraint("run_id", "case_id", name="uq_evaluation_attempts_natural_key"),)
