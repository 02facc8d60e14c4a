"""/away: time off that costs nothing.

``/away until 2027-01-05`` marks the member away from today through that date (both counted).
While away their streak is paused (away days neither break it nor use the week's freeze),
their daily review reminder waits until the first day back, and mock rounds leave them out
as paused. ``/away off`` ends it early; ``/away`` says where they stand.

Days on which the bot itself failed to post a scheduled drop (a fire recorded ``missed`` or
``failed``) are excused for everyone in the workspace the same way. ``excused_days`` is the
one place both rules are read; bot/features/progress.py asks it when judging a streak gap.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.chat import MemberRef, Reply, Tone, plural
from bot.context import Context, workspace_tz
from bot.features import practice
from bot.handlers import CommandError, CommandSpec, Feature, Invocation, Option
from bot.store import sql
from bot.store.prepared import Prepared
from bot.store.schema import away_periods, fires, member_settings

MAX_DAYS = 90  # the longest time away, counting today
# The fires of scheduled drops; a digest or mock round that failed excuses nobody.
DROP_JOBS = "schedule:%"
NOT_POSTED = ("missed", "failed")

Period = tuple[int, date, date]  # id, first day away, last day away


def day_text(day: date) -> str:
    """A date as members read it: Tue 5 Jan 2027."""
    return f"{day:%a} {day.day} {day:%b %Y}"


# ---- reading ----------------------------------------------------------------------------


_PERIODS = Prepared(
    select(away_periods.c.id, away_periods.c.first_day, away_periods.c.last_day)
    .where(*sql.by_member(away_periods))
    .order_by(away_periods.c.first_day)
)


async def _periods(conn: AsyncConnection, member: MemberRef) -> list[Period]:
    rows = await _PERIODS.all(conn, sql.member_params(member))
    return [
        (int(r["id"]), date.fromisoformat(r["first_day"]), date.fromisoformat(r["last_day"]))
        for r in rows
    ]


def _current(periods: list[Period], today: date) -> Period | None:
    return next((p for p in periods if p[1] <= today <= p[2]), None)


def _days_so_far(periods: list[Period], today: date) -> int:
    return sum(max(0, (min(last, today) - first).days + 1) for _, first, last in periods)


async def away_through(conn: AsyncConnection, member: MemberRef, today: date) -> date | None:
    """The member's last day away, if they are away today."""
    period = _current(await _periods(conn, member), today)
    return None if period is None else period[2]


async def away_days(conn: AsyncConnection, member: MemberRef, today: date) -> int:
    """How many days (today included) the member has been away, in all."""
    return _days_so_far(await _periods(conn, member), today)


