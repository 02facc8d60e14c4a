"""Seeing yourself improve: streaks (with milestones), /stats with a mastery chart, /rank."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot import bank, chart, scoring
from bot.chat import Attachment, Card, Field, MemberRef, Place, Reply, Tone, plural
from bot.context import Context, workspace_tz
from bot.features import away, confidence, leaderboard, practice
from bot.features.drops import topic_name
from bot.handlers import CommandError, CommandSpec, Feature, Invocation, Kind, Option
from bot.options import PERIOD
from bot.scoring import Streak
from bot.store import sql
from bot.store.prepared import Prepared
from bot.store.schema import answers, cards, drops, members, streaks
from questions.schema import TOPICS, ChoiceItem

log = logging.getLogger(__name__)


async def load_streak(conn: AsyncConnection, member: MemberRef) -> Streak | None:
    row = await sql.member_row(streaks).first(conn, sql.member_params(member))
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
    day = at.astimezone(tz).date()
    after = scoring.extend_streak(before, day, await _excused(conn, member, before, day, tz))
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


async def _excused(
    conn: AsyncConnection, member: MemberRef, streak: Streak | None, day: date, tz: ZoneInfo
) -> set[date]:
    """The days between the streak's last day and ``day`` that cannot break it (away, or
    the bot missed a drop); looked up only when there is a gap."""
    if streak is None or day - streak.last_day <= timedelta(days=1):
        return set()
    return await away.excused_days(
        conn, member, streak.last_day + timedelta(days=1), day - timedelta(days=1), tz
    )


async def streak_today(
    conn: AsyncConnection, member: MemberRef, streak: Streak | None, today: date, tz: ZoneInfo
) -> int:
    """The streak as it stands today, with away days and the bot's missed drops excused."""
    return scoring.alive(streak, today, await _excused(conn, member, streak, today, tz))


async def _streak_fields(
    conn: AsyncConnection,
    member: MemberRef,
    streak: Streak | None,
    today: date,
    tz: ZoneInfo,
    *,
    own: bool,
) -> list[Field]:
    """The streak with this week's freeze, and (on your own stats only) time away."""
    current = await streak_today(conn, member, streak, today, tz)
    text = f"{plural(current, 'day')} now, best {streak.best if streak else 0}"
    if current and streak is not None and streak.freeze_week == scoring.monday(today):
        text += "; this week's freeze is used"
    fields = [Field("Streak", text)]
    days = await away.away_days(conn, member, today) if own else 0
    if not days:
        return fields
    through = await away.away_through(conn, member, today)
    fields.append(
        Field(
            "Away",
            f"{plural(days, 'day')} in all, none held against your streak"
            + (f"; away through {away.day_text(through)}" if through else ""),
        )
    )
    return fields


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


_CARDS = Prepared(select(cards).where(*sql.by_member(cards)))


async def mastery_by_topic(
    conn: AsyncConnection, member: MemberRef, now: datetime
) -> dict[str, float]:
    """Mastery per topic: the recall probability of each reviewed question, where one the
    member got wrong last time counts as not recalled until they get it right again."""
    rows = await _CARDS.all(conn, sql.member_params(member))
    missed = await practice.missed_last_time(conn, member)
    recall: dict[str, list[float]] = {t: [] for t in TOPICS}
    for row in rows:
        known = 0.0 if row["question_id"] in missed else practice.retrievability(row, now)
        recall.setdefault(row["topic"], []).append(known)
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


@dataclass(frozen=True)
class Tally:
    """A member's answers in one topic (or all): multiple choice and right, and open ones."""

    choice: int = 0
    right: int = 0
    written: int = 0

    def __add__(self, other: Tally) -> Tally:
        return Tally(
            self.choice + other.choice, self.right + other.right, self.written + other.written
        )


_TOTALS = Prepared(
    select(
        drops.c.topic,
        func.count(answers.c.option_index).label("choice"),
        func.coalesce(func.sum(case((answers.c.correct.is_(True), 1), else_=0)), 0).label("right"),
        func.count(answers.c.text).label("written"),
    )
    .select_from(answers.join(drops, drops.c.id == answers.c.drop_id))
    .where(*sql.by_member(answers))
    .group_by(drops.c.topic)
)


async def _totals(conn: AsyncConnection, member: MemberRef) -> dict[str, Tally]:
    """The member's answers per topic, everywhere (drops, /quiz, /practice). Open answers
    are neither right nor wrong, so they are counted apart."""
    rows = await _TOTALS.all(conn, sql.member_params(member))
    return {
        str(topic): Tally(int(n), int(ok), int(k))
        for topic, n, ok, k in (tuple(row.values()) for row in rows)
    }


def _answered(total: Tally) -> str:
    """The Answered line: "12, 75% right"; with open answers too, "14: 12 multiple choice,
    75% right, and 2 open"; open answers alone, "2 open answers"."""
    if not total.choice:
        return plural(total.written, "open answer")
    share = f"{round(100 * total.right / total.choice)}% right"
    if not total.written:
        return f"{total.choice}, {share}"
    return (
        f"{total.choice + total.written}: {total.choice} multiple choice, {share}, "
        f"and {total.written} open"
    )


_NAME = Prepared(select(members.c.display_name).where(*sql.by_member(members)))


async def _display_name(conn: AsyncConnection, member: MemberRef) -> str | None:
    name = await _NAME.scalar(conn, sql.member_params(member))
    return None if name is None else str(name)


MISCONCEPTIONS_SHOWN = 3


_WRONG_PICKS = Prepared(
    select(answers.c.drop_id, answers.c.option_index, func.count().label("n"))
    .where(
        *sql.by_member(answers), answers.c.option_index.is_not(None), answers.c.correct.is_(False)
    )
    .group_by(answers.c.drop_id, answers.c.option_index)
)


