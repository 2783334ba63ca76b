"""Users get a role (`admin` or `viewer`); every existing user becomes an admin.

Revision ID: 0005_roles
Revises: 0004_evaluation_store
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_roles"
down_revision = "0004_evaluation_store"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The default fills the existing rows only; new rows must name their role.
    op.add_column("users", sa.Column("role", sa.String(16), nullable=False, server_default="admin"))
    with op.batch_alter_table("users") as batch:
        batch.alter_column("role", server_default=None, existing_type=sa.String(16), existing_nullable=False)
        batch.create_check_constraint("ck_users_role", "role IN ('admin', 'viewer')")


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint("ck_users_role", type_="check")
        batch.drop_column("role")
