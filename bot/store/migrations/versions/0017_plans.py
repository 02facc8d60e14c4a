"""plans: a member's interview date and topics (/plan), which shape /practice until then

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-12
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "plans",
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("interview_day", sa.String(length=10), nullable=False),
        sa.Column("topics", sa.Text(), nullable=False),
        sa.Column("remind_at", sa.String(length=5), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("platform", "workspace_id", "user_id", name=op.f("pk_plans")),
    )


def downgrade() -> None:
    op.drop_table("plans")
