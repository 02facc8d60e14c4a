"""Revealing a drop: the answer with a reason for every option and the share that chose
each, or for an open question the members' answers in a thread to vote on.

A reveal runs once per drop: by ``/reveal``, or by the timer a scheduled drop plans.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from functools import partial

from apscheduler.triggers.date import DateTrigger
from sqlalchemy import RowMapping, Table, and_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot import metrics
from bot.chat import Card, Place, Reply, Tone, plural
from bot.claims import LEASE, settle, take_over_left
from bot.context import Context
from bot.features import drops as drops_feature
from bot.features import selfrate
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
from bot.scheduler import claim
from bot.store import sql
from bot.store.schema import answers, drops, fires, hints_shown, members
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
                    drops.c.reveal_at.is_not(None),
                    drops.c.revealed_at.is_(None),
                    drops.c.message_id.is_not(None),  # never reveal a post not known to be out
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
        )
        found = (
            await conn.execute(query.add_columns(drops.c.message_id).order_by(drops.c.id))
        ).all()
    # A drop whose post was never confirmed is revealed only when asked for by number.
    open_ids = [drop_id for drop_id, message_id in found if message_id is not None]
    if wanted is not None:
        if wanted not in [drop_id for drop_id, _ in found]:
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

    The drop is claimed first (revealed_at set, which also closes it to answers, and a
    leased claim naming this instance), so two reveals never both post. If posting fails
    for good, the claim is undone and the drop stays open. Every part is posted under its
    own key and recorded once out, so a retry resumes where the last attempt stopped; if
    this instance dies mid-reveal, another takes the claim over (``resume``).
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
        claim_id = await claim(
            conn,
            platform=drop.place.platform,
            workspace_id=drop.place.workspace_id,
            job=f"{JOB}:{drop_id}",
            fire_time=now,
            local_time=now.strftime("%Y-%m-%dT%H:%M:%S.%f"),
            now=now,
            holder=ctx.instance_id,
            lease=LEASE,
        )
    assert claim_id is not None
    await _deliver(ctx, drop_id, claim_id, resumed=False)
    return True


JOB = "reveal"  # the fires job of a reveal in flight: "reveal:<drop id>"


async def resume(ctx: Context) -> None:
    """Reveals whose instance died or stopped part-way: finished here. No grace window:
    the drop is closed to answers, so its reveal must come out, however late."""
    for claim_id, job in await take_over_left(ctx, JOB):
        try:
            await _deliver(ctx, int(job.split(":", 1)[1]), claim_id, resumed=True)
        except PlatformError as exc:
            log.warning("resumed reveal %s failed: %s", job, exc)


async def _deliver(ctx: Context, drop_id: int, claim_id: int, *, resumed: bool) -> None:
    """Post what the reveal has not posted yet, record it, close the drop's buttons."""
    async with ctx.engine.connect() as conn:
        drop = await drops_feature.load(conn, drop_id)
        assert drop is not None
        rows = await _answers_of(conn, drop_id)
    poster = _Poster(ctx, resumed)
    try:
        if isinstance(drop.item, ChoiceItem):
            reveal_id = drop.reveal_message_id or await poster.post(
                drop.place, _reveal_card(drop, rows), f"{JOB}:{drop.id}"
            )
            thread_id = None
        else:
            reveal_id, thread_id = await _reveal_open(poster, drop, rows)
    except PlatformError as exc:
        metrics.reveal_failed(drop.place, drop_id, exc)
        async with ctx.engine.begin() as conn:
            await conn.execute(update(drops).where(drops.c.id == drop_id).values(revealed_at=None))
            await conn.execute(update(fires).where(fires.c.id == claim_id).values(status="failed"))
        raise
    async with ctx.engine.begin() as conn:
        await conn.execute(
            update(drops)
            .where(drops.c.id == drop_id)
            .values(reveal_message_id=reveal_id, thread_id=thread_id)
        )
    if drop.message_id:
        try:
            await ctx.platform.edit(
                drop.place, drop.message_id, closed_card(drop.item, drop.order, drop_id=drop.id)
            )
        except PlatformError as exc:  # the reveal is out; a stale button only says "closed"
            log.warning("could not close drop %s message: %s", drop_id, exc)
    await selfrate.after_reveal(ctx, drop)  # each author's key points to tick, sent once
    await settle(ctx, claim_id)
    metrics.revealed(drop.place, drop_id, answers=len(rows), resumed=resumed)


class _Poster:
    """Posts a reveal's parts under their keys; when resuming another instance's reveal,
    first asks whether the part already landed (it may have died before recording it)."""

    def __init__(self, ctx: Context, resumed: bool) -> None:
        self.ctx, self.resumed = ctx, resumed

    async def post(self, place: Place, card: Card, key: str) -> str:
        if self.resumed and (landed := await self.ctx.platform.find_post(place, key)):
            return landed
        return await self.ctx.platform.post(place, card, key=key)


