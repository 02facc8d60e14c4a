"""Answering drops: a button press for multiple choice, a form for an open answer.

The first answer counts and is acknowledged privately; points, the streak and the review
card are stored in the same transaction as the answer.
"""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

import fsrs
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot import metrics, review, scoring
from bot.chat import Action, Card, Form, FormField, FormSubmit, MemberRef, Reply, Tone, plural
from bot.context import Context, workspace_tz
from bot.features import confidence, hints, practice, progress
from bot.features import drops as drops_feature
from bot.features.drops import (
    ANSWER_PREFIX,
    OPEN,
    Drop,
    letter,
    model_answer_card,
    option_fields,
)
from bot.handlers import UNKNOWN_BUTTON, UNKNOWN_FORM, Feature
from bot.store import sql
from bot.store.schema import answers
from questions.schema import ChoiceItem, OpenItem

log = logging.getLogger(__name__)

MIN_OPEN_ANSWER = 20
MAX_OPEN_ANSWER = 1500


def _closed(drop: Drop) -> Reply:
    return Reply.text(
        f"Drop #{drop.id} has been revealed, so answers are closed. "
        "Try `/quiz` for a question of your own."
    )


async def _existing(conn: AsyncConnection, drop: Drop, user_id: str) -> Reply | None:
    row = (
        await conn.execute(
            select(answers.c.option_index).where(
                answers.c.drop_id == drop.id, answers.c.user_id == user_id
            )
        )
    ).first()
    if row is None:
        return None
    said = f" ({letter(drop.order, row[0])})" if row[0] is not None else ""
    return Reply.text(
        f"You already answered this one{said}. The first answer counts; "
        "see how everyone did at the reveal."
    )


async def on_action(ctx: Context, action: Action) -> Reply:
    parsed = drops_feature.parse_answer_id(action.action_id)
    if parsed is None:
        return Reply.error(UNKNOWN_BUTTON)
    drop_id, choice = parsed
    member = action.member.ref
    if choice == "open":
        async with ctx.engine.connect() as conn:
            drop = await drops_feature.load(conn, drop_id)
            refusal = await _refusal(conn, drop, member)
        if refusal:
            return refusal
        return Reply(form=answer_form(drop_id))
    assert isinstance(choice, int)
    return await _record_choice(ctx, drop_id=drop_id, option=choice, member=member)


def answer_form(drop_id: int) -> Form:
    return Form(
        form_id=drops_feature.answer_id(drop_id, OPEN),
        title="Your answer",
        fields=(
            FormField(
                "answer",
                "Your answer",
                min_length=MIN_OPEN_ANSWER,
                max_length=MAX_OPEN_ANSWER,
                placeholder="Answer as you would in an interview: the idea, then why.",
            ),
        ),
    )


async def _refusal(conn: AsyncConnection, drop: Drop | None, member: MemberRef) -> Reply | None:
    """Why this member may not answer this drop now, or None if they may."""
    if refused := _closed_to(drop, member):
        return refused
    assert drop is not None
    return await _existing(conn, drop, member.user_id)


def _closed_to(drop: Drop | None, member: MemberRef) -> Reply | None:
    """Why this member may not answer this drop at all now (not counting an answer of
    theirs already in: a press finds that out from its insert, with no query first)."""
    if refused := drops_feature.not_for(drop, member):
        return refused
    assert drop is not None
    if not drop.is_open:
        return _closed(drop)
    return None


async def _choice_points(
    conn: AsyncConnection,
    drop: Drop,
    member: MemberRef,
    *,
    correct: bool,
    now: datetime,
    tz: ZoneInfo,
    hinted: bool,
) -> int:
    """A channel drop scores by difficulty and speed (halved after the hint); private
    practice a capped little."""
    if drop.private_to is None:
        return scoring.choice_points(
            correct=correct,
            difficulty=drop.item.difficulty,
            after=now - drop.posted_at,
            hinted=hinted,
        )
    earned = await progress.practice_points_today(conn, member, now, tz)
    return scoring.practice_points(correct=correct, earned_today=earned)


async def _record_choice(ctx: Context, *, drop_id: int, option: int, member: MemberRef) -> Reply:
    async with ctx.engine.begin() as conn:
        drop = await drops_feature.load(conn, drop_id, lock=True)
        refusal = _closed_to(drop, member)
        if refusal:
            return refusal
        assert drop is not None
        item = drop.item
        if not isinstance(item, ChoiceItem) or not 0 <= option < len(item.options):
            return Reply.error("That option does not exist on this question.")
        correct = item.options[option].correct
        public = drop.private_to is None
        now = ctx.clock.now()
        tz = await workspace_tz(conn, member.platform, member.workspace_id)
        shown_for = now - drop.posted_at
        hinted = item.hint is not None and await hints.used(conn, drop.id, member.user_id)
        points = await _choice_points(
            conn, drop, member, correct=correct, now=now, tz=tz, hinted=hinted
        )
        inserted = await _insert_answer(
            conn,
            drop=drop,
            member=member,
            values={"option_index": option, "correct": correct, "points": points},
            now=now,
        )
        if not inserted:  # a double press raced past the check above
            return await _existing(conn, drop, member.user_id) or _closed(drop)
        await sql.add_score(
            conn,
            member=member,
            topic=item.topic,
            at=now,
            tz=tz,
            points=points,
            answered=1,
            correct=int(correct),
        )
        streak = await progress.count_day(conn, member, now, tz)
        due = await practice.review(
            conn,
            member=member,
            item=item,
            correct=correct,
            fast=not public and shown_for <= practice.FAST,
            now=now,
            source=drop.source,
            rated=fsrs.Rating.Hard if hinted and correct else None,
        )
    metrics.answered("choice", drop.source)
    await progress.announce_milestone(ctx, drop.place, member, streak)
    if not public:
        return Reply(
            card=_feedback_card(drop, option, member, points=points, due=due, now=now),
            private=True,
        )
    return _locked_in(drop, option, member)


