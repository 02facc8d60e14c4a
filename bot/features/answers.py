"""Answering drops (buttons and forms), revealing them, and peer votes on open answers."""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import RowMapping, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot import scoring
from bot.chat import (
    Action,
    Card,
    Field,
    Form,
    FormField,
    FormSubmit,
    MemberRef,
    Reaction,
    Reply,
    Tone,
)
from bot.context import Context, workspace_tz
from bot.features import drops as drops_feature
from bot.features import practice, progress
from bot.features.drops import LETTERS, Drop, closed_card, topic_name
from bot.handlers import Invocation
from bot.ports import PlatformError
from bot.store import ops
from bot.store.schema import answers, drops, members, reactions
from questions.schema import ChoiceItem, OpenItem

log = logging.getLogger(__name__)

_ACTION = re.compile(r"^drop:(\d+):(\d+|open)$")
MIN_OPEN_ANSWER = 20
MAX_OPEN_ANSWER = 1500
VOTE_EMOJI = "👍"


def _closed(drop: Drop) -> Reply:
    return Reply.text(
        f"Drop #{drop.id} has been revealed, so answers are closed. "
        "Try `/quiz` for a question of your own."
    )


def _not_yours() -> Reply:
    return Reply.text("That question was someone else's `/quiz`. Run `/quiz` for your own.")


async def _existing(conn: AsyncConnection, drop_id: int, user_id: str) -> Reply | None:
    row = (
        await conn.execute(
            select(answers.c.option_index).where(
                answers.c.drop_id == drop_id, answers.c.user_id == user_id
            )
        )
    ).first()
    if row is None:
        return None
    said = f" ({LETTERS[row[0]]})" if row[0] is not None else ""
    return Reply.text(
        f"You already answered this one{said}. The first answer counts; "
        "see how everyone did at the reveal."
    )


async def on_action(ctx: Context, action: Action) -> Reply:
    match = _ACTION.match(action.action_id)
    if match is None:
        return Reply.error("That button is no longer understood. Run `/help` to start again.")
    drop_id, choice = int(match.group(1)), match.group(2)
    member = action.member.ref
    if choice == "open":
        async with ctx.engine.connect() as conn:
            drop = await drops_feature.load(conn, drop_id)
            refusal = await _refusal(conn, drop, member)
        if refusal:
            return refusal
        return Reply(form=answer_form(drop_id))
    return await _record_choice(ctx, drop_id=drop_id, option=int(choice), member=member)


