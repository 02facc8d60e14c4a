"""The weekly digest per channel: last week's board and the question that beat most people."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, case, func, select

from bot import scoring
from bot.chat import Card, Field, MemberRef, Place, Tone
from bot.context import Context, workspace_tz
from bot.features import leaderboard
from bot.features.drops import topic_name
from bot.ports import PlatformError
from bot.store.schema import answers, drops

MIN_ANSWERS_FOR_HARDEST = 2


async def post_weekly(ctx: Context, *, place: Place, due: datetime) -> str:
    """Post last week's digest in the channel; return the fire status to record."""
    async with ctx.engine.connect() as conn:
        tz = await workspace_tz(conn, place.platform, place.workspace_id)
        last_week = scoring.periods(due - timedelta(days=7), tz)[1]
        anyone = MemberRef(place.platform, place.workspace_id, "")
        top = await leaderboard.board(conn, anyone, period=last_week, limit=5)
        start = due - timedelta(days=7)
        share = func.avg(case((answers.c.correct.is_(True), 1.0), else_=0.0))
        hardest = (
            await conn.execute(
                select(
                    drops.c.id,
                    drops.c.topic,
                    drops.c.question,
                    share.label("share"),
                    func.count(answers.c.id).label("n"),
                )
                .join(answers, and_(answers.c.drop_id == drops.c.id))
                .where(
                    drops.c.platform == place.platform,
                    drops.c.workspace_id == place.workspace_id,
                    drops.c.channel_id == place.channel_id,
                    drops.c.private_to.is_(None),
                    drops.c.kind == "choice",
                    drops.c.posted_at >= start,
                    drops.c.posted_at < due,
                )
                .group_by(drops.c.id, drops.c.topic, drops.c.question)
                .having(func.count(answers.c.id) >= MIN_ANSWERS_FOR_HARDEST)
                .order_by("share", drops.c.id)
                .limit(1)
            )
        ).first()
    if not top:
        return "empty"  # a quiet week: no digest rather than an empty one
    lines = [
        f"{leaderboard.MEDALS[i] if i < 3 else f'{i + 1}.'} **{name}**: {points} pts"
        for i, (_user, name, points, _answered, _correct) in enumerate(top)
    ]
    fields = []
    if hardest is not None:
        from bot import bank

        item = bank.from_json(hardest.question)
        fields.append(
            Field(
                f"Hardest question: drop #{hardest.id} ({topic_name(hardest.topic)})",
                f"{item.prompt}\n{round(100 * float(hardest.share))}% of {hardest.n} got it right.",
            )
        )
    card = Card(
        title=f"Last week ({last_week.removeprefix('week:')})",
        body="\n".join(lines),
        fields=tuple(fields),
        footer="A new week starts now: every drop is a fresh chance.",
        tone=Tone.INFO,
    )
    try:
        await ctx.platform.post(place, card)
    except PlatformError:
        return "failed"
    return "posted"
