"""An interview plan as data, and the rules other features ask of it.

features/practice.py asks ``picks`` for the order /practice asks in and ``scheduler_for`` for
the desired retention of a review; features/mocks/rounds.py asks ``interviews_soon``. This
module imports no feature, so those imports make no circle. docs/decisions/0009 explains the
numbers below.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import fsrs
from sqlalchemy import ColumnElement, RowMapping, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.chat import MemberRef
from bot.context import workspace_tz
from bot.store import sql
from bot.store.schema import away_periods, cards, plans, questions, review_logs

FINAL_WEEK = 7  # days before the interview day from which reviews in its topics aim higher
CRAM_DAYS = 3  # the 72 hours before the interview day, and the day itself: the cram
SOON = 14  # days: a member whose interview is this close goes first in mock rounds
FINAL_RETENTION = 0.95  # fsrs desired retention in the final week (0.9 otherwise)
CRAM_TARGET = 0.95  # the cram brings back cards whose recall on the day is predicted below this
CRAM_GAP = timedelta(hours=4)  # but none reviewed this recently: never twice in one sitting
INTERVIEW_HOUR = 12  # recall "on the day" is predicted for midday, local time

Reach = Sequence[ColumnElement[bool]]  # which questions the member can be asked (practice)


@dataclass(frozen=True)
class Plan:
    """One member's plan: the interview's local date, the topics in the order given, and
    the time of the daily DM (None: no DM)."""

    member: MemberRef
    day: date
    topics: tuple[str, ...]
    remind_at: str | None
    tz: ZoneInfo

    def today(self, now: datetime) -> date:
        return now.astimezone(self.tz).date()

    def days_left(self, today: date) -> int:
        return (self.day - today).days

    def over(self, today: date) -> bool:
        return today > self.day

    def final_week(self, today: date) -> bool:
        return 0 <= self.days_left(today) <= FINAL_WEEK

    def cramming(self, today: date) -> bool:
        return 0 <= self.days_left(today) <= CRAM_DAYS

    @property
    def final_week_starts(self) -> date:
        return self.day - timedelta(days=FINAL_WEEK)

    @property
    def cram_starts(self) -> date:
        return self.day - timedelta(days=CRAM_DAYS)

    @property
    def interview_at(self) -> datetime:
        """The moment recall is predicted for: midday on the day, in UTC."""
        return datetime.combine(self.day, time(INTERVIEW_HOUR), tzinfo=self.tz).astimezone(UTC)

    def retention(self, topic: str, when: datetime, usual: float) -> float:
        """The desired retention of a review of a card on ``topic`` made at ``when``."""
        if topic in self.topics and self.final_week(self.today(when)):
            return max(usual, FINAL_RETENTION)
        return usual


# ---- reading ------------------------------------------------------------------------------


async def load(conn: AsyncConnection, member: MemberRef) -> Plan | None:
    """The member's plan, even one whose date has passed."""
    row = await sql.member_row(plans).first(conn, sql.member_params(member))
    if row is None:
        return None
    return Plan(
        member=member,
        day=date.fromisoformat(row["interview_day"]),
        topics=tuple(json.loads(row["topics"])),
        remind_at=row["remind_at"],
        tz=await workspace_tz(conn, member.platform, member.workspace_id),
    )


async def current(conn: AsyncConnection, member: MemberRef, now: datetime) -> Plan | None:
    """The member's plan while it runs: until the end of the interview day."""
    plan = await load(conn, member)
    return None if plan is None or plan.over(plan.today(now)) else plan


async def sends_daily(conn: AsyncConnection, member: MemberRef, now: datetime) -> bool:
    """Whether the plan's daily DM (which counts due reviews too) is on for the member."""
    plan = await current(conn, member, now)
    return plan is not None and plan.remind_at is not None


async def interviews_soon(
    conn: AsyncConnection, platform: str, workspace_id: str, today: date
) -> set[str]:
    """The workspace's members whose interview is within SOON days of ``today`` (local)."""
    found = await conn.scalars(
        select(plans.c.user_id).where(
            plans.c.platform == platform,
            plans.c.workspace_id == workspace_id,
            plans.c.interview_day >= today.isoformat(),
            plans.c.interview_day <= (today + timedelta(days=SOON)).isoformat(),
        )
    )
    return set(found.all())


# ---- reviews ------------------------------------------------------------------------------


def _aiming(base: fsrs.Scheduler, retention: float) -> fsrs.Scheduler:
    if retention == base.desired_retention:
        return base
    return fsrs.Scheduler.from_dict({**base.to_dict(), "desired_retention": retention})


