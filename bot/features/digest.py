"""The weekly digest per channel: last week's board and the question that beat most people."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Row, and_, case, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot import bank, scoring
from bot.chat import Card, Field, MemberRef, Place, Tone
from bot.claims import LEASE, claim_local, resume_left
from bot.context import Context, workspace_tz
from bot.features import leaderboard, progress
from bot.features.drops import topic_name
from bot.handlers import Feature, Planned
from bot.outbox import background
from bot.ports import PlatformError
from bot.scheduler import cron_trigger
from bot.scoring import Streak
from bot.store import sql
from bot.store.schema import answers, drops, fires, members, schedules, streaks, workspaces

MIN_ANSWERS_FOR_HARDEST = 2
DIGEST_CRON = "0 9 * * mon"  # Monday 09:00 in the workspace's time zone


async def planned(ctx: Context, _now: datetime) -> list[Planned]:
    """A weekly digest in every channel that has an active schedule."""
    async with ctx.engine.connect() as conn:
        channels = (
            await conn.execute(
                select(schedules.c.platform, schedules.c.workspace_id, schedules.c.channel_id)
                .where(schedules.c.paused.is_(False))
                .distinct()
            )
        ).all()
        zones = {
            (p, w): (await workspace_tz(conn, p, w)).key
            for p, w in {(c[0], c[1]) for c in channels}
        }
    jobs = []
    for platform, workspace_id, channel_id in channels:
        zone = zones[(platform, workspace_id)]
        place = Place(platform, workspace_id, channel_id)
        jobs.append(
            Planned(
                _job_id(place),
                f"{DIGEST_CRON}|{zone}",
                cron_trigger(DIGEST_CRON, zone),
                partial(run, ctx, place),
            )
        )
    return jobs


JOB = "digest"


def _job_id(place: Place) -> str:
    return f"{JOB}:{place.platform}:{place.workspace_id}:{place.channel_id}"


async def run(ctx: Context, place: Place, due: datetime) -> None:
    """Claim this week's digest for the channel; if won, post it and record how it went.
    The claim is leased: if this instance stops before recording, another takes it over."""
    claim_id = await claim_local(
        ctx,
        job=_job_id(place),
        platform=place.platform,
        workspace_id=place.workspace_id,
        due=due,
        status="claimed",
        lease=LEASE,
    )
    if claim_id is None:
        return
    with background():  # the digest waits behind reveals and everything members wait for
        status = await post_weekly(ctx, place=place, due=due)
    async with ctx.engine.begin() as conn:
        await conn.execute(
            update(fires).where(fires.c.id == claim_id).values(status=status, lease_until=None)
        )


async def resume(ctx: Context) -> None:
    """Digests whose instance stopped before recording them: posted inside the grace window
    (under the same key, so never twice), else recorded as failed."""

    async def again(job: str, due: datetime) -> None:
        platform, workspace_id, channel_id = job.split(":", 3)[1:]
        await run(ctx, Place(platform, workspace_id, channel_id), due)

    await resume_left(ctx, JOB, again)


async def _hardest(
    conn: AsyncConnection, place: Place, *, start: datetime, end: datetime
) -> Row[Any, Any] | None:
    """The channel's choice drop of the week that the smallest share got right."""
    share = func.avg(case((answers.c.correct.is_(True), 1.0), else_=0.0))
    return (
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
                drops.c.posted_at < end,
            )
            .group_by(drops.c.id, drops.c.topic, drops.c.question)
            .having(func.count(answers.c.id) >= MIN_ANSWERS_FOR_HARDEST)
            .order_by("share", drops.c.id)
            .limit(1)
        )
    ).first()


async def _reward(conn: AsyncConnection, place: Place) -> Row[Any, Any] | None:
    return (
        await conn.execute(
            select(workspaces.c.reward_role, workspaces.c.reward_holders).where(
                workspaces.c.platform == place.platform,
                workspaces.c.workspace_id == place.workspace_id,
            )
        )
    ).first()


