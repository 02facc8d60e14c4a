"""Personal practice with spaced repetition (fsrs): one card per member and question.

Every multiple-choice answer (channel drop, /quiz, /practice) reviews the member's card:
wrong → Again, right → Good, right within FAST of being shown → Easy; when the member then
says how sure they were (features/confidence.py), that review is re-rated. An open answer is
reviewed when its author ticks the key points it covered (features/selfrate.py), so open
questions have cards too. Intervals are whole days (no intra-day learning steps). /practice
asks due cards first (multiple-choice or open), then unseen multiple-choice questions, and
never a seen question before it is due.

An interview plan (features/plan) changes two things here, through its ``state`` module: the
order ``choose`` asks in (its topics first, and in its last 72 hours a weak card before it is
due), and the desired retention of a review of a card on its topics in its last week.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import fsrs
from sqlalchemy import ColumnElement, Select, and_, bindparam, delete, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot import bank
from bot.chat import Action, Button, Card, MemberRef, Reply, Style, Tone, plural
from bot.context import Context, workspace_tz
from bot.features import drops as drops_feature
from bot.features.plan import state as plan_state
from bot.handlers import (
    UNKNOWN_BUTTON,
    CommandError,
    CommandSpec,
    Feature,
    Invocation,
    Option,
)
from bot.options import DIFFICULTY, TOPIC
from bot.store import sql
from bot.store.prepared import Prepared
from bot.store.schema import (
    SHIPPED,
    away_periods,
    cards,
    member_settings,
    questions,
    retirements,
    review_logs,
)
from bot.timespec import SpecError, parse_spec
from questions.schema import TOPICS, Item, OpenItem

FAST = timedelta(seconds=20)  # a right answer this quick counts as Easy
# Whole-day intervals; fuzzing off so a member's schedule is predictable and testable.
SCHEDULER = fsrs.Scheduler(learning_steps=(), relearning_steps=(), enable_fuzzing=False)
REMIND_ACTION = "practice-reminder"


def rating(*, correct: bool, fast: bool) -> fsrs.Rating:
    """Today's rule, used when the answer is saved; ``confidence.rating`` takes over when
    the member says how sure they were (and ``rerate`` rewrites the review)."""
    if not correct:
        return fsrs.Rating.Again
    return fsrs.Rating.Easy if fast else fsrs.Rating.Good


def _key(member: MemberRef, question_id: str) -> dict[str, str]:
    return {
        "platform": member.platform,
        "workspace_id": member.workspace_id,
        "user_id": member.user_id,
        "question_id": question_id,
    }


# fsrs makes a unique card id from the clock and sleeps 1 ms to keep it unique; the store keys
# cards by member and question, so every card gets the same unused id and nobody waits.
NO_ID = 0


_CARD = Prepared(
    select(cards).where(*sql.by_member(cards), cards.c.question_id == bindparam("question"))
)
_LOG_REVIEW = Prepared(review_logs.insert())


async def _load_card(conn: AsyncConnection, member: MemberRef, question_id: str) -> fsrs.Card:
    """The member's fsrs card for a question; a new card if never reviewed."""
    params = {**sql.member_params(member), "question": question_id}
    row = await _CARD.first(conn, params)
    if row is None:
        return fsrs.Card(card_id=NO_ID)
    return fsrs.Card(
        card_id=NO_ID,
        state=fsrs.State(row["state"]),
        stability=row["stability"],
        difficulty=row["card_difficulty"],
        due=row["due"],
        last_review=row["last_review"],
    )


async def review(
    conn: AsyncConnection,
    *,
    member: MemberRef,
    item: Item,
    correct: bool,
    fast: bool,
    now: datetime,
    source: str,
    rated: fsrs.Rating | None = None,
) -> datetime:
    """Review the member's card for this question; return when it is next due. ``rated``,
    when given, is the rating itself (an open answer's key-point coverage); otherwise
    today's rule makes it from ``correct`` and ``fast``."""
    key = _key(member, item.id)
    card = await _load_card(conn, member, item.id)
    given = rating(correct=correct, fast=fast) if rated is None else rated
    scheduler = await plan_state.scheduler_for(conn, member, item.topic, SCHEDULER)
    card, _log = scheduler(now).review_card(card, given, now)
    await sql.upsert(
        conn,
        cards,
        {
            **key,
            "topic": item.topic,
            "difficulty": item.difficulty,
            "state": int(card.state),
            "stability": card.stability,
            "card_difficulty": card.difficulty,
            "due": card.due,
            "last_review": now,
            "reps": 1,
            "lapses": 0 if correct else 1,
        },
        keys=tuple(key),
        update=("state", "stability", "card_difficulty", "due", "last_review"),
        add=("reps", "lapses"),
    )
    await _LOG_REVIEW.write(
        conn,
        {
            **key,
            "rating": int(given),
            "source": source,
            "reviewed_at": now,
            "due_after": card.due,
        },
    )
    due: datetime = card.due
    return due


