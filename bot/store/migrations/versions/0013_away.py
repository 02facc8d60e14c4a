"""away: the days a member is away (/away), which pause their streak, reminders and mocks

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "away_periods",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("first_day", sa.String(length=10), nullable=False),
        sa.Column("last_day", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_away_periods")),
    )
    with op.batch_alter_table("away_periods", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_away_periods_platform_workspace_id_user_id"),
            ["platform", "workspace_id", "user_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("away_periods", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_away_periods_platform_workspace_id_user_id"))
    op.drop_table("away_periods")