def answer_form(drop_id: int) -> Form:
    return Form(
        form_id=f"drop:{drop_id}:open",
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
    if drop is None or (drop.place.platform, drop.place.workspace_id) != (
        member.platform,
        member.workspace_id,
    ):
        return Reply.error("That question no longer exists.")
    if drop.private_to is not None and drop.private_to != member.user_id:
        return _not_yours()
    if not drop.is_open:
        return _closed(drop)
    return await _existing(conn, drop.id, member.user_id)


async def _record_choice(ctx: Context, *, drop_id: int, option: int, member: MemberRef) -> Reply:
    async with ctx.engine.begin() as conn:
        drop = await drops_feature.load(conn, drop_id, lock=True)
        refusal = await _refusal(conn, drop, member)
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
        if public:
            points = scoring.choice_points(
                correct=correct, difficulty=item.difficulty, after=shown_for
            )
        else:
            earned = await progress.practice_points_today(conn, member, now, tz)
            points = scoring.practice_points(correct=correct, earned_today=earned)
        inserted = await _insert_answer(
            conn,
            drop=drop,
            member=member,
            values={"option_index": option, "correct": correct, "points": points},
            now=now,
        )
        if not inserted:  # a double press raced past the check above
            return await _existing(conn, drop_id, member.user_id) or _closed(drop)
        await ops.add_score(
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
        )
    await progress.announce_milestone(ctx, drop.place, member, streak)
    if not public:
        return Reply(
            card=_feedback_card(item, option, points=points, due=due, now=now), private=True
        )
    return Reply.text(
        f"Locked in: **{LETTERS[option]}**. Nobody else can see it; "
        "the reveal shows how everyone did.",
        title=f"Drop #{drop_id}",
    )


async def _insert_answer(
    conn: AsyncConnection,
    *,
    drop: Drop,
    member: MemberRef,
    values: dict[str, object],
    now: object,
) -> bool:
    return await ops.insert_ignore(
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


def _option_fields(item: ChoiceItem, counts: Counter[int] | None, total: int) -> tuple[Field, ...]:
    fields = []
    for i, option in enumerate(item.options):
        mark = "✅" if option.correct else "❌"
        share = ""
        if counts is not None:
            n = counts.get(i, 0)
            pct = round(100 * n / total) if total else 0
            share = f" · {pct}% ({n})"
        fields.append(Field(f"{mark} {LETTERS[i]}. {option.text}{share}", option.reason))
    return tuple(fields)


def _feedback_card(
    item: ChoiceItem, option: int, *, points: int, due: datetime, now: datetime
) -> Card:
    right = item.options[option].correct
    key = item.key_index
    days = max(1, round((due - now).total_seconds() / 86400))
    earned = f" +{points} pt." if points else ""
    return Card(
        title="Correct!" if right else f"Not quite: the answer is {LETTERS[key]}",
        body=f"You chose **{LETTERS[option]}**.{earned} {item.prompt}",
        fields=_option_fields(item, None, 0),
        footer=f"This question comes back for review in {days} day(s).",
        buttons=(practice.next_button(),),
        tone=Tone.GOOD if right else Tone.BAD,
    )


async def on_form(ctx: Context, submit: FormSubmit) -> Reply:
    match = _ACTION.match(submit.form_id)
    if match is None or match.group(2) != "open":
        return Reply.error("That form is no longer understood. Run `/help` to start again.")
    drop_id = int(match.group(1))
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
        inserted = await _insert_answer(
            conn, drop=drop, member=member, values={"text": text, "points": points}, now=now
        )
        if not inserted:
            return await _existing(conn, drop_id, member.user_id) or _closed(drop)
        tz = await workspace_tz(conn, member.platform, member.workspace_id)
        if public:
            await ops.add_score(
                conn,
                member=member,
                topic=drop.item.topic,
                at=now,
                tz=tz,
                points=points,
                answered=1,
            )
        streak = await progress.count_day(conn, member, now, tz)
    await progress.announce_milestone(ctx, drop.place, member, streak)
    if not public and isinstance(drop.item, OpenItem):
        return Reply(card=_model_answer_card(drop.item, yours=text), private=True)
    words = len(text.split())
    return Reply.text(
        f"Saved your answer ({words} words). It stays hidden until the reveal, "
        "when members vote on the answers with reactions.",
        title=f"Drop #{drop_id}",
    )


def _model_answer_card(item: OpenItem, *, yours: str | None = None) -> Card:
    fields = [Field("Key points", "\n".join(f"• {p}" for p in item.key_points))]
    if yours is not None:
        fields.insert(0, Field("Your answer", yours))
    return Card(
        title="Model answer",
        body=f"{item.prompt}\n\n{item.answer}",
        fields=tuple(fields),
        footer="Check your answer against the key points." if yours else "",
        tone=Tone.GOOD,
    )


# ---- reveal ---------------------------------------------------------------------------


async def reveal_command(ctx: Context, inv: Invocation) -> Reply:
    place = inv.place
    wanted = inv.options.get("drop")
    async with ctx.engine.connect() as conn:
        query = select(drops.c.id).where(
            drops.c.platform == place.platform,
            drops.c.workspace_id == place.workspace_id,
            drops.c.channel_id == place.channel_id,
            drops.c.private_to.is_(None),
            drops.c.revealed_at.is_(None),
            drops.c.message_id.is_not(None),
        )
        open_ids = list((await conn.scalars(query.order_by(drops.c.id))).all())
    if wanted is not None:
        if wanted not in open_ids:
            listed = ", ".join(f"#{i}" for i in open_ids) or "none"
            return Reply.error(f"Drop #{wanted} is not open in this channel (open here: {listed}).")
        drop_id = int(wanted)
    elif not open_ids:
        return Reply.error("No open drop in this channel. Post one with `/drop now`.")
    else:
        drop_id = open_ids[-1]
    try:
        revealed = await reveal(ctx, drop_id)
    except PlatformError as exc:
        return Reply.error(f"Could not post the reveal: {exc}. The drop stays open; try again.")
    if not revealed:
        return Reply.error(f"Drop #{drop_id} was already revealed.")
    ctx.jobs.forget(f"reveal:{drop_id}")  # revealed early: its timer has nothing left to do
    others = [i for i in open_ids if i != drop_id]
    more = f" Still open here: {', '.join(f'#{i}' for i in others)}." if others else ""
    return Reply.text(f"Revealed drop #{drop_id}.{more}")


async def reveal(ctx: Context, drop_id: int) -> bool:
    """Reveal a drop exactly once; False if it was already revealed.

    The drop is claimed first (revealed_at set), so two reveals never both post; if posting
    fails for good, the claim is undone and the drop stays open.
    """
    now = ctx.clock.now()
    async with ctx.engine.begin() as conn:
        claimed = await conn.execute(
            update(drops)
            .where(drops.c.id == drop_id, drops.c.revealed_at.is_(None))
            .values(revealed_at=now)
        )
        if not claimed.rowcount:
            return False
        drop = await drops_feature.load(conn, drop_id)
        assert drop is not None
        rows = (
            (
                await conn.execute(
                    select(
                        answers.c.id,
                        answers.c.user_id,
                        answers.c.option_index,
                        answers.c.text,
                        answers.c.correct,
                        members.c.display_name,
                    )
                    .select_from(ops.with_names(answers))
                    .where(answers.c.drop_id == drop_id)
                    .order_by(answers.c.answered_at, answers.c.id)
                )
            )
            .mappings()
            .all()
        )
    try:
        if isinstance(drop.item, ChoiceItem):
            reveal_id = await ctx.platform.post(drop.place, _reveal_card(drop, rows))
            thread_id = None
        else:
            reveal_id, thread_id = await _reveal_open(ctx, drop, rows)
    except PlatformError:
        async with ctx.engine.begin() as conn:
            await conn.execute(update(drops).where(drops.c.id == drop_id).values(revealed_at=None))
        raise
    async with ctx.engine.begin() as conn:
        await conn.execute(
            update(drops)
            .where(drops.c.id == drop_id)
            .values(reveal_message_id=reveal_id, thread_id=thread_id)
        )
    if drop.message_id:
        try:
            await ctx.platform.edit(drop.place, drop.message_id, closed_card(drop.item))
        except PlatformError as exc:  # the reveal is out; a stale button only says "closed"
            log.warning("could not close drop %s message: %s", drop_id, exc)
    return True


def _name(row: RowMapping) -> str:
    name = row["display_name"]
    return f"@{name}" if name else "someone"


def _reveal_card(drop: Drop, rows: Sequence[RowMapping]) -> Card:
    item = drop.item
    assert isinstance(item, ChoiceItem)
    picks = Counter(int(r["option_index"]) for r in rows)
    total = sum(picks.values())
    right = [_name(r) for r in rows if r["correct"]]
    key = item.key_index
    if not total:
        footer = "Nobody answered this one. The next drop is a fresh chance."
    elif right:
        footer = f"Right ({len(right)}/{total}): {', '.join(right)}"
    else:
        footer = f"Nobody of {total} got it this time."
    return Card(
        title=f"Answer to drop #{drop.id}: {LETTERS[key]}. {item.options[key].text}",
        body=item.prompt,
        fields=_option_fields(item, picks, total),
        footer=footer,
        tone=Tone.GOOD,
    )


async def _reveal_open(
    ctx: Context, drop: Drop, rows: Sequence[RowMapping]
) -> tuple[str, str | None]:
    item = drop.item
    assert isinstance(item, OpenItem)
    if not rows:
        card = _model_answer_card(item)
        card = Card(
            title=f"Drop #{drop.id}: model answer",
            body=card.body,
            fields=card.fields,
            footer="Nobody answered this one. The next drop is a fresh chance.",
            tone=Tone.GOOD,
        )
        return await ctx.platform.post(drop.place, card), None
    header = Card(
        title=f"Answers to drop #{drop.id} · {topic_name(item.topic)}",
        body=f"{item.prompt}\n\n{len(rows)} answer(s) in the thread. React to the ones you "
        f"learn most from: each member's reaction is a vote. The model answer follows them.",
        tone=Tone.INFO,
    )
    header_id = await ctx.platform.post(drop.place, header)
    thread = await ctx.platform.open_thread(drop.place, header_id, f"Answers to drop #{drop.id}")
    for row in rows:
        card = Card(title=f"{_name(row)}'s answer", body=str(row["text"]))
        message_id = await ctx.platform.post(thread, card)
        async with ctx.engine.begin() as conn:
            await conn.execute(
                update(answers).where(answers.c.id == row["id"]).values(message_id=message_id)
            )
        await ctx.platform.add_reaction(thread, message_id, VOTE_EMOJI)
    model = _model_answer_card(item)
    await ctx.platform.post(thread, model)
    return header_id, thread.thread_id


# ---- reactions ------------------------------------------------------------------------


async def on_reaction(ctx: Context, reaction: Reaction) -> None:
    """Store the reaction; a reaction on an open answer is a vote for its author."""
    member = reaction.member.ref
    key = {
        "platform": member.platform,
        "workspace_id": member.workspace_id,
        "message_id": reaction.message_id,
        "user_id": member.user_id,
        "emoji": reaction.emoji,
    }
    async with ctx.engine.begin() as conn:
        if reaction.added:
            changed = await ops.insert_ignore(
                conn,
                reactions,
                {**key, "channel_id": reaction.place.channel_id, "created_at": ctx.clock.now()},
                keys=tuple(key),
            )
        else:
            result = await conn.execute(
                reactions.delete().where(*(reactions.c[k] == v for k, v in key.items()))
            )
            changed = bool(result.rowcount)
        if changed:
            await recount_votes(conn, member, reaction.message_id)


async def recount_votes(conn: AsyncConnection, voter: MemberRef, message_id: str) -> None:
    """Recount the votes on an open answer's message and move its author's points."""
    answer = (
        (
            await conn.execute(
                select(answers, drops.c.topic)
                .join(drops, drops.c.id == answers.c.drop_id)
                .where(
                    answers.c.platform == voter.platform,
                    answers.c.workspace_id == voter.workspace_id,
                    answers.c.message_id == message_id,
                )
            )
        )
        .mappings()
        .first()
    )
    if answer is None or answer["user_id"] == voter.user_id:
        return  # not an answer, or the author's own reaction
    votes = await conn.scalar(
        select(func.count(func.distinct(reactions.c.user_id))).where(
            reactions.c.platform == voter.platform,
            reactions.c.workspace_id == voter.workspace_id,
            reactions.c.message_id == message_id,
            reactions.c.user_id != answer["user_id"],
        )
    )
    points = scoring.open_points(votes=int(votes or 0))
    delta = points - int(answer["points"])
    await conn.execute(
        update(answers).where(answers.c.id == answer["id"]).values(votes=votes, points=points)
    )
    if delta:
        author = MemberRef(voter.platform, voter.workspace_id, answer["user_id"])
        tz = await workspace_tz(conn, voter.platform, voter.workspace_id)
        # Counted in the answer's periods, so a vote removed later cancels exactly.
        await ops.add_score(
            conn,
            member=author,
            topic=answer["topic"],
            at=answer["answered_at"],
            tz=tz,
            points=delta,
        )
