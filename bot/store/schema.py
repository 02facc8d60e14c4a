"""The database schema (SQLAlchemy Core). Changes go through Alembic migrations.

Every table carries ``platform`` and ``workspace_id``: each query is scoped by them, so one
community never sees another's data. Shipped bank questions use the scope ``("*", "*")``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

SHIPPED = "*"  # platform and workspace of the shipped bank

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in, timezone-aware UTC out, on SQLite (naive storage) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use timezone-aware UTC")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _scope() -> list[Column[Any]]:
    return [
        Column("platform", String(16), nullable=False),
        Column("workspace_id", String(64), nullable=False),
    ]


workspaces = Table(
    "workspaces",
    metadata,
    Column("platform", String(16), primary_key=True),
    Column("workspace_id", String(64), primary_key=True),
    Column("name", String(200), nullable=False, server_default=""),
    Column("timezone", String(64), nullable=False, server_default="UTC"),
    Column("created_at", UTCDateTime(), nullable=False),
)

members = Table(
    "members",
    metadata,
    Column("platform", String(16), primary_key=True),
    Column("workspace_id", String(64), primary_key=True),
    Column("user_id", String(64), primary_key=True),
    Column("display_name", String(200), nullable=False),
    Column("first_seen", UTCDateTime(), nullable=False),
    Column("last_seen", UTCDateTime(), nullable=False),
)

questions = Table(
    "questions",
    metadata,
    Column("platform", String(16), primary_key=True),
    Column("workspace_id", String(64), primary_key=True),
    Column("id", String(80), primary_key=True),
    Column("topic", String(40), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("difficulty", String(8), nullable=False),
    Column("body", Text, nullable=False),  # the validated item as JSON
    Column("content_hash", String(64), nullable=False),
    Column("added_at", UTCDateTime(), nullable=False),
    Index(None, "topic", "difficulty"),
)

drops = Table(
    "drops",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    *_scope(),
    Column("channel_id", String(64), nullable=False),
    Column("question_id", String(80), nullable=False),
    Column("question", Text, nullable=False),  # snapshot: the reveal shows what was asked
    Column("kind", String(16), nullable=False),
    Column("topic", String(40), nullable=False),
    Column("difficulty", String(8), nullable=False),
    Column("private_to", String(64)),  # a /quiz question shown to one member only
    Column("message_id", String(64)),
    Column("posted_by", String(64)),
    Column("posted_at", UTCDateTime(), nullable=False),
    Column("revealed_at", UTCDateTime()),
    Column("reveal_message_id", String(64)),
    Column("thread_id", String(64)),
    Index(None, "platform", "workspace_id", "channel_id", "question_id"),
    Index(None, "platform", "workspace_id", "channel_id", "revealed_at"),
)

answers = Table(
    "answers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    *_scope(),
    Column("drop_id", Integer, ForeignKey("drops.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", String(64), nullable=False),
    Column("question_id", String(80), nullable=False),
    Column("option_index", Integer),
    Column("text", Text),
    Column("correct", Boolean),
    Column("points", Integer, nullable=False, server_default="0"),
    Column("votes", Integer, nullable=False, server_default="0"),
    Column("answered_at", UTCDateTime(), nullable=False),
    Column("message_id", String(64)),  # an open answer's own message after the reveal
    UniqueConstraint("drop_id", "user_id"),
    Index(None, "platform", "workspace_id", "message_id"),
    Index(None, "platform", "workspace_id", "user_id"),
)

reactions = Table(
    "reactions",
    metadata,
    Column("platform", String(16), primary_key=True),
    Column("workspace_id", String(64), primary_key=True),
    Column("message_id", String(64), primary_key=True),
    Column("user_id", String(64), primary_key=True),
    Column("emoji", String(64), primary_key=True),
    Column("channel_id", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

scores = Table(
    "scores",
    metadata,
    Column("platform", String(16), primary_key=True),
    Column("workspace_id", String(64), primary_key=True),
    Column("user_id", String(64), primary_key=True),
    Column("period", String(24), primary_key=True),  # "all", "week:2026-01-05", "month:2026-01"
    Column("topic", String(40), primary_key=True),  # "*" for every topic
    Column("points", Integer, nullable=False, server_default="0"),
    Column("answered", Integer, nullable=False, server_default="0"),
    Column("correct", Integer, nullable=False, server_default="0"),
    Index(None, "platform", "workspace_id", "period", "topic", "points"),
)