async def excused_days(
    conn: AsyncConnection, member: MemberRef, first: date, last: date, tz: ZoneInfo
) -> set[date]:
    """The local days from ``first`` to ``last`` (both counted) that never break the
    member's streak: days they were away, and days a scheduled drop in their workspace was
    missed or failed (the bot's fault, not theirs)."""
    if last < first:
        return set()
    excused: set[date] = set()
    for _, start, end in await _periods(conn, member):
        for n in range((min(end, last) - max(start, first)).days + 1):
            excused.add(max(start, first) + timedelta(days=n))
    since = datetime.combine(first, time(0), tzinfo=tz).astimezone(UTC)
    until = datetime.combine(last + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    fired = await conn.scalars(
        select(fires.c.fire_time).where(
            *sql.of_workspace(fires, member),
            fires.c.job.like(DROP_JOBS),
            fires.c.status.in_(NOT_POSTED),
            fires.c.fire_time >= since,
            fires.c.fire_time < until,
        )
    )
    excused.update(when.astimezone(tz).date() for when in fired.all())
    return excused


async def first_days_back(
    conn: AsyncConnection, platform: str, workspace_id: str, today: date
) -> dict[str, date]:
    """The workspace's members away today, each with their first day back."""
    rows = await conn.execute(
        select(away_periods.c.user_id, away_periods.c.last_day).where(
            away_periods.c.platform == platform,
            away_periods.c.workspace_id == workspace_id,
            away_periods.c.first_day <= today.isoformat(),
            away_periods.c.last_day >= today.isoformat(),
        )
    )
    return {user: date.fromisoformat(last) + timedelta(days=1) for user, last in rows.all()}


# ---- the command ------------------------------------------------------------------------


def _parse(text: str, today: date) -> date | None:
    """The last day away from what the member typed; None for ``off``."""
    words = text.strip().lower().split()
    if words[:1] == ["until"]:
        words = words[1:]
    if words == ["off"]:
        return None
    written = " ".join(words)
    try:
        until = date.fromisoformat(written) if len(words) == 1 else None
    except ValueError:
        until = None
    if until is None:
        shown = written if len(written) <= 30 else written[:29] + "…"
        raise CommandError(
            (f"`{shown}` is not a date. " if shown else "Which date? ")
            + "Write the last day you are away as YYYY-MM-DD, e.g. "
            f"`/away until {today + timedelta(days=7)}`, or `/away off` to come back."
        )
    if until < today:
        raise CommandError(
            f"{day_text(until)} has passed. Give today or a later date, e.g. "
            f"`/away until {today + timedelta(days=7)}`."
        )
    if (until - today).days >= MAX_DAYS:
        latest = today + timedelta(days=MAX_DAYS - 1)
        raise CommandError(
            f"Away lasts at most {MAX_DAYS} days, so the latest date you can give today is "
            f"{latest}. Set it again from there if you need longer."
        )
    return until


async def away_command(ctx: Context, inv: Invocation) -> Reply:
    member = inv.member.ref
    now = ctx.clock.now()
    async with ctx.engine.begin() as conn:
        tz = await workspace_tz(conn, member.platform, member.workspace_id)
        today = now.astimezone(tz).date()
        periods = await _periods(conn, member)
        text = inv.get("until")
        if text is None:
            return _status(periods, today)
        until = _parse(text, today)
        current = _current(periods, today)
        if until is None:
            if current is None:
                return Reply.text("You are not away, so there is nothing to end.")
            await _end(conn, current, today)
        else:
            await _save(conn, member, current, today, until, now)
    await _hold_reminder(ctx, member, None if until is None else until + timedelta(days=1), tz)
    if until is None:
        return Reply.text(
            "Welcome back. Your streak counts again from today, and review reminders and mock "
            "rounds include you again.",
            title="Away: off",
            tone=Tone.GOOD,
        )
    return Reply.text(
        f"You are away through {day_text(until)}. Until then your streak is paused (no freeze "
        "used), review reminders wait and mock rounds leave you out. Answering meanwhile still "
        f"counts. Back on {day_text(until + timedelta(days=1))}; `/away off` ends it sooner.",
        title="Away" if current is None else "Away: new date",
        tone=Tone.GOOD,
    )


def _status(periods: list[Period], today: date) -> Reply:
    current = _current(periods, today)
    so_far = _days_so_far(periods, today)
    if current is None:
        past = f" You have been away {plural(so_far, 'day')} in all." if so_far else ""
        return Reply.text(
            "You are not away. `/away until YYYY-MM-DD` pauses your streak, your review "
            f"reminders and mock rounds through that date.{past}",
            title="Away",
        )
    left = (current[2] - today).days + 1
    return Reply.text(
        f"You are away through {day_text(current[2])} ({plural(left, 'day')} left, today "
        f"included): your streak is paused, review reminders wait and mock rounds leave you "
        f"out. {plural(so_far, 'day')} away in all. `/away off` ends it now.",
        title="Away",
    )


async def _save(
    conn: AsyncConnection,
    member: MemberRef,
    current: Period | None,
    today: date,
    until: date,
    now: datetime,
) -> None:
    if current is not None:
        await conn.execute(
            update(away_periods)
            .where(away_periods.c.id == current[0])
            .values(last_day=until.isoformat())
        )
        return
    await conn.execute(
        away_periods.insert().values(
            platform=member.platform,
            workspace_id=member.workspace_id,
            user_id=member.user_id,
            first_day=today.isoformat(),
            last_day=until.isoformat(),
            created_at=now,
        )
    )


async def _end(conn: AsyncConnection, current: Period, today: date) -> None:
    """Back today: the period ends yesterday (or never was, if it began today)."""
    period_id, first, _ = current
    if first >= today:
        await conn.execute(delete(away_periods).where(away_periods.c.id == period_id))
        return
    yesterday = (today - timedelta(days=1)).isoformat()
    await conn.execute(
        update(away_periods).where(away_periods.c.id == period_id).values(last_day=yesterday)
    )


async def _hold_reminder(ctx: Context, member: MemberRef, back: date | None, tz: ZoneInfo) -> None:
    """Move the member's daily review reminder, if they set one, to its time on their first
    day back; or, coming back now, to its next time from now."""
    async with ctx.engine.connect() as conn:
        hhmm = await conn.scalar(
            select(member_settings.c.remind_at).where(*sql.of_member(member_settings, member))
        )
    if hhmm is None:
        return
    now = ctx.clock.now()
    if back is None:
        when = practice._next_at(hhmm, now, tz)
    else:
        hour, minute = (int(x) for x in hhmm.split(":"))
        when = datetime.combine(back, time(hour, minute), tzinfo=tz).astimezone(UTC)
    # The reminder's own timer (practice.send_reminder), under its own key: it sends on that
    # day if reviews are due and plans the next day itself, as it always does.
    await practice.plan_reminder(ctx, member, when)


FEATURE = Feature(
    "away",
    commands=(
        CommandSpec(
            "away",
            "Time off: pause your streak, reminders and mock rounds until a date",
            away_command,
            (
                Option(
                    "until",
                    "The last day you are away (YYYY-MM-DD), or off to come back",
                    rest=True,
                ),
            ),
            example="/away until 2027-01-05",
        ),
    ),
)