async def _answers_of(conn: AsyncConnection, drop_id: int) -> Sequence[RowMapping]:
    """The drop's answers in the order they came, with their authors' names."""
    query = (
        select(
            answers.c.id,
            answers.c.user_id,
            answers.c.option_index,
            answers.c.text,
            answers.c.correct,
            answers.c.message_id,
            members.c.display_name,
            hints_shown.c.shown_at.is_not(None).label("hinted"),
        )
        .select_from(
            sql.with_names(answers).outerjoin(
                hints_shown,
                and_(
                    hints_shown.c.drop_id == answers.c.drop_id,
                    hints_shown.c.user_id == answers.c.user_id,
                ),
            )
        )
        .where(answers.c.drop_id == drop_id)
        .order_by(answers.c.answered_at, answers.c.id)
    )
    return (await conn.execute(query)).mappings().all()


def _name(row: RowMapping) -> str:
    name = row["display_name"]
    return f"@{name}" if name else "someone"


def _hint_note(rows: Sequence[RowMapping]) -> str:
    """ " · 2 used the hint", or nothing when nobody did."""
    used = sum(1 for r in rows if r["hinted"])
    return f" · {used} used the hint" if used else ""


def _reveal_card(drop: Drop, rows: Sequence[RowMapping]) -> Card:
    item = drop.item
    assert isinstance(item, ChoiceItem)
    picks = Counter(int(r["option_index"]) for r in rows)
    total = sum(picks.values())
    right = [_name(r) + (" (hint)" if r["hinted"] else "") for r in rows if r["correct"]]
    key = item.key_index
    if not total:
        footer = "Nobody answered this one. The next drop is a fresh chance."
    elif right:
        footer = f"Right ({len(right)}/{total}): {', '.join(right)}{_hint_note(rows)}"
    else:
        footer = f"Nobody got it right this time ({plural(total, 'answer')}){_hint_note(rows)}."
    return Card(
        title=f"Answer to drop #{drop.id}: {letter(drop.order, key)}. {item.options[key].text}",
        body=item.prompt,
        fields=option_fields(item, picks, total, order=drop.order),
        footer=footer,
        tone=Tone.GOOD,
    )


async def _reveal_open(
    poster: _Poster, drop: Drop, rows: Sequence[RowMapping]
) -> tuple[str, str | None]:
    ctx = poster.ctx
    item = drop.item
    assert isinstance(item, OpenItem)
    key = f"reveal:{drop.id}"
    if not rows:
        card = model_answer_card(item)
        card = Card(
            title=f"Drop #{drop.id}: model answer",
            body=card.body,
            fields=card.fields,
            footer="Nobody answered this one. The next drop is a fresh chance.",
            tone=Tone.GOOD,
        )
        return await poster.post(drop.place, card, key), None
    thread = await _thread(poster, drop, len(rows), _hint_note(rows))
    for row in rows:
        if row["message_id"] is None:  # not out yet (a retry resumes here)
            card = Card(title=f"{_name(row)}'s answer", body=str(row["text"]))
            message_id = await poster.post(thread, card, f"{key}:answer:{row['id']}")
            await ctx.platform.add_reaction(thread, message_id, VOTE_EMOJI)
            await _record(answers, row["id"], ctx, message_id=message_id)
    await poster.post(thread, model_answer_card(item), f"{key}:model")
    assert thread.thread_id is not None
    return str(drop.reveal_message_id), thread.thread_id


async def _thread(poster: _Poster, drop: Drop, answered: int, hinted: str) -> Place:
    """The reveal's header and its thread: made once, recorded as soon as each is out."""
    ctx = poster.ctx
    header_id = drop.reveal_message_id
    if header_id is None:
        item = drop.item
        header = Card(
            title=f"Answers to drop #{drop.id} · {topic_name(item.topic)}",
            body=f"{item.prompt}\n\n{plural(answered, 'answer')} in the thread{hinted}. React "
            "to the ones you learn most from: each member's reaction is a vote. The model answer "
            f"follows {'it' if answered == 1 else 'them'}.",
            tone=Tone.INFO,
        )
        header_id = await poster.post(drop.place, header, f"reveal:{drop.id}")
        await _record(drops, drop.id, ctx, reveal_message_id=header_id)
        drop = replace(drop, reveal_message_id=header_id)
    if drop.thread_id is not None:
        return drop.place.in_thread(drop.thread_id)
    thread = await ctx.platform.open_thread(drop.place, header_id, f"Answers to drop #{drop.id}")
    await _record(drops, drop.id, ctx, thread_id=thread.thread_id)
    return thread


async def _record(table: Table, row_id: int, ctx: Context, **values: object) -> None:
    async with ctx.engine.begin() as conn:
        await conn.execute(update(table).where(table.c.id == row_id).values(**values))


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
            example="/reveal 3",
        ),
    ),
    jobs=(planned,),
    on_sync=(resume,),
)
