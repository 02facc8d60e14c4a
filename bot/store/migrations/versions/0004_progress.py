"""progress: review cards and logs, streaks, member settings, drop source, reward role

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("scores", schema=None) as batch_op:
        batch_op.drop_index("ix_scores_platform_workspace_id_period_topic_points")
        batch_op.create_index(
            "ix_scores_board",
            ["platform", "workspace_id", "period", "topic", "points", "correct", "user_id"],
            unique=False,
        )

    op.create_table(
        "cards",
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("question_id", sa.String(length=80), nullable=False),
        sa.Column("topic", sa.String(length=40), nullable=False),
        sa.Column("difficulty", sa.String(length=8), nullable=False),
        sa.Column("state", sa.Integer(), nullable=False),
        sa.Column("stability", sa.Float(), nullable=True),
        sa.Column("card_difficulty", sa.Float(), nullable=True),
        sa.Column("due", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_review", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reps", sa.Integer(), server_default="0", nullable=False),
        sa.Column("lapses", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint(
            "platform", "workspace_id", "user_id", "question_id", name=op.f("pk_cards")
        ),
    )
    with op.batch_alter_table("cards", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_cards_platform_workspace_id_user_id_due"),
            ["platform", "workspace_id", "user_id", "due"],
            unique=False,
        )

    op.create_table(
        "member_settings",
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("remind_at", sa.String(length=5), nullable=True),
        sa.PrimaryKeyConstraint(
            "platform", "workspace_id", "user_id", name=op.f("pk_member_settings")
        ),
    )
    op.create_table(
        "review_logs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("question_id", sa.String(length=80), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_after", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_logs")),
    )
    with op.batch_alter_table("review_logs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_review_logs_platform_workspace_id_user_id"),
            ["platform", "workspace_id", "user_id"],
            unique=False,
        )

    op.create_table(
        "streaks",
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("current", sa.Integer(), nullable=False),
        sa.Column("best", sa.Integer(), nullable=False),
        sa.Column("last_day", sa.String(length=10), nullable=False),
        sa.Column("freeze_week", sa.String(length=10), nullable=True),
        sa.PrimaryKeyConstraint("platform", "workspace_id", "user_id", name=op.f("pk_streaks")),
    )
    with op.batch_alter_table("drops", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("source", sa.String(length=16), server_default="channel", nullable=False)
        )

    with op.batch_alter_table("workspaces", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reward_role", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("scores", schema=None) as batch_op:
        batch_op.drop_index("ix_scores_board")
        batch_op.create_index(
            "ix_scores_platform_workspace_id_period_topic_points",
            ["platform", "workspace_id", "period", "topic", "points"],
            unique=False,
        )

    with op.batch_alter_table("workspaces", schema=None) as batch_op:
        batch_op.drop_column("reward_role")

    with op.batch_alter_table("drops", schema=None) as batch_op:
        batch_op.drop_column("source")

    op.drop_table("streaks")
    with op.batch_alter_table("review_logs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_logs_platform_workspace_id_user_id"))

    op.drop_table("review_logs")
    op.drop_table("member_settings")
    with op.batch_alter_table("cards", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cards_platform_workspace_id_user_id_due"))

    op.drop_table("cards")
