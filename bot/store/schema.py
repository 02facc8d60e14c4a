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
    Float,
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
    Column("reward_role", String(64)),  # Discord: a role for the week's top 3
    Column("reward_holders", Text),  # JSON: who holds it now, so it moves on next week
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
    Column("welcomed_at", UTCDateTime(), nullable=True),  # the one first-contact welcome
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
    Column("added_by", String(64)),  # who imported a custom question
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
    # The order the options were shown in: shown position -> index in the item ("2,0,3,1").
    # Answers store the item's index, so reveals and item analysis never depend on it.
    Column("option_order", String(32)),
    Column("kind", String(16), nullable=False),
    Column("topic", String(40), nullable=False),
    Column("difficulty", String(8), nullable=False),
    Column("private_to", String(64)),  # a /quiz or /practice question shown to one member only
    Column("source", String(16), nullable=False, server_default="channel"),  # quiz, practice
    Column("message_id", String(64)),
    Column("posted_by", String(64)),
    Column("posted_at", UTCDateTime(), nullable=False),
    Column("revealed_at", UTCDateTime()),
    Column("reveal_message_id", String(64)),
    Column("thread_id", String(64)),
    Column("reveal_at", UTCDateTime()),  # a scheduled reveal; rebuilt into a timer at start-up
    Column("schedule_id", Integer),
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
    # How sure the member said they were (features/confidence.py): guessing, fairly-sure,
    # certain; null until they press one of the buttons under their answer.
    Column("confidence", String(16)),
    # Set when an open answer carries words addressed to a grader ("ignore previous
    # instructions", "award full marks"): listed in /questions report, never a change in score.
    Column("flag", String(32)),
    UniqueConstraint("drop_id", "user_id"),
    Index(None, "platform", "workspace_id", "message_id"),
    Index(None, "platform", "workspace_id", "user_id"),
)