async def scheduler_for(
    conn: AsyncConnection, member: MemberRef, topic: str, base: fsrs.Scheduler
) -> Callable[[datetime], fsrs.Scheduler]:
    """The scheduler for a review, made at a given time, of the member's card on ``topic``:
    ``base``, or ``base`` aiming for FINAL_RETENTION in the last week of a plan covering
    the topic. A function of the time, so a replay (``practice.rerate``) gives each past
    review the retention it was made with."""
    plan = await load(conn, member)

    def at(when: datetime) -> fsrs.Scheduler:
        if plan is None:
            return base
        return _aiming(base, plan.retention(topic, when, base.desired_retention))

    return at


def recall(row: Mapping[Any, Any], when: datetime, base: fsrs.Scheduler) -> float:
    """The predicted chance of recalling a stored card at ``when``."""
    card = fsrs.Card(
        card_id=0,
        state=fsrs.State(int(row["state"])),
        stability=row["stability"],
        difficulty=row["card_difficulty"],
        due=row["due"],
        last_review=row["last_review"],
    )
    value: float = base.get_card_retrievability(card, when)
    return value


# ---- where the member stands --------------------------------------------------------------


@dataclass(frozen=True)
class Topic:
    """One of the plan's topics today. ``total`` counts the multiple-choice questions the
    member can be asked (what the plan covers); ``due`` counts every due card on the topic;
    ``mastery`` is the mean predicted recall on the day over ``total`` (unseen: 0)."""

    name: str
    total: int
    seen: int
    due: int
    mastery: float


@dataclass(frozen=True)
class Standing:
    """The plan's topics today, and what /practice and the daily DM do with them."""

    topics: tuple[Topic, ...]
    due_ids: tuple[str, ...]  # due cards in the plan's topics, most overdue first
    unseen: dict[str, list[str]]  # topic → multiple-choice questions never seen, sorted
    new_today: int  # the topics' questions first seen today
    new_target: int  # today's share of new questions (first seen today included)
    weakest: tuple[str, ...]  # in the cram: cards to bring back early, weakest first

    @property
    def new_left(self) -> int:
        return max(0, self.new_target - self.new_today)

    @property
    def unseen_count(self) -> int:
        return sum(len(ids) for ids in self.unseen.values())


def new_days(plan: Plan, today: date, away: set[date]) -> int:
    """The days left for first sightings: today through the day before the cram, less the
    days away; at least one (in the cram, whatever is unseen is due today)."""
    last = plan.cram_starts - timedelta(days=1)
    days = (today + timedelta(days=n) for n in range((last - today).days + 1))
    return max(1, sum(1 for day in days if day not in away))


def daily_new(unseen_at_start: int, days: int) -> int:
    """Today's share of new questions: the unseen spread evenly over the days left."""
    return math.ceil(unseen_at_start / max(1, days))


async def _away(conn: AsyncConnection, plan: Plan, today: date) -> set[date]:
    """The member's days away from today to the interview day."""
    rows = await conn.execute(
        select(away_periods.c.first_day, away_periods.c.last_day).where(
            *sql.of_member(away_periods, plan.member),
            away_periods.c.last_day >= today.isoformat(),
            away_periods.c.first_day <= plan.day.isoformat(),
        )
    )
    days: set[date] = set()
    for first, last in rows.all():
        start, end = max(date.fromisoformat(first), today), date.fromisoformat(last)
        days.update(start + timedelta(days=n) for n in range((end - start).days + 1))
    return days


async def _first_seen_since(conn: AsyncConnection, member: MemberRef, since: datetime) -> set[str]:
    """The questions whose first review by the member was at or after ``since``."""
    found = await conn.scalars(
        select(review_logs.c.question_id)
        .where(*sql.of_member(review_logs, member))
        .group_by(review_logs.c.question_id)
        .having(func.min(review_logs.c.reviewed_at) >= since)
    )
    return set(found.all())


def _local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