async def misconceptions(
    conn: AsyncConnection, member: MemberRef, *, limit: int = MISCONCEPTIONS_SHOWN
) -> list[tuple[str, int]]:
    """The member's most frequent misconceptions: the labels of the wrong options they
    picked, with how often, most frequent first (ties by label)."""
    picked = await _WRONG_PICKS.all(conn, sql.member_params(member))
    if not picked:
        return []
    ids = {r["drop_id"] for r in picked}
    query = select(drops.c.id, drops.c.question).where(drops.c.id.in_(ids))
    asked = {row.id: bank.from_json(row.question) for row in (await conn.execute(query)).all()}
    counts: Counter[str] = Counter()
    for row in picked:
        item, option = asked.get(row["drop_id"]), row["option_index"]
        if isinstance(item, ChoiceItem) and 0 <= option < len(item.options):
            label = item.options[option].misconception
            if label:
                counts[label] += int(row["n"])
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]


async def stats_command(ctx: Context, inv: Invocation) -> Reply:
    member = await _member_ref(ctx, inv)
    own = member == inv.member.ref
    now = ctx.clock.now()
    async with ctx.engine.connect() as conn:
        tz = await workspace_tz(conn, member.platform, member.workspace_id)
        totals = await _totals(conn, member)
        streak = await load_streak(conn, member)
        mastery = await mastery_by_topic(conn, member, now)
        topics = await practice.practisable_topics(conn, member)
        due = await practice.due_count(conn, member, now) if own else 0
        name = await _display_name(conn, member) or member.user_id
        mistaken = await misconceptions(conn, member) if own else []
        calibrated = await confidence.calibration(conn, member) if own else None
        today = now.astimezone(tz).date()
        streak_fields = await _streak_fields(conn, member, streak, today, tz, own=own)
    total = sum(totals.values(), Tally())
    if not total.choice and not total.written:
        if not own:
            return Reply.text(f"{name} has not answered anything yet.")
        return Reply.text("No answers yet: answer a drop, or try `/practice`, and come back.")
    accuracy = [
        f"{topic_name(t)} {round(100 * n.right / n.choice)}% ({n.choice})"
        for t, n in sorted(totals.items(), key=lambda kv: (-kv[1].choice, kv[0]))
        if n.choice
    ]
    fields = [
        Field("Answered", _answered(total)),
        *streak_fields,
        Field("Accuracy by topic", " · ".join(accuracy) or "-"),
        *_weakest(topics, mastery, own=own),
    ]
    if own:
        fields.append(Field("Reviews due", f"{due}" + (" · `/review` starts them" if due else "")))
    if calibrated is not None and calibrated.rated:
        fields.append(
            Field("Calibration (how sure you said, how often right)", calibrated.summary())
        )
    if mistaken:
        fields.append(
            Field(
                "Misconceptions to unlearn",
                " · ".join(f"{label} ({n}×)" for label, n in mistaken),
            )
        )
    shown = topics or list(TOPICS)
    png = await chart.mastery_bars_async(
        [(topic_name(t), mastery.get(t, 0.0)) for t in shown], title=f"Mastery · {name}"
    )
    whose = "your" if own else "their"
    return Reply(
        card=Card(
            title=f"Stats · {name}",
            fields=tuple(fields),
            footer=f"Mastery: recall of {whose} reviewed questions, full at 10 per topic; one "
            "answered wrongly last time counts as not recalled.",
            tone=Tone.INFO,
        ),
        files=(Attachment("mastery.png", png),),
    )


def _weakest(topics: list[str], mastery: dict[str, float], *, own: bool) -> list[Field]:
    """The three weakest topics /practice can serve (a topic without multiple-choice
    questions is never suggested); the /practice hint only on the member's own stats."""
    weakest = sorted(topics, key=lambda t: (mastery.get(t, 0.0), t))[:3]
    if not weakest:
        return []
    listed = ", ".join(f"{topic_name(t)} ({round(100 * mastery.get(t, 0.0))}%)" for t in weakest)
    if not own:
        return [Field("Weakest topics", listed + ".")]
    return [Field("Work on next", f"{listed}. Try `/practice topic:{weakest[0]}`.")]


async def rank_command(ctx: Context, inv: Invocation) -> Reply:
    """Your place this week and the members just above and below you."""
    ref = inv.member.ref
    period_kind = inv.get("period") or "week"
    async with ctx.engine.connect() as conn:
        tz = await workspace_tz(conn, ref.platform, ref.workspace_id)
        period = scoring.period_key(period_kind, ctx.clock.now(), tz)
        mine = await leaderboard.standing(conn, ref, period=period)
        if mine is None:
            return Reply.text(
                f"You have no points {leaderboard.PERIOD_NAMES[period_kind]} yet: answer a drop "
                "to get on the board."
            )
        around = await leaderboard.neighbours(conn, ref, period=period)
        # Ties share a place, as on the board, counted from the member's own.
        placed = await leaderboard.places_around(conn, ref, period=period, mine=mine, around=around)
        lines = []
        for (_offset, (user, name, points, _correct)), place in zip(around, placed, strict=True):
            marker = " ← you" if user == ref.user_id else ""
            lines.append(f"#{place} **{name}**: {leaderboard.pts(points)}{marker}")
    return Reply(
        card=Card(
            title=f"Your rank {leaderboard.PERIOD_NAMES[period_kind]}: #{mine.place}",
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
            example="/rank all",
        ),
        CommandSpec(
            "stats",
            "Answered, accuracy, streak and mastery per topic, with a chart",
            stats_command,
            (Option("member", "Whose stats (default: yours)", Kind.MEMBER),),
            example="/stats @alice",
        ),
    ),
)