async def rerate(
    conn: AsyncConnection,
    *,
    member: MemberRef,
    question_id: str,
    reviewed_at: datetime,
    given: fsrs.Rating,
) -> datetime | None:
    """Give the review made at ``reviewed_at`` the rating ``given`` instead; return when the
    card is next due, or None if that review cannot be found.

    fsrs cannot undo a review, so the member's reviews of this question are replayed from a
    new card (fuzzing is off, so the replay is exact), with this one's rating changed; a
    later review of the same question is replayed on top, so nothing after it is lost. The
    card and every log's ``due_after`` are rewritten from the replay. If the card's count
    of reviews disagrees with its logs (a history that cannot be replayed), nothing changes.
    """
    key = _key(member, question_id)
    logs = (
        await conn.execute(
            select(review_logs.c.id, review_logs.c.rating, review_logs.c.reviewed_at)
            .where(*sql.of_member(review_logs, member), review_logs.c.question_id == question_id)
            .order_by(review_logs.c.id)
        )
    ).all()
    target = next((log.id for log in reversed(logs) if log.reviewed_at == reviewed_at), None)
    stored = (
        await conn.execute(
            select(cards.c.reps, cards.c.topic).where(*(cards.c[k] == v for k, v in key.items()))
        )
    ).first()
    if target is None or stored is None or stored.reps != len(logs):
        return None
    scheduler = await plan_state.scheduler_for(conn, member, stored.topic, SCHEDULER)
    card = fsrs.Card(card_id=NO_ID)
    for log in logs:
        rated = given if log.id == target else fsrs.Rating(log.rating)
        card, _log = scheduler(log.reviewed_at).review_card(card, rated, log.reviewed_at)
        await conn.execute(
            review_logs.update()
            .where(review_logs.c.id == log.id)
            .values(rating=int(rated), due_after=card.due)
        )
    await conn.execute(
        cards.update()
        .where(*(cards.c[k] == v for k, v in key.items()))
        .values(
            state=int(card.state),
            stability=card.stability,
            card_difficulty=card.difficulty,
            due=card.due,
        )
    )
    due: datetime = card.due
    return due


def retrievability(row: Mapping[Any, Any], now: datetime) -> float:
    """The chance of recalling a stored card at ``now``, under the usual scheduler."""
    return plan_state.recall(row, now, SCHEDULER)


def _mine(member: MemberRef) -> list[ColumnElement[bool]]:
    return sql.of_member(cards, member)


async def due_cutoff(conn: AsyncConnection, member: MemberRef, now: datetime) -> datetime:
    """Intervals are whole days, so a card is due all through its local due date."""
    tz = await workspace_tz(conn, member.platform, member.workspace_id)
    tomorrow = now.astimezone(tz).date() + timedelta(days=1)
    return datetime.combine(tomorrow, time(0), tzinfo=tz).astimezone(now.tzinfo)


_DUE_COUNT = Prepared(
    select(func.count()).where(*sql.by_member(cards), cards.c.due < bindparam("cutoff"))
)


async def due_count(conn: AsyncConnection, member: MemberRef, now: datetime) -> int:
    cutoff = await due_cutoff(conn, member, now)
    params = {**sql.member_params(member), "cutoff": cutoff}
    return int(await _DUE_COUNT.scalar(conn, params) or 0)


async def next_due(
    conn: AsyncConnection, member: MemberRef, filters: bank.Filters | None = None
) -> datetime | None:
    """When the member's next review is due, among the cards the filters let through."""
    query = select(func.min(cards.c.due)).where(*_mine(member))
    if filters is not None and filters.topic:
        query = query.where(cards.c.topic == filters.topic)
    if filters is not None and filters.difficulty:
        query = query.where(cards.c.difficulty == filters.difficulty)
    due: datetime | None = await conn.scalar(query)
    return due


def _in_reach(member: MemberRef) -> list[ColumnElement[bool]]:
    """Multiple-choice questions the member can be asked: the shipped bank and their
    workspace's own, less those the workspace retired."""
    return _reach(member.platform, member.workspace_id)