async def standing(
    conn: AsyncConnection, plan: Plan, now: datetime, reach: Reach, base: fsrs.Scheduler
) -> Standing:
    """Where the member stands on the plan's topics now."""
    today = plan.today(now)
    in_reach = await conn.execute(
        select(questions.c.id, questions.c.topic).where(*reach, questions.c.topic.in_(plan.topics))
    )
    by_topic: dict[str, set[str]] = {topic: set() for topic in plan.topics}
    for question_id, topic in in_reach.all():
        by_topic[topic].add(question_id)
    rows = (
        (
            await conn.execute(
                select(cards).where(
                    *sql.of_member(cards, plan.member), cards.c.topic.in_(plan.topics)
                )
            )
        )
        .mappings()
        .all()
    )
    cutoff = _local_midnight(today + timedelta(days=1), plan.tz)
    first_today = await _first_seen_since(conn, plan.member, _local_midnight(today, plan.tz))
    new_today = sum(len(ids & first_today) for ids in by_topic.values())
    unseen = {
        topic: sorted(ids.difference(row["question_id"] for row in rows))
        for topic, ids in by_topic.items()
    }
    days = new_days(plan, today, await _away(conn, plan, today))
    unseen_at_start = sum(len(ids) for ids in unseen.values()) + new_today
    return Standing(
        topics=_topics(plan, by_topic, rows, cutoff=cutoff, base=base, now=now),
        due_ids=tuple(
            row["question_id"]
            for row in sorted(rows, key=lambda r: (r["due"], r["question_id"]))
            if row["due"] < cutoff
        ),
        unseen=unseen,
        new_today=new_today,
        new_target=daily_new(unseen_at_start, days),
        weakest=_weakest(plan, rows, now=now, cutoff=cutoff, base=base),
    )


def _topics(
    plan: Plan,
    by_topic: dict[str, set[str]],
    rows: Sequence[RowMapping],
    *,
    cutoff: datetime,
    base: fsrs.Scheduler,
    now: datetime,
) -> tuple[Topic, ...]:
    moment = max(now, plan.interview_at)
    out = []
    for name in plan.topics:
        ids = by_topic[name]
        mine = [row for row in rows if row["topic"] == name]
        seen = [row for row in mine if row["question_id"] in ids]
        ready = sum(recall(row, moment, base) for row in seen)
        out.append(
            Topic(
                name=name,
                total=len(ids),
                seen=len(seen),
                due=sum(1 for row in mine if row["due"] < cutoff),
                mastery=ready / len(ids) if ids else 0.0,
            )
        )
    return tuple(out)


def _weakest(
    plan: Plan,
    rows: Sequence[RowMapping],
    *,
    now: datetime,
    cutoff: datetime,
    base: fsrs.Scheduler,
) -> tuple[str, ...]:
    """In the cram: cards not due yet whose recall on the day is predicted below
    CRAM_TARGET, weakest first, leaving out any reviewed within CRAM_GAP."""
    if not plan.cramming(plan.today(now)):
        return ()
    moment = max(now, plan.interview_at)
    weak = [
        (recall(row, moment, base), row["question_id"])
        for row in rows
        if row["due"] >= cutoff
        and row["last_review"] is not None
        and row["last_review"] <= now - CRAM_GAP
    ]
    return tuple(question_id for value, question_id in sorted(weak) if value < CRAM_TARGET)


# ---- what /practice asks ------------------------------------------------------------------


@dataclass(frozen=True)
class Picks:
    """Question ids /practice tries before (``first``) and after (``then``) the member's
    other due cards; after both it asks any unseen question, as without a plan."""

    first: tuple[str, ...] = ()
    then: tuple[str, ...] = ()


def next_new(standing: Standing, rng: random.Random) -> str | None:
    """An unseen question from the topic least seen so far (by share; the first given on a
    tie), so every topic is finished by the same day."""
    open_ = [t for t in standing.topics if standing.unseen.get(t.name)]
    if not open_:
        return None
    topic = min(open_, key=lambda t: t.seen / t.total)
    return rng.choice(standing.unseen[topic.name])


async def picks(
    conn: AsyncConnection,
    member: MemberRef,
    *,
    now: datetime,
    reach: Reach,
    base: fsrs.Scheduler,
    rng: random.Random,
    due_only: bool,
) -> Picks:
    """The plan's order for /practice (``due_only``: /review): its topics' due cards, then
    a new question while today's share is not done; after the other due cards, a new one
    ahead of plan, then in the cram the weakest cards even though not due."""
    plan = await current(conn, member, now)
    if plan is None:
        return Picks()
    found = await standing(conn, plan, now, reach, base)
    if due_only:
        return Picks(first=found.due_ids)
    new = next_new(found, rng)
    fresh = () if new is None else (new,)
    if found.new_left > 0:
        return Picks(first=found.due_ids + fresh, then=found.weakest)
    return Picks(first=found.due_ids, then=fresh + found.weakest)