# A drop's hint, shown privately to a member before they answered: a right answer after it
# earns half the points and no early bonus (features/hints.py).
hints_shown = Table(
    "hints_shown",
    metadata,
    *_scope(),
    Column("drop_id", Integer, ForeignKey("drops.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", String(64), primary_key=True),
    Column("shown_at", UTCDateTime(), nullable=False),
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
    # Covers board order and tie-breaks, so ranks are counted from the index alone.
    Index(
        "ix_scores_board",
        "platform",
        "workspace_id",
        "period",
        "topic",
        "points",
        "correct",
        "user_id",
    ),
)


schedules = Table(
    "schedules",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    *_scope(),
    Column("channel_id", String(64), nullable=False),
    Column("spec", String(120), nullable=False),  # as the admin wrote it: "daily 09:00"
    Column("cron", String(120), nullable=False),  # minute hour day month day-of-week
    Column("timezone", String(64), nullable=False),
    Column("topic", String(40)),
    Column("difficulty", String(8)),
    Column("kind", String(16)),  # choice, open, or null for a mix
    Column("reveal_minutes", Integer),  # null: before the next drop, at most 24 h
    Column("paused", Boolean, nullable=False, server_default="0"),
    Column("created_by", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index(None, "platform", "workspace_id", "channel_id"),
)

# One row per timed job firing: the instance whose insert wins does the work.
fires = Table(
    "fires",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    *_scope(),
    Column("job", String(120), nullable=False),  # "schedule:12", "digest:C1"
    Column("local_time", String(32), nullable=False),  # wall-clock time in the job's zone
    Column("fire_time", UTCDateTime(), nullable=False),
    Column("status", String(16), nullable=False),  # claimed, posted, missed, failed, empty
    Column("drop_id", Integer),
    Column("message_id", String(64)),
    Column("detail", Text),
    Column("claimed_at", UTCDateTime(), nullable=False),
    # Who is working on a claimed fire, and until when; a claim whose lease ran out (its
    # instance died or stopped) is taken over by another within the grace window.
    Column("holder", String(64)),
    Column("lease_until", UTCDateTime()),
    Column("attempts", Integer, nullable=False, server_default="1"),
    # Wall-clock time, not UTC: on the autumn DST change 01:30 happens twice, and a daily
    # 01:30 schedule must still post once.
    UniqueConstraint("job", "local_time"),
    Index(None, "job", "fire_time"),  # the latest fire of each job (catch-up)
    Index(None, "status", "lease_until"),  # claims whose lease ran out (takeover)
)

# Outbound steps of a multi-step delivery (a mock round's spaces, intros, packets, notes)
# recorded once they are out, so a delivery resumed by another instance never repeats one.
deliveries = Table(
    "deliveries",
    metadata,
    Column("key", String(160), primary_key=True),
    *_scope(),
    Column("done_at", UTCDateTime(), nullable=False),
)

# One-off timed work that must survive restarts (reminders, pairing rounds, follow-ups).
timers = Table(
    "timers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    *_scope(),
    Column("key", String(160), nullable=False, unique=True),
    Column("action", String(40), nullable=False),
    Column("payload", Text, nullable=False, server_default="{}"),
    Column("due_at", UTCDateTime(), nullable=False),
    Column("done_at", UTCDateTime()),
    Index(None, "done_at", "due_at"),
)

# A workspace's retirements of shipped or custom questions; other workspaces are untouched.
retirements = Table(
    "retirements",
    metadata,
    Column("platform", String(16), primary_key=True),
    Column("workspace_id", String(64), primary_key=True),
    Column("question_id", String(80), primary_key=True),
    Column("retired_by", String(64), nullable=False),
    Column("retired_at", UTCDateTime(), nullable=False),
)

# Spaced repetition (fsrs): one card per member and question, and every review.
cards = Table(
    "cards",
    metadata,
    Column("platform", String(16), primary_key=True),
    Column("workspace_id", String(64), primary_key=True),
    Column("user_id", String(64), primary_key=True),
    Column("question_id", String(80), primary_key=True),
    Column("topic", String(40), nullable=False),
    Column("difficulty", String(8), nullable=False),
    Column("state", Integer, nullable=False),
    Column("stability", Float),
    Column("card_difficulty", Float),
    Column("due", UTCDateTime(), nullable=False),
    Column("last_review", UTCDateTime()),
    Column("reps", Integer, nullable=False, server_default="0"),
    Column("lapses", Integer, nullable=False, server_default="0"),
    Index(None, "platform", "workspace_id", "user_id", "due"),
)

review_logs = Table(
    "review_logs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    *_scope(),
    Column("user_id", String(64), nullable=False),
    Column("question_id", String(80), nullable=False),
    Column("rating", Integer, nullable=False),  # fsrs: 1 again, 2 hard, 3 good, 4 easy
    Column("source", String(16), nullable=False),  # drop, quiz, practice
    Column("reviewed_at", UTCDateTime(), nullable=False),
    Column("due_after", UTCDateTime(), nullable=False),
    Index(None, "platform", "workspace_id", "user_id"),
)

streaks = Table(
    "streaks",
    metadata,
    Column("platform", String(16), primary_key=True),
    Column("workspace_id", String(64), primary_key=True),
    Column("user_id", String(64), primary_key=True),
    Column("current", Integer, nullable=False),
    Column("best", Integer, nullable=False),
    Column("last_day", String(10), nullable=False),  # local date, ISO
    Column("freeze_week", String(10)),  # the Monday of the week whose freeze was used
)

member_settings = Table(
    "member_settings",
    metadata,
    Column("platform", String(16), primary_key=True),
    Column("workspace_id", String(64), primary_key=True),
    Column("user_id", String(64), primary_key=True),
    Column("remind_at", String(5)),  # HH:MM in the workspace's time zone, or null
)

# /away: the days a member is away (local dates, both ends counted). While away their streak
# is paused, review reminders wait and mock rounds skip them; past periods stay so a streak
# gap is judged by what was true on each day.
away_periods = Table(
    "away_periods",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    *_scope(),
    Column("user_id", String(64), nullable=False),
    Column("first_day", String(10), nullable=False),  # local date, ISO
    Column("last_day", String(10), nullable=False),  # local date, ISO: the last day away
    Column("created_at", UTCDateTime(), nullable=False),
    Index(None, "platform", "workspace_id", "user_id"),
)

# /season: a named stretch of time whose points also count in the score period
# "season:<number>" (numbers count up per workspace, so they move with it unchanged).
# ``running`` is true while it runs and null after, so the unique key allows one running
# season per workspace (nulls never clash). At the end its top 10 go to season_results.
seasons = Table(
    "seasons",
    metadata,
    Column("platform", String(16), primary_key=True),
    Column("workspace_id", String(64), primary_key=True),
    Column("number", Integer, primary_key=True),
    Column("name", String(80), nullable=False),
    Column("channel_id", String(64), nullable=False),  # where it started and is announced
    Column("last_day", String(10), nullable=False),  # local date, ISO: the last day it runs
    Column("started_at", UTCDateTime(), nullable=False),
    Column("ends_at", UTCDateTime(), nullable=False),  # midnight after last_day, or ended early
    Column("running", Boolean),
    Column("closed_at", UTCDateTime()),  # archived and announced
    UniqueConstraint("platform", "workspace_id", "running"),
    UniqueConstraint("platform", "workspace_id", "name"),
)

season_results = Table(
    "season_results",
    metadata,
    Column("platform", String(16), primary_key=True),
    Column("workspace_id", String(64), primary_key=True),
    Column("season", Integer, primary_key=True),  # seasons.number
    Column("user_id", String(64), primary_key=True),
    Column("display_name", String(200), nullable=False),  # as it was at the end
    Column("place", Integer, nullable=False),
    Column("points", Integer, nullable=False),
    Column("answered", Integer, nullable=False),
    Column("correct", Integer, nullable=False),
)

# Mock interviews: opt-in profiles, blocks, rounds, groups, check-ins, packets, feedback.
mock_profiles = Table(
    "mock_profiles",
    metadata,
    Column("platform", String(16), primary_key=True),
    Column("workspace_id", String(64), primary_key=True),
    Column("user_id", String(64), primary_key=True),
    Column("level", String(8), nullable=False),
    Column("focus", String(16), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("availability", String(300), nullable=False),  # normalised, as shown back
    Column("cadence", String(12), nullable=False),  # weekly, fortnightly
    Column("active", Boolean, nullable=False, server_default="1"),  # false after /mock leave
    Column("paused_until", String(10)),  # local date, ISO: not matched before it
    Column("skip_next", Boolean, nullable=False, server_default="0"),
    Column("missed_in_row", Integer, nullable=False, server_default="0"),
    Column("last_round", Integer),  # the last round they were put in
    Column("joined_at", UTCDateTime(), nullable=False),
)

mock_blocks = Table(
    "mock_blocks",
    metadata,
    Column("platform", String(16), primary_key=True),
    Column("workspace_id", String(64), primary_key=True),
    Column("user_id", String(64), primary_key=True),
    Column("blocked_user_id", String(64), primary_key=True),
)

mock_settings = Table(
    "mock_settings",
    metadata,
    Column("platform", String(16), primary_key=True),
    Column("workspace_id", String(64), primary_key=True),
    Column("channel_id", String(64), nullable=False),
    Column("weekday", String(3), nullable=False),  # mon … sun
    Column("time", String(5), nullable=False),  # HH:MM, workspace time zone
)

mock_rounds = Table(
    "mock_rounds",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    *_scope(),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("waiting", Integer, nullable=False, server_default="0"),  # opted in, not placed
    # A round is planned in one transaction (groups, packets) and then delivered step by
    # step; an instance that dies mid-delivery leaves done_at empty and its fire's lease
    # runs out, so another instance finishes the delivery (see the deliveries table).
    Column("fire_id", Integer, unique=True),  # the scheduled fire or /mock round claim
    Column("summary", Text),
    Column("unplaced", Text),  # JSON: [[user_id, reason], ...] to tell they wait
    Column("done_at", UTCDateTime()),
)

mock_groups = Table(
    "mock_groups",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    *_scope(),
    Column("round_id", Integer, ForeignKey("mock_rounds.id", ondelete="CASCADE"), nullable=False),
    Column("interviewer", String(64), nullable=False),
    Column("candidate", String(64), nullable=False),
    Column("observer", String(64)),
    Column("channel_id", String(128)),  # the private space
    Column("reasons", Text, nullable=False),  # JSON: the matcher's explanation
    Column("repeat", Boolean, nullable=False, server_default="0"),
)

mock_checkins = Table(
    "mock_checkins",
    metadata,
    Column("group_id", Integer, ForeignKey("mock_groups.id", ondelete="CASCADE"), primary_key=True),
    Column("platform", String(16), nullable=False),
    Column("workspace_id", String(64), nullable=False),
    Column("user_id", String(64), primary_key=True),
    Column("answer", String(8)),  # yes, no, notyet; null until answered
    Column("feedback_given", Boolean, nullable=False, server_default="0"),
)

mock_packets = Table(
    "mock_packets",
    metadata,
    Column("group_id", Integer, ForeignKey("mock_groups.id", ondelete="CASCADE"), primary_key=True),
    Column("platform", String(16), nullable=False),
    Column("workspace_id", String(64), nullable=False),
    Column("interviewer", String(64), primary_key=True),
    Column("candidate", String(64), nullable=False),
    Column("kind", String(16), nullable=False),  # technical, system-design, behavioural
    Column("question_ids", Text, nullable=False),  # JSON list
)

mock_feedback = Table(
    "mock_feedback",
    metadata,
    Column("group_id", Integer, ForeignKey("mock_groups.id", ondelete="CASCADE"), primary_key=True),
    Column("platform", String(16), nullable=False),
    Column("workspace_id", String(64), nullable=False),
    Column("user_id", String(64), primary_key=True),  # who gave it
    Column("to_user_id", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("scores", Text, nullable=False),  # JSON: dimension → 1..4
    Column("strength", Text, nullable=False),
    Column("improve", Text, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

# Inbound deliveries already handled (Slack event ids), shared by every instance so a retry
# that reaches another process, or comes after a restart, is handled once. Kept a day.
inbound_seen = Table(
    "inbound_seen",
    metadata,
    Column("platform", String(16), primary_key=True),
    Column("workspace_id", String(64), primary_key=True),
    Column("delivery_id", String(128), primary_key=True),  # Slack's event_id
    Column("seen_at", UTCDateTime(), nullable=False, index=True),
)

# Small facts kept per scope; the shipped scope (SHIPPED, SHIPPED) holds the fingerprint of
# the bank the store was synced with, so start-up skips loading the bank when it is unchanged.
store_meta = Table(
    "store_meta",
    metadata,
    Column("platform", String(16), primary_key=True),
    Column("workspace_id", String(64), primary_key=True),
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

# /plan: a member's interview date and the topics to cover by then, one plan per member.
# Until that local date /practice and a daily DM follow it, reviews in its topics aim higher
# in its last week, and mock rounds put members whose date is near first (features/plan).
plans = Table(
    "plans",
    metadata,
    Column("platform", String(16), primary_key=True),
    Column("workspace_id", String(64), primary_key=True),
    Column("user_id", String(64), primary_key=True),
    Column("interview_day", String(10), nullable=False),  # local date, ISO
    Column("topics", Text, nullable=False),  # JSON list of topic ids, in the order given
    Column("remind_at", String(5)),  # HH:MM (workspace time zone) of the daily DM; null: none
    Column("created_at", UTCDateTime(), nullable=False),
)