def _reach(platform: Any, workspace_id: Any) -> list[ColumnElement[bool]]:
    """``_in_reach`` for a workspace given as values or as bound parameters."""
    retired = select(retirements.c.question_id).where(
        retirements.c.platform == platform,
        retirements.c.workspace_id == workspace_id,
        retirements.c.question_id == questions.c.id,
    )
    return [
        (questions.c.platform == SHIPPED) & (questions.c.workspace_id == SHIPPED)
        | and_(questions.c.platform == platform, questions.c.workspace_id == workspace_id),
        questions.c.kind == "choice",
        ~retired.exists(),
    ]


# Built once: /stats and /practice ask it on every call (``sql.workspace_params``).
_TOPICS_IN_REACH = Prepared(
    select(questions.c.topic)
    .where(*_reach(bindparam("m_platform"), bindparam("m_workspace")))
    .distinct()
)


async def practisable_topics(conn: AsyncConnection, member: MemberRef) -> list[str]:
    """The topics /practice can ask from here: those with a multiple-choice question (a
    behavioural topic has none), in the bank's order."""
    params = sql.workspace_params(member.platform, member.workspace_id)
    found = set(await _TOPICS_IN_REACH.scalars(conn, params))
    return [t for t in TOPICS if t in found] + sorted(found.difference(TOPICS))


def _missed_last_time() -> Select[Any]:
    last = (
        select(func.max(review_logs.c.id).label("id"))
        .where(*sql.by_member(review_logs))
        .group_by(review_logs.c.question_id)
        .subquery()
    )
    return select(review_logs.c.question_id).where(
        review_logs.c.id.in_(select(last.c.id)), review_logs.c.rating == int(fsrs.Rating.Again)
    )


_MISSED_LAST_TIME = Prepared(_missed_last_time())


async def missed_last_time(conn: AsyncConnection, member: MemberRef) -> set[str]:
    """The questions the member got wrong the last time they answered them (rated Again)."""
    return set(await _MISSED_LAST_TIME.scalars(conn, sql.member_params(member)))


async def choose(
    ctx: Context,
    conn: AsyncConnection,
    *,
    member: MemberRef,
    filters: bank.Filters,
    due_only: bool = False,
) -> Item | None:
    """Due cards first (most overdue first); then a question never seen; never a seen one
    before it is due. Unfiltered, a running interview plan comes first (``plan_state.picks``:
    its topics' due cards and today's new questions before the other due cards; new ones
    ahead of plan, and in its cram weak cards not yet due, after them)."""
    now = ctx.clock.now()
    cutoff = await due_cutoff(conn, member, now)
    planned = plan_state.Picks()
    if not (filters.topic or filters.difficulty):
        planned = await plan_state.picks(
            conn,
            member,
            now=now,
            reach=_in_reach(member),
            base=SCHEDULER,
            rng=ctx.rng,
            due_only=due_only,
        )
    query = select(cards.c.question_id).where(*_mine(member), cards.c.due < cutoff)
    if filters.topic:
        query = query.where(cards.c.topic == filters.topic)
    if filters.difficulty:
        query = query.where(cards.c.difficulty == filters.difficulty)
    due = (await conn.scalars(query.order_by(cards.c.due, cards.c.question_id))).all()
    for question_id in (*planned.first, *due, *planned.then):
        item = await bank.get(
            conn,
            platform=member.platform,
            workspace_id=member.workspace_id,
            question_id=question_id,
        )
        if item is not None:
            return item
    if due_only:
        return None
    seen = select(cards.c.question_id).where(
        *_mine(member),
        cards.c.question_id == questions.c.id,
    )
    unseen = select(questions.c.id).where(*_in_reach(member), ~seen.exists())
    if filters.topic:
        unseen = unseen.where(questions.c.topic == filters.topic)
    if filters.difficulty:
        unseen = unseen.where(questions.c.difficulty == filters.difficulty)
    ids = sorted((await conn.scalars(unseen)).all())
    if not ids:
        return None
    return await bank.get(
        conn,
        platform=member.platform,
        workspace_id=member.workspace_id,
        question_id=ctx.rng.choice(ids),
    )


