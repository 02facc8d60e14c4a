"""mock rounds delivered step by step and resumable; indexes for catch-up and takeover

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mock_rounds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fire_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("summary", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("unplaced", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("done_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_mock_rounds_fire_id"), ["fire_id"])
    # Rounds made before this change were delivered in one go.
    op.execute("UPDATE mock_rounds SET done_at = started_at")
    op.create_table(
        "deliveries",
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_deliveries")),
    )
    with op.batch_alter_table("fires", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fires_job_fire_time"), ["job", "fire_time"])
        batch_op.create_index(batch_op.f("ix_fires_status_lease_until"), ["status", "lease_until"])


def downgrade() -> None:
    with op.batch_alter_table("fires", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fires_status_lease_until"))
        batch_op.drop_index(batch_op.f("ix_fires_job_fire_time"))
    op.drop_table("deliveries")
    with op.batch_alter_table("mock_rounds", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_mock_rounds_fire_id"), type_="unique")
        batch_op.drop_column("done_at")
        batch_op.drop_column("unplaced")
        batch_op.drop_column("summary")
        batch_op.drop_column("fire_id")
