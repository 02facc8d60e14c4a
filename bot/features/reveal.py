"""Revealing a drop: the answer with a reason for every option and the share that chose
each, or for an open question the members' answers in a thread to vote on.

A reveal runs once per drop: by ``/reveal``, or by the timer a scheduled drop plans.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from functools import partial

from apscheduler.triggers.date import DateTrigger
from sqlalchemy import RowMapping, select, update

from bot.chat import Card, Reply, Tone
from bot.context import Context
from bot.features import drops as drops_feature
from bot.features.drops import (
    Drop,
    closed_card,
    letter,
    model_answer_card,
    option_fields,
    topic_name,
)
from bot.features.votes import VOTE_EMOJI
from bot.handlers import CommandSpec, Feature, Invocation, Kind, Option, Permission, Planned
from bot.ports import PlatformError
from bot.store import sql
from bot.store.schema import answers, drops, members
from questions.schema import ChoiceItem, OpenItem

log = logging.getLogger(__name__)


def job_id(drop_id: int) -> str:
    return f"reveal:{drop_id}"


def timer(ctx: Context, drop_id: int, reveal_at: datetime) -> Planned:
    """The job that reveals a scheduled drop at ``reveal_at``."""
    return Planned(
        job_id(drop_id), str(reveal_at), DateTrigger(reveal_at), partial(run, ctx, drop_id)
    )


async def planned(ctx: Context, now: datetime) -> list[Planned]:
    """A timer per drop waiting for its reveal; one missed while down runs now."""
    async with ctx.engine.connect() as conn:
        pending = (
            await conn.execute(
                select(drops.c.id, drops.c.reveal_at).where(
                    drops.c.reveal_at.is_not(None), drops.c.revealed_at.is_(None)
                )
            )
        ).all()
    return [
        timer(ctx, int(drop_id), reveal_at)
        if reveal_at > now
        else Planned(job_id(int(drop_id)), str(reveal_at), None, partial(run, ctx, int(drop_id)))
        for drop_id, reveal_at in pending
    ]


async def run(ctx: Context, drop_id: int, _due: datetime) -> None:
    try:
        await reveal(ctx, drop_id)
    except PlatformError as exc:
        log.warning("scheduled reveal of drop %s failed: %s", drop_id, exc)


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
    ctx.jobs.forget(job_id(drop_id))  # revealed early: its timer has nothing left to do
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
                    .select_from(sql.with_names(answers))
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
            await ctx.platform.edit(drop.place, drop.message_id, closed_card(drop.item, drop.order))
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
        title=f"Answer to drop #{drop.id}: {letter(drop.order, key)}. {item.options[key].text}",
        body=item.prompt,
        fields=option_fields(item, picks, total, order=drop.order),
        footer=footer,
        tone=Tone.GOOD,
    )


async def _reveal_open(
    ctx: Context, drop: Drop, rows: Sequence[RowMapping]
) -> tuple[str, str | None]:
    item = drop.item
    assert isinstance(item, OpenItem)
    if not rows:
        card = model_answer_card(item)
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
    model = model_answer_card(item)
    await ctx.platform.post(thread, model)
    return header_id, thread.thread_id


FEATURE = Feature(
    "reveal",
    commands=(
        CommandSpec(
            "reveal",
            "Reveal the open drop in this channel",
            reveal_command,
            (
                Option(
                    "drop", "The drop's number (default: the latest open one)", Kind.INT, minimum=1
                ),
            ),
            Permission.ADMIN,
        ),
    ),
    jobs=(planned,),
)