def _hardest_field(hardest: Row[Any, Any]) -> Field:
    item = bank.from_json(hardest.question)
    return Field(
        f"Hardest question: drop #{hardest.id} ({topic_name(hardest.topic)})",
        f"{item.prompt}\n{round(100 * float(hardest.share))}% of {hardest.n} got it right.",
    )


async def post_weekly(ctx: Context, *, place: Place, due: datetime) -> str:
    """Post last week's digest in the channel; return the fire status to record."""
    async with ctx.engine.connect() as conn:
        tz = await workspace_tz(conn, place.platform, place.workspace_id)
        last_week = scoring.periods(due - timedelta(days=7), tz)[1]
        anyone = MemberRef(place.platform, place.workspace_id, "")
        top = await leaderboard.board(conn, anyone, period=last_week, limit=5)
        hardest = await _hardest(conn, place, start=due - timedelta(days=7), end=due)
        keepers = await _streak_keepers(conn, place, due, tz)
        reward = await _reward(conn, place)
    if not top:
        return "empty"  # a quiet week: no digest rather than an empty one
    ranks = leaderboard.places([(points, correct) for _u, _n, points, _a, correct in top])
    lines = [
        f"{leaderboard.place_label(place)} **{name}**: {leaderboard.pts(points)}"
        for place, (_user, name, points, _answered, _correct) in zip(ranks, top, strict=True)
    ]
    fields = [_hardest_field(hardest)] if hardest is not None else []
    if keepers:
        fields.append(
            Field("Streak keepers", " · ".join(f"{name} {days} days" for name, days in keepers))
        )
    winners = [user for user, *_ in top[:3]]
    if reward is not None and reward.reward_role:
        await _move_reward(ctx, place, reward.reward_role, reward.reward_holders, winners)
        fields.append(Field("This week's reward", f"<@&{reward.reward_role}> goes to the top 3."))
    card = Card(
        title=f"Last week ({last_week.removeprefix('week:')})",
        body="\n".join(lines),
        fields=tuple(fields),
        footer="A new week starts now: every drop is a fresh chance.",
        tone=Tone.INFO,
    )
    key = f"{_job_id(place)}:{last_week}"  # a digest retried after a crash is not posted twice
    try:
        await ctx.platform.post(place, card, key=key)
    except PlatformError:
        return "failed"
    return "posted"


STREAK_KEEPERS = 5
MIN_STREAK_SHOWN = 3


async def _streak_keepers(
    conn: AsyncConnection, place: Place, due: datetime, tz: ZoneInfo
) -> list[tuple[str, int]]:
    """Members whose streak is still alive, longest first."""
    rows = await conn.execute(
        select(streaks, func.coalesce(members.c.display_name, streaks.c.user_id).label("name"))
        .select_from(sql.with_names(streaks))
        .where(streaks.c.platform == place.platform, streaks.c.workspace_id == place.workspace_id)
    )
    today = due.astimezone(tz).date()
    keepers = []
    for row in rows.mappings():
        streak = Streak(
            row["current"],
            row["best"],
            date.fromisoformat(row["last_day"]),
            date.fromisoformat(row["freeze_week"]) if row["freeze_week"] else None,
        )
        who = MemberRef(place.platform, place.workspace_id, row["user_id"])
        days = await progress.streak_today(conn, who, streak, today, tz)
        if days >= MIN_STREAK_SHOWN:
            keepers.append((str(row["name"]), days))
    return sorted(keepers, key=lambda k: (-k[1], k[0]))[:STREAK_KEEPERS]


async def _move_reward(
    ctx: Context, place: Place, role: str, holders: str | None, winners: list[str]
) -> None:
    """Give the reward role to this week's winners and take it from last week's."""
    previous = json.loads(holders) if holders else []
    try:
        moved = await ctx.platform.award_role(place, role, add=winners, remove=previous)
    except PlatformError:
        return  # missing Manage Roles: the announcement still stands
    if moved:
        async with ctx.engine.begin() as conn:
            await conn.execute(
                update(workspaces)
                .where(
                    workspaces.c.platform == place.platform,
                    workspaces.c.workspace_id == place.workspace_id,
                )
                .values(reward_holders=json.dumps(winners))
            )


FEATURE = Feature("digest", jobs=(planned,), on_sync=(resume,))
