"""mock interviews: profiles, blocks, settings, rounds, groups, check-ins, packets, feedback

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "mock_blocks",
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("blocked_user_id", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint(
            "platform", "workspace_id", "user_id", "blocked_user_id", name=op.f("pk_mock_blocks")
        ),
    )
    op.create_table(
        "mock_profiles",
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("focus", sa.String(length=16), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("availability", sa.String(length=300), nullable=False),
        sa.Column("cadence", sa.String(length=12), nullable=False),
        sa.Column("active", sa.Boolean(), server_default="1", nullable=False),
        sa.Column("paused_until", sa.String(length=10), nullable=True),
        sa.Column("skip_next", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("missed_in_row", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_round", sa.Integer(), nullable=True),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "platform", "workspace_id", "user_id", name=op.f("pk_mock_profiles")
        ),
    )
    op.create_table(
        "mock_rounds",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("waiting", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mock_rounds")),
    )
    op.create_table(
        "mock_settings",
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("channel_id", sa.String(length=64), nullable=False),
        sa.Column("weekday", sa.String(length=3), nullable=False),
        sa.Column("time", sa.String(length=5), nullable=False),
        sa.PrimaryKeyConstraint("platform", "workspace_id", name=op.f("pk_mock_settings")),
    )
    op.create_table(
        "mock_groups",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("interviewer", sa.String(length=64), nullable=False),
        sa.Column("candidate", sa.String(length=64), nullable=False),
        sa.Column("observer", sa.String(length=64), nullable=True),
        sa.Column("channel_id", sa.String(length=128), nullable=True),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("repeat", sa.Boolean(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["mock_rounds.id"],
            name=op.f("fk_mock_groups_round_id_mock_rounds"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mock_groups")),
    )
    op.create_table(
        "mock_checkins",
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("answer", sa.String(length=8), nullable=True),
        sa.Column("feedback_given", sa.Boolean(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["mock_groups.id"],
            name=op.f("fk_mock_checkins_group_id_mock_groups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("group_id", "user_id", name=op.f("pk_mock_checkins")),
    )
    op.create_table(
        "mock_feedback",
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("to_user_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("scores", sa.Text(), nullable=False),
        sa.Column("strength", sa.Text(), nullable=False),
        sa.Column("improve", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["mock_groups.id"],
            name=op.f("fk_mock_feedback_group_id_mock_groups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("group_id", "user_id", name=op.f("pk_mock_feedback")),
    )
    op.create_table(
        "mock_packets",
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("interviewer", sa.String(length=64), nullable=False),
        sa.Column("candidate", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("question_ids", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["mock_groups.id"],
            name=op.f("fk_mock_packets_group_id_mock_groups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("group_id", "interviewer", name=op.f("pk_mock_packets")),
    )


def downgrade() -> None:

    op.drop_table("mock_packets")
    op.drop_table("mock_feedback")
    op.drop_table("mock_checkins")
    op.drop_table("mock_groups")
    op.drop_table("mock_settings")
    op.drop_table("mock_rounds")
    op.drop_table("mock_profiles")
    op.drop_table("mock_blocks")