def _locked_in(drop: Drop, option: int, member: MemberRef) -> Reply:
    """A channel drop's private acknowledgement, with the "How sure were you?" row."""
    return Reply(
        card=Card(
            title=f"Drop #{drop.id}",
            body=f"Locked in: **{letter(drop.order, option)}**. Nobody else can see it; "
            "the reveal shows how everyone did.",
            footer=f"{confidence.QUESTION} Optional: it tunes your reviews and calibration.",
            buttons=confidence.buttons(drop.id, member),
            tone=Tone.INFO,
        )
    )


async def _insert_answer(
    conn: AsyncConnection,
    *,
    drop: Drop,
    member: MemberRef,
    values: dict[str, object],
    now: object,
) -> bool:
    return await sql.insert_ignore(
        conn,
        answers,
        {
            "platform": member.platform,
            "workspace_id": member.workspace_id,
            "drop_id": drop.id,
            "user_id": member.user_id,
            "question_id": drop.item.id,
            "answered_at": now,
            **values,
        },
        keys=("drop_id", "user_id"),
    )


def _feedback_card(
    drop: Drop, option: int, member: MemberRef, *, points: int, due: datetime, now: datetime
) -> Card:
    item = drop.item
    assert isinstance(item, ChoiceItem)
    right = item.options[option].correct
    key = letter(drop.order, item.key_index)
    days = max(1, round((due - now).total_seconds() / 86400))
    earned = f" +{points} pt." if points else ""
    return Card(
        title="Correct!" if right else f"Not quite: the answer is {key}",
        body=f"You chose **{letter(drop.order, option)}**.{earned} {item.prompt}",
        fields=option_fields(item, None, 0, order=drop.order),
        footer=f"This question comes back for review in {plural(days, 'day')}. "
        f"{confidence.QUESTION} (optional)",
        buttons=(practice.next_button(), *confidence.buttons(drop.id, member)),
        tone=Tone.GOOD if right else Tone.BAD,
    )


async def on_form(ctx: Context, submit: FormSubmit) -> Reply:
    parsed = drops_feature.parse_answer_id(submit.form_id)
    if parsed is None or parsed[1] != OPEN:
        return Reply.error(UNKNOWN_FORM)
    drop_id = parsed[0]
    text = (submit.values.get("answer") or "").strip()
    if len(text) < MIN_OPEN_ANSWER:
        return Reply.error(
            f"Your answer has {len(text)} characters; write at least {MIN_OPEN_ANSWER} so it "
            "can be compared and voted on. Press Answer again to retry."
        )
    if len(text) > MAX_OPEN_ANSWER:
        return Reply.error(
            f"Your answer has {len(text)} characters; the limit is {MAX_OPEN_ANSWER}. "
            "Shorten it and press Answer again."
        )
    member = submit.member.ref
    async with ctx.engine.begin() as conn:
        drop = await drops_feature.load(conn, drop_id, lock=True)
        refusal = await _refusal(conn, drop, member)
        if refusal:
            return refusal
        assert drop is not None
        public = drop.private_to is None
        points = scoring.open_points(votes=0) if public else 0
        now = ctx.clock.now()
        flag = review.SPEAKS_TO_GRADER if review.suspicious(text) else None
        inserted = await _insert_answer(
            conn,
            drop=drop,
            member=member,
            values={"text": text, "points": points, "flag": flag},
            now=now,
        )
        if not inserted:
            return await _existing(conn, drop, member.user_id) or _closed(drop)
        tz = await workspace_tz(conn, member.platform, member.workspace_id)
        if public:
            await sql.add_score(
                conn,
                member=member,
                topic=drop.item.topic,
                at=now,
                tz=tz,
                points=points,
                answered=1,
            )
        streak = await progress.count_day(conn, member, now, tz)
    metrics.answered("open", drop.source)
    await progress.announce_milestone(ctx, drop.place, member, streak)
    if not public and isinstance(drop.item, OpenItem):
        return Reply(card=model_answer_card(drop.item, yours=text), private=True)
    words = len(text.split())
    return Reply.text(
        f"Saved your answer ({words} words). It stays hidden until the reveal, "
        "when members vote on the answers with reactions.",
        title=f"Drop #{drop_id}",
    )


FEATURE = Feature(
    "answering",
    actions={ANSWER_PREFIX: on_action},
    forms={ANSWER_PREFIX: on_form},
)
