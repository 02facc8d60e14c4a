"""Peer votes: a member's reaction on an open answer in a reveal thread is a vote for it."""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot import scoring
from bot.chat import MemberRef, Reaction
from bot.context import Context, workspace_tz
from bot.handlers import Feature
from bot.store import sql
from bot.store.schema import answers, drops, reactions

VOTE_EMOJI = "👍"


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
            changed = await sql.insert_ignore(
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
        await sql.add_score(
            conn,
            member=author,
            topic=answer["topic"],
            at=answer["answered_at"],
            tz=tz,
            points=delta,
        )


FEATURE = Feature("votes", events={Reaction: on_reaction})
