"""A member's summary: their points and place, and how to take part (e.g. Slack's Home tab)."""

from __future__ import annotations

from bot.chat import Card, Field, Member, Tone
from bot.context import Context
from bot.features import help, leaderboard
from bot.store.schema import scores


async def home_card(ctx: Context, member: Member) -> Card:
    ref = member.ref
    async with ctx.engine.connect() as conn:
        mine = await leaderboard.rank(conn, ref)
        row = (
            (
                await conn.execute(
                    scores.select().where(
                        scores.c.platform == ref.platform,
                        scores.c.workspace_id == ref.workspace_id,
                        scores.c.user_id == ref.user_id,
                        scores.c.period == "all",
                        scores.c.topic == "*",
                    )
                )
            )
            .mappings()
            .first()
        )
    if mine is None or row is None:
        stats = "No answers yet: answer a question drop or try `/quiz` to start."
    else:
        stats = (
            f"#{mine[0]} on the board with {leaderboard.pts(mine[1])} · "
            f"{leaderboard.tally(row['answered'], row['correct'])}"
        )
    return Card(
        title=f"studybot · {member.display_name}",
        body=stats,
        fields=(Field("How to take part", help.welcome_card().body),),
        tone=Tone.INFO,
    )