async def _nothing_new(conn: AsyncConnection, member: MemberRef, filters: bank.Filters) -> str:
    """Why /practice has no new question to ask, said as it is: no multiple-choice question
    matches at all, or the member has seen every one that does."""
    scope = " ".join(
        part
        for part in (
            filters.difficulty,
            drops_feature.topic_name(filters.topic) if filters.topic else "",
        )
        if part
    )
    query = select(func.count()).where(*_in_reach(member))
    if filters.topic:
        query = query.where(questions.c.topic == filters.topic)
    if filters.difficulty:
        query = query.where(questions.c.difficulty == filters.difficulty)
    if not await conn.scalar(query):
        return (
            f"There are no {scope} multiple-choice questions, and /practice asks only those."
            if scope
            else "There are no multiple-choice questions yet, and /practice asks only those."
        ) + (f" `/quiz topic:{filters.topic}` asks from the rest." if filters.topic else "")
    among = f"{scope} multiple-choice question" if scope else "multiple-choice question"
    return f"You have seen every {among}, and none is due for review yet."


def _filters(inv: Invocation) -> bank.Filters:
    return bank.Filters(topic=inv.get("topic"), difficulty=inv.get("difficulty"), kind="choice")


async def _ask(ctx: Context, inv: Invocation, *, due_only: bool, intro: str = "") -> Reply:
    member = inv.member.ref
    filters = _filters(inv)
    async with ctx.engine.begin() as conn:
        item = await choose(ctx, conn, member=member, filters=filters, due_only=due_only)
        if item is None:
            upcoming = await next_due(conn, member, filters)
            tz = await workspace_tz(conn, member.platform, member.workspace_id)
            what = "" if due_only else await _nothing_new(conn, member, filters)
        else:
            drop_id, order = await drops_feature.insert_private(
                ctx, conn, place=inv.place, item=item, member=member, source="practice"
            )
    if item is None:
        return Reply.text(
            (what or "Nothing is due for review.")
            + (
                f" Your next review is due {upcoming.astimezone(tz):%a %d %b %H:%M}."
                if upcoming
                else ""
            )
            + " Try `/quiz` for any question meanwhile."
        )
    card = _question_card(drop_id, item, order)
    if intro:
        card = Card(
            card.title,
            intro + "\n\n" + card.body,
            card.fields,
            card.buttons,
            card.footer,
            card.tone,
        )
    return Reply(card=card, private=True)


RATE_PREFIX = "rate"  # an open question's answer and self-rating: features/selfrate.py handles it


def open_answer_id(drop_id: int) -> str:
    """The "Answer" button, and its form, of an open question /practice asks again: the
    answer is saved like any open answer, then features/selfrate.py asks which key points it
    covered, which reviews the card."""
    return f"{RATE_PREFIX}:{drop_id}:answer"


def _question_card(drop_id: int, item: Item, order: drops_feature.Order) -> Card:
    card = drops_feature.question_card(drop_id, item, order=order, personal=True)
    if not isinstance(item, OpenItem):
        return card
    return replace(
        card,
        buttons=(Button("Answer", open_answer_id(drop_id), Style.PRIMARY),),
        footer="Write your answer, then tick the key points it covered: the share you "
        "covered decides when this question comes back.",
    )


async def practice_command(ctx: Context, inv: Invocation) -> Reply:
    return await _ask(ctx, inv, due_only=False)


async def review_command(ctx: Context, inv: Invocation) -> Reply:
    member = inv.member.ref
    async with ctx.engine.connect() as conn:
        count = await due_count(conn, member, ctx.clock.now())
    if count == 0:
        return await _ask(ctx, inv, due_only=True)
    return await _ask(
        ctx, inv, due_only=True, intro=f"**{plural(count, 'review')} due.** Here is the first:"
    )


PREFIX = "practice"
NEXT = f"{PREFIX}:next"


def next_button() -> Button:
    return Button("Next question", NEXT, Style.SECONDARY)


async def on_action(ctx: Context, action: Action) -> Reply:
    """The "Next question" button under practice feedback: /practice with no filters."""
    if action.action_id != NEXT:
        return Reply.error(UNKNOWN_BUTTON)
    return await _ask(ctx, Invocation(action.member, action.place, PRACTICE, {}), due_only=False)


# ---- reminders ------------------------------------------------------------------------


def _remind_key(member: MemberRef) -> str:
    return f"remind:{member.platform}:{member.workspace_id}:{member.user_id}"


def _next_at(hhmm: str, now: datetime, tz: ZoneInfo) -> datetime:
    hour, minute = (int(x) for x in hhmm.split(":"))
    local = now.astimezone(tz)
    candidate = datetime.combine(local.date(), time(hour, minute), tzinfo=tz)
    if candidate <= local:
        candidate = datetime.combine(
            local.date() + timedelta(days=1), time(hour, minute), tzinfo=tz
        )
    return candidate.astimezone(now.tzinfo)


