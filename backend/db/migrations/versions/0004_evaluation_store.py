"""The evaluation store: datasets, cases, runs and attempts (with bound evidence and results).

Revision ID: 0004_evaluation_store
Revises: 0003_evaluation_tokens
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_evaluation_store"
down_revision = "0003_evaluation_tokens"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "evaluation_datasets",
        sa.Column("id", sa.String(22), primary_key=True),
        sa.Column("application_key", sa.String(128), nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column(
            "created_by_user_id", sa.String(22), sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("locked_at", sa.DateTime(), nullable=True),
        sa.UniqueConstraint("application_key", "key", name="uq_evaluation_datasets_natural_key"),
    )
    op.create_index("ix_evaluation_datasets_created_at_id", "evaluation_datasets", ["created_at", "id"])
    op.create_table(
        "evaluation_cases",
        sa.Column("id", sa.String(22), primary_key=True),
        sa.Column(
            "dataset_id",
            sa.String(22),
            sa.ForeignKey("evaluation_datasets.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("case_key", sa.String(128), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("evaluation_name", sa.String(256), nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("target_kind", sa.String(16), nullable=False),
        sa.Column("target_key", sa.String(128), nullable=False),
        sa.Column("target_name", sa.String(256), nullable=False),
        sa.Column("input_version", sa.Integer(), nullable=False),
        sa.Column("input_json", sa.Text(), nullable=False),
        sa.Column("expectation_json", sa.Text(), nullable=True),
        sa.Column("evaluator_key", sa.String(128), nullable=False),
        sa.Column("evaluator_version", sa.Integer(), nullable=False),
        sa.Column("source_evidence", sa.Text(), nullable=True),
        sa.Column("source_revision", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("dataset_id", "case_key", name="uq_evaluation_cases_natural_key"),
        sa.UniqueConstraint("dataset_id", "ordinal", name="uq_evaluation_cases_ordinal"),
    )
    op.create_index("ix_evaluation_cases_source_evidence", "evaluation_cases", ["source_evidence"])
    op.create_table(
        "evaluation_runs",
        sa.Column("id", sa.String(22), primary_key=True),
        sa.Column(
            "dataset_id",
            sa.String(22),
            sa.ForeignKey("evaluation_datasets.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("request_key", sa.String(128), nullable=False),
        sa.Column("run_label", sa.String(256), nullable=False),
        sa.Column("source_revision", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column(
            "created_by_user_id", sa.String(22), sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("completed_at", sa.DateTime(), nullable=True),
        sa.UniqueConstraint("dataset_id", "request_key", name="uq_evaluation_runs_natural_key"),
    )
    op.create_index("ix_evaluation_runs_created_at_id", "evaluation_runs", ["created_at", "id"])
    op.create_table(
        "evaluation_attempts",
        sa.Column("id", sa.String(22), primary_key=True),
        sa.Column(
            "run_id", sa.String(22), sa.ForeignKey("evaluation_runs.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "case_id", sa.String(22), sa.ForeignKey("evaluation_cases.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("subject_evidence", sa.Text(), nullable=True, unique=True),
        sa.Column("evidence_bound_at", sa.DateTime(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=True),
        sa.UniqueConstraint("run_id", "case_id", name="uq_evaluation_attempts_natural_key"),
    )


def downgrade() -> None:
    op.drop_table("evaluation_attempts")
    op.drop_index("ix_evaluation_runs_created_at_id", table_name="evaluation_runs")
    op.drop_table("evaluation_runs")
    op.drop_index("ix_evaluation_cases_source_evidence", table_name="evaluation_cases")
    op.drop_table("evaluation_cases")
    op.drop_index("ix_evaluation_datasets_created_at_id", table_name="evaluation_datasets")
    op.drop_table("evaluation_datasets")
