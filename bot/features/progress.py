"""Seeing yourself improve: streaks (with milestones), /stats with a mastery chart, /rank."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot import bank, chart, scoring
from bot.chat import Attachment, Card, Field, MemberRef, Place, Reply, Tone
from bot.context import Context, workspace_tz
from bot.features import leaderboard, practice
from bot.features.drops import topic_name
from bot.handlers import CommandError, CommandSpec, Feature, Invocation, Kind, Option
from bot.options import PERIOD
from bot.scoring import Streak
from bot.store import sql
from bot.store.schema import answers, cards, drops, members, scores, streaks
from questions.schema import TOPICS, ChoiceItem

log = logging.getLogger(__name__)


async def load_streak(conn: AsyncConnection, member: MemberRef) -> Streak | None:
    row = (
        (await conn.execute(select(streaks).where(*sql.of_member(streaks, member))))
        .mappings()
        .first()
    )
    if row is None:
        return None
    return Streak(
        current=row["current"],
        best=row["best"],
        last_day=date.fromisoformat(row["last_day"]),
        freeze_week=date.fromisoformat(row["freeze_week"]) if row["freeze_week"] else None,
    )


async def count_day(
    conn: AsyncConnection, member: MemberRef, at: datetime, tz: ZoneInfo
) -> Streak | None:
    """Count today (local) as active; return the streak if it grew to a milestone."""
    before = await load_streak(conn, member)
    after = scoring.extend_streak(before, at.astimezone(tz).date())
    if after == before:
        return None
    await sql.upsert(
        conn,
        streaks,
        {
            "platform": member.platform,
            "workspace_id": member.workspace_id,
            "user_id": member.user_id,
            "current": after.current,
            "best": after.best,
            "last_day": after.last_day.isoformat(),
            "freeze_week": after.freeze_week.isoformat() if after.freeze_week else None,
        },
        keys=("platform", "workspace_id", "user_id"),
        update=("current", "best", "last_day", "freeze_week"),
    )
    return after if after.milestone else None


async def announce_milestone(
    ctx: Context, place: Place, member: MemberRef, streak: Streak | None
) -> None:
    """Cheer a streak milestone in the channel. Called after the answer is committed, so a
    cheer that cannot be posted is logged and never reported as a failed answer."""
    if streak is None or streak.milestone is None:
        return
    try:
        async with ctx.engine.connect() as conn:
            name = await conn.scalar(
                select(members.c.display_name).where(*sql.of_member(members, member))
            )
        await ctx.platform.post(
            place,
            Card(
                title=f"🔥 {streak.milestone}-day streak!",
                body=f"@{name or member.user_id} has practised {streak.milestone} days in a row.",
                tone=Tone.GOOD,
            ),
        )
    except Exception:
        log.exception("could not announce %s's %s-day streak", member, streak.milestone)


async def practice_points_today(
    conn: AsyncConnection, member: MemberRef, now: datetime, tz: ZoneInfo
) -> int:
    """Practice points already earned today (local), for the daily cap."""
    local = now.astimezone(tz)
    midnight = datetime.combine(local.date(), time(0), tzinfo=tz)
    total = await conn.scalar(
        select(func.coalesce(func.sum(answers.c.points), 0))
        .join(drops, drops.c.id == answers.c.drop_id)
        .where(
            answers.c.platform == member.platform,
            answers.c.workspace_id == member.workspace_id,
            answers.c.user_id == member.user_id,
            drops.c.private_to.is_not(None),
            answers.c.answered_at >= midnight,
        )
    )
    return int(total or 0)


async def mastery_by_topic(
    conn: AsyncConnection, member: MemberRef, now: datetime
) -> dict[str, float]:
    rows = (await conn.execute(select(cards).where(*sql.of_member(cards, member)))).mappings().all()
    recall: dict[str, list[float]] = {t: [] for t in TOPICS}
    for row in rows:
        recall.setdefault(row["topic"], []).append(practice.retrievability(row, now))
    return {topic: scoring.mastery(values) for topic, values in recall.items()}


async def _member_ref(ctx: Context, inv: Invocation) -> MemberRef:
    who = inv.get("member")
    ref = inv.member.ref
    if who is None:
        return ref
    async with ctx.engine.connect() as conn:
        user_id = await conn.scalar(
            select(members.c.user_id).where(
                members.c.platform == ref.platform,
                members.c.workspace_id == ref.workspace_id,
                (members.c.user_id == who) | (func.lower(members.c.display_name) == who.lower()),
            )
        )
    if user_id is None:
        raise CommandError(f"No member `{who}` has answered anything here yet.")
    return MemberRef(ref.platform, ref.workspace_id, user_id)


async def _totals(conn: AsyncConnection, member: MemberRef) -> dict[str, tuple[int, int]]:
    """(answered, correct) per topic of all time, and over all topics under ``*``."""
    query = select(scores.c.topic, scores.c.answered, scores.c.correct).where(
        *sql.of_member(scores, member), scores.c.period == "all"
    )
    return {row.topic: (row.answered, row.correct) for row in (await conn.execute(query)).all()}


async def _display_name(conn: AsyncConnection, member: MemberRef) -> str | None:
    name = await conn.scalar(select(members.c.display_name).where(*sql.of_member(members, member)))
    return None if name is None else str(name)


MISCONCEPTIONS_SHOWN = 3


async def misconceptions(
    conn: AsyncConnection, member: MemberRef, *, limit: int = MISCONCEPTIONS_SHOWN
) -> list[tuple[str, int]]:
    """The member's most frequent misconceptions: the labels of the wrong options they
    picked, with how often, most frequent first (ties by label)."""
    picked = (
        await conn.execute(
            select(answers.c.drop_id, answers.c.option_index, func.count().label("n"))
            .where(
                *sql.of_member(answers, member),
                answers.c.option_index.is_not(None),
                answers.c.correct.is_(False),
            )
            .group_by(answers.c.drop_id, answers.c.option_index)
        )
    ).all()
    if not picked:
        return []
    query = select(drops.c.id, drops.c.question).where(drops.c.id.in_({r.drop_id for r in picked}))
    asked = {row.id: bank.from_json(row.question) for row in (await conn.execute(query)).all()}
    counts: Counter[str] = Counter()
    for row in picked:
        item = asked.get(row.drop_id)
        if isinstance(item, ChoiceItem) and 0 <= row.option_index < len(item.options):
            label = item.options[row.option_index].misconception
            if label:
                counts[label] += int(row.n)
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]


async def stats_command(ctx: Context, inv: Invocation) -> Reply:
    member = await _member_ref(ctx, inv)
    now = ctx.clock.now()
    async with ctx.engine.connect() as conn:
        tz = await workspace_tz(conn, member.platform, member.workspace_id)
        totals = await _totals(conn, member)
        streak = await load_streak(conn, member)
        mastery = await mastery_by_topic(conn, member, now)
        due = await practice.due_count(conn, member, now)
        name = await _display_name(conn, member)
        mistaken = await misconceptions(conn, member)
    answered, correct = totals.get("*", (0, 0))
    if not answered:
        return Reply.text("No answers yet: answer a drop, or try `/practice`, and come back.")
    accuracy = [
        f"{topic_name(t)} {round(100 * c / a)}% ({a})"
        for t, (a, c) in sorted(totals.items(), key=lambda kv: -kv[1][0])
        if t != "*" and a
    ]
    weakest = sorted(TOPICS, key=lambda t: (mastery[t], t))[:3]
    today = now.astimezone(tz).date()
    current = scoring.alive(streak, today)
    fields: tuple[Field, ...] = (
        Field("Answered", f"{answered}, {round(100 * correct / answered)}% right"),
        Field("Streak", f"{current} day(s) now, best {streak.best if streak else 0}"),
        Field("Accuracy by topic", " · ".join(accuracy) or "-"),
        Field(
            "Work on next",
            ", ".join(f"{topic_name(t)} ({round(100 * mastery[t])}%)" for t in weakest)
            + f". Try `/practice topic:{weakest[0]}`.",
        ),
        Field("Reviews due", f"{due}" + (" · `/review` starts them" if due else "")),
    )
    if mistaken:
        fields += (
            Field(
                "Misconceptions to unlearn",
                " · ".join(f"{label} ({n}×)" for label, n in mistaken),
            ),
        )
    png = chart.mastery_bars(
        [(topic_name(t), mastery[t]) for t in TOPICS], title=f"Mastery · {name or member.user_id}"
    )
    return Reply(
        card=Card(
            title=f"Stats · {name or member.user_id}",
            fields=fields,
            footer="Mastery: recall of your reviewed questions, full at 10 per topic.",
            tone=Tone.INFO,
        ),
        files=(Attachment("mastery.png", png),),
    )


async def rank_command(ctx: Context, inv: Invocation) -> Reply:
    """Your place this week and the members just above and below you."""
    ref = inv.member.ref
    period_kind = inv.get("period") or "week"
    async with ctx.engine.connect() as conn:
        tz = await workspace_tz(conn, ref.platform, ref.workspace_id)
        period = scoring.period_key(period_kind, ctx.clock.now(), tz)
        mine = await leaderboard.rank(conn, ref, period=period)
        if mine is None:
            return Reply.text(
                f"You have no points {leaderboard.PERIOD_NAMES[period_kind]} yet: answer a drop "
                "to get on the board."
            )
        around = await leaderboard.neighbours(conn, ref, period=period)
    lines = []
    for offset, (user, name, points) in around:
        marker = " ← you" if user == ref.user_id else ""
        lines.append(f"#{mine[0] + offset} **{name}**: {points} pts{marker}")
    return Reply(
        card=Card(
            title=f"Your rank {leaderboard.PERIOD_NAMES[period_kind]}: #{mine[0]}",
            body="\n".join(lines),
            tone=Tone.INFO,
        )
    )


FEATURE = Feature(
    "progress",
    commands=(
        CommandSpec(
            "rank",
            "Your place on the board and who is just above and below",
            rank_command,
            (PERIOD,),
        ),
        CommandSpec(
            "stats",
            "Answered, accuracy, streak and mastery per topic, with a chart",
            stats_command,
            (Option("member", "Whose stats (default: yours)", Kind.MEMBER),),
        ),
    ),
)