async def remind_command(ctx: Context, inv: Invocation) -> Reply:
    member = inv.member.ref
    text = str(inv.options["when"]).strip().lower()
    if text == "off":
        async with ctx.engine.begin() as conn:
            await conn.execute(
                delete(member_settings).where(
                    *(
                        member_settings.c[k] == v
                        for k, v in _key(member, "").items()
                        if k != "question_id"
                    )
                )
            )
        await ctx.jobs.cancel(_remind_key(member))
        return Reply.text("Daily review reminders are off.")
    try:
        spec = parse_spec(f"daily {text}")
    except SpecError as exc:
        raise CommandError(f"{exc} Or `/remind off`.") from None
    hhmm = spec.text.split()[1]
    async with ctx.engine.begin() as conn:
        await sql.upsert(
            conn,
            member_settings,
            {
                "platform": member.platform,
                "workspace_id": member.workspace_id,
                "user_id": member.user_id,
                "remind_at": hhmm,
            },
            keys=("platform", "workspace_id", "user_id"),
            update=("remind_at",),
        )
        tz = await workspace_tz(conn, member.platform, member.workspace_id)
    when = _next_at(hhmm, ctx.clock.now(), tz)
    await plan_reminder(ctx, member, when)
    return Reply.text(
        f"I'll message you at {hhmm} ({tz.key}) on days when reviews are due. "
        "`/remind off` stops it.",
        tone=Tone.GOOD,
    )


async def plan_reminder(ctx: Context, member: MemberRef, when: datetime) -> None:
    """The member's daily review reminder, next due at ``when`` (one timer per member, so
    planning it again moves it)."""
    await ctx.jobs.schedule_at(
        key=_remind_key(member),
        when=when,
        action=REMIND_ACTION,
        payload={
            "platform": member.platform,
            "workspace_id": member.workspace_id,
            "user_id": member.user_id,
        },
        platform=member.platform,
        workspace_id=member.workspace_id,
    )


async def send_reminder(ctx: Context, payload: Mapping[str, object]) -> None:
    """The daily reminder: a DM only when something is due, then tomorrow's timer."""
    member = MemberRef(
        str(payload["platform"]), str(payload["workspace_id"]), str(payload["user_id"])
    )
    now = ctx.clock.now()
    async with ctx.engine.connect() as conn:
        hhmm = await conn.scalar(
            select(member_settings.c.remind_at).where(
                member_settings.c.platform == member.platform,
                member_settings.c.workspace_id == member.workspace_id,
                member_settings.c.user_id == member.user_id,
            )
        )
        count = await due_count(conn, member, now)
        tz = await workspace_tz(conn, member.platform, member.workspace_id)
        today = now.astimezone(tz).date().isoformat()
        away = await conn.scalar(  # /away: no reminders until they are back
            select(away_periods.c.id).where(
                *sql.of_member(away_periods, member),
                away_periods.c.first_day <= today,
                away_periods.c.last_day >= today,
            )
        )
        planned = await plan_state.sends_daily(conn, member, now)  # its DM counts reviews
    if hhmm is None:
        return  # turned off meanwhile
    if count and away is None and not planned:
        await ctx.platform.dm(
            member,
            Card(
                title="Time for a review",
                body=f"{plural(count, 'question')} {'is' if count == 1 else 'are'} due. "
                "Run `/review` to go through them: the ones "
                "you missed come back until they stick.",
                footer="/remind off stops these messages.",
                tone=Tone.INFO,
            ),
        )
    await plan_reminder(ctx, member, _next_at(hhmm, now + timedelta(minutes=1), tz))


PRACTICE = CommandSpec(
    "practice",
    "A private question: due reviews first, then new ones",
    practice_command,
    (TOPIC, DIFFICULTY),
    example="/practice statistics medium",
)

FEATURE = Feature(
    "practice",
    commands=(
        PRACTICE,
        CommandSpec(
            "review",
            "How many reviews are due, and the first of them",
            review_command,
            (TOPIC, DIFFICULTY),
            example="/review statistics",
        ),
        CommandSpec(
            "remind",
            "A daily DM when reviews are due: /remind 19:00, or /remind off",
            remind_command,
            (Option("when", "HH:MM in the workspace's time zone, or off", required=True),),
            example="/remind 19:00",
        ),
    ),
    actions={PREFIX: on_action},
    timers={REMIND_ACTION: send_reminder},
)
