"""Developer access tokens for the evaluation API, stored as SHA-256 digests.

Revision ID: 0003_evaluation_tokens
Revises: 0001_accounts
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_evaluation_tokens"
down_revision = "0001_accounts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "evaluation_tokens",
        sa.Column("id", sa.String(22), primary_key=True),
        sa.Column("token_sha256", sa.String(64), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("scopes", sa.String(128), nullable=False),
        sa.Column(
            "created_by_user_id",
            sa.String(22),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_evaluation_tokens_token_sha256", "evaluation_tokens", ["token_sha256"], unique=True)
    op.create_index("ix_evaluation_tokens_created_by_user_id", "evaluation_tokens", ["created_by_user_id"])
    op.create_index("ix_evaluation_tokens_created_at_id", "evaluation_tokens", ["created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_evaluation_tokens_created_at_id", table_name="evaluation_tokens")
    op.drop_index("ix_evaluation_tokens_created_by_user_id", table_name="evaluation_tokens")
    op.drop_index("ix_evaluation_tokens_token_sha256", table_name="evaluation_tokens")
    op.drop_table("evaluation_tokens")
