"""hints: which members asked for a drop's hint before answering (half points if right)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hints_shown",
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("drop_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("shown_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["drop_id"], ["drops.id"], name=op.f("fk_hints_shown_drop_id_drops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("drop_id", "user_id", name=op.f("pk_hints_shown")),
    )


def downgrade() -> None:
    op.drop_table("hints_shown")
