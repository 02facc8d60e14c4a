"""/season: a named stretch of time with its own board, archived and announced at the end.

``/season start "Winter prep" until 2027-03-01`` (admins) starts one now that runs through
that date in the workspace's time zone; ``/season`` says which one runs; ``/season end``
(admins) ends it early; ``/season results NAME`` shows a past one's final top 10.

While a season runs, ``sql.add_score`` also counts every point into its score period
(``season:<number>``, numbers counting up per workspace), so ``/leaderboard season`` reads a
maintained aggregate like every other board. At midnight after the last day a one-off timer
(``season-end``, run once across instances) closes it: a conditional update claims the close,
the top 10 go to ``season_results`` in the same transaction, and the final board is posted in
the channel where the season was started. Reading boards lives in bot/features/leaderboard.py.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from bot import scoring
from bot.chat import Card, MemberRef, Place, Reply, Tone, plural
from bot.context import Context, workspace_tz
from bot.features import leaderboard
from bot.features.leaderboard import Season, day_text
from bot.handlers import CommandError, CommandSpec, Feature, Invocation, Option
from bot.ports import PlatformError
from bot.store.schema import season_results, seasons

log = logging.getLogger(__name__)

TIMER = "season-end"
NAME_MAX = 40  # characters in a season's name: it heads boards and announcements
MAX_DAYS = 366  # the longest season, counting today
USAGE = "`/season start NAME until YYYY-MM-DD`"
Row = tuple[int, str, int, int, int]  # place, name, points, answered, correct


def _timer_key(platform: str, workspace_id: str, number: int) -> str:
    """It names the workspace (so a workspace export moves it as it is) and ends in a part
    no member id looks like (/me forget drops timers whose key ends in the member's id)."""
    return f"{TIMER}:{platform}:{workspace_id}:season-{number}"


def _ends_at(last_day: date, tz: ZoneInfo) -> datetime:
    """Midnight after the last day, in the workspace's time zone, as UTC."""
    return datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)


# ---- reading what was typed -------------------------------------------------------------


def _start_words(words: Sequence[str]) -> tuple[str, str]:
    """(name, the date as typed) from ``NAME until DATE``."""
    lowered = [w.lower() for w in words]
    at = len(lowered) - 1 - lowered[::-1].index("until") if "until" in lowered else None
    if at is None or at == 0 or at != len(words) - 2:
        raise CommandError(
            f"Give the season a name and its last day: {USAGE}, e.g. "
            '`/season start "Winter prep" until 2027-03-01`.'
        )
    name = " ".join(words[:at]).strip()
    if len(name) > NAME_MAX:
        raise CommandError(
            f"That name is {len(name)} characters long; a season's name has at most "
            f"{NAME_MAX}. Choose a shorter one."
        )
    return name, words[at + 1]


def _last_day(text: str, today: date) -> date:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        shown = text if len(text) <= 30 else text[:29] + "…"
        raise CommandError(
            f"`{shown}` is not a date. Write the season's last day as YYYY-MM-DD, e.g. "
            f"`until {today + timedelta(days=30)}`."
        ) from None
    if day < today:
        raise CommandError(
            f"{day_text(day)} has passed (today is {day_text(today)} in this workspace's time "
            "zone). Give today or a later date."
        )
    if (day - today).days >= MAX_DAYS:
        raise CommandError(
            f"A season lasts at most {MAX_DAYS} days, so the latest last day today is "
            f"{today + timedelta(days=MAX_DAYS - 1)}."
        )
    return day


def _admin_only(inv: Invocation, what: str) -> None:
    if not inv.member.is_admin:
        raise CommandError(
            f"{what} a season is for admins of this workspace. Ask one, or run `/season` to "
            "see the one running."
        )


# ---- the command ------------------------------------------------------------------------


async def season_command(ctx: Context, inv: Invocation) -> Reply:
    words = (inv.get("what") or "").split()
    verb = words[0].lower() if words else ""
    if verb == "":
        return await _show(ctx, inv.member.ref)
    if verb == "start":
        return await _start(ctx, inv, words[1:])
    if verb == "end" and len(words) == 1:
        return await _end(ctx, inv)
    if verb == "results" and len(words) > 1:
        return await _results(ctx, inv.member.ref, " ".join(words[1:]))
    raise CommandError(
        f"`/season` takes nothing (the running season), {USAGE}, `/season end` or "
        "`/season results NAME`."
    )


async def _show(ctx: Context, ref: MemberRef) -> Reply:
    async with ctx.engine.connect() as conn:
        tz = await workspace_tz(conn, ref.platform, ref.workspace_id)
        season = await leaderboard.running_season(conn, ref.platform, ref.workspace_id)
        if season is None:
            return await leaderboard.no_season(conn, ref)
    today = ctx.clock.now().astimezone(tz).date()
    left = (season.last_day - today).days + 1
    return Reply.text(
        f"“{season.name}” runs through {day_text(season.last_day)} (it ends at midnight, "
        f"{tz.key} time): {plural(left, 'day')} left, today included. Points earned until "
        "then count on its board, `/leaderboard season`; at the end its top 10 are kept "
        "and announced.",
        title="Season",
    )


async def _start(ctx: Context, inv: Invocation, words: Sequence[str]) -> Reply:
    _admin_only(inv, "Starting")
    name, typed = _start_words(words)
    ref = inv.member.ref
    now = ctx.clock.now()
    try:
        async with ctx.engine.begin() as conn:
            tz = await workspace_tz(conn, ref.platform, ref.workspace_id)
            last_day = _last_day(typed, now.astimezone(tz).date())
            number = await _new_season(conn, inv, name, last_day, tz, now)
    except IntegrityError:  # another admin, on another instance, was quicker
        raise CommandError(
            "A season was started at the same moment. Run `/season` to see it."
        ) from None
    ends_at = _ends_at(last_day, tz)
    await ctx.jobs.schedule_at(
        key=_timer_key(ref.platform, ref.workspace_id, number),
        when=ends_at,
        action=TIMER,
        payload={"platform": ref.platform, "workspace": ref.workspace_id, "number": number},
        platform=ref.platform,
        workspace_id=ref.workspace_id,
    )
    return Reply(
        card=Card(
            title=f"Season “{name}” has begun",
            body=f"From now through {day_text(last_day)}, every point also counts on the season "
            f"board (`/leaderboard season`). When it ends the top {leaderboard.TOP} are kept "
            "and announced here.",
            tone=Tone.GOOD,
        ),
        private=False,
    )


async def _new_season(
    conn: AsyncConnection, inv: Invocation, name: str, last_day: date, tz: ZoneInfo, now: datetime
) -> int:
    ref = inv.member.ref
    running = await leaderboard.running_season(conn, ref.platform, ref.workspace_id)
    if running is not None:
        raise CommandError(
            f"Season “{running.name}” is running through {day_text(running.last_day)}; one "
            "season runs at a time. End it first with `/season end`."
        )
    if await leaderboard.season_named(conn, ref.platform, ref.workspace_id, name) is not None:
        raise CommandError(
            f"There was already a season called “{name}”; its board stays under that name. "
            "Choose another name."
        )
    latest = await conn.scalar(
        select(func.max(seasons.c.number)).where(
            seasons.c.platform == ref.platform, seasons.c.workspace_id == ref.workspace_id
        )
    )
    number = int(latest or 0) + 1
    await conn.execute(
        seasons.insert().values(
            platform=ref.platform,
            workspace_id=ref.workspace_id,
            number=number,
            name=name,
            channel_id=inv.place.channel_id,
            last_day=last_day.isoformat(),
            started_at=now,
            ends_at=_ends_at(last_day, tz),
            running=True,
        )
    )
    return number


async def _end(ctx: Context, inv: Invocation) -> Reply:
    _admin_only(inv, "Ending")
    ref = inv.member.ref
    async with ctx.engine.connect() as conn:
        season = await leaderboard.running_season(conn, ref.platform, ref.workspace_id)
    if season is None:
        raise CommandError("No season is running, so there is none to end.")
    await ctx.jobs.cancel(_timer_key(ref.platform, ref.workspace_id, season.number))
    closed = await close_season(ctx, ref.platform, ref.workspace_id, season.number, early=True)
    if closed is None:  # its own end came first
        return Reply.text(f"Season “{season.name}” has just ended on its own.")
    return Reply.text(
        f"Season “{season.name}” is over. Its top {leaderboard.TOP} are kept and the final "
        f'board is posted in its channel; `/leaderboard season:"{season.name}"` shows it.',
        title="Season ended",
        tone=Tone.GOOD,
    )


async def _results(ctx: Context, ref: MemberRef, name: str) -> Reply:
    async with ctx.engine.connect() as conn:
        tz = await workspace_tz(conn, ref.platform, ref.workspace_id)
        season = await leaderboard.season_named(conn, ref.platform, ref.workspace_id, name)
        if season is None:
            raise await leaderboard.unknown_season(conn, ref, name)
        if season.running:
            return Reply.text(
                f"Season “{season.name}” is still running, through "
                f"{day_text(season.last_day)}; `/leaderboard season` shows its board so far."
            )
        rows = await leaderboard.archived(conn, ref.platform, ref.workspace_id, season.number)
    return Reply(card=leaderboard.archive_card(season, rows, tz), private=False)


# ---- the end ----------------------------------------------------------------------------


async def close_season(
    ctx: Context, platform: str, workspace_id: str, number: int, *, early: bool
) -> tuple[Season, list[Row]] | None:
    """End the season: claim the close, archive its top 10 and announce them, once however
    many instances try. None if it was already closed."""
    now = ctx.clock.now()
    values: dict[str, object] = {"closed_at": now, "running": None}
    if early:
        values["ends_at"] = now
    async with ctx.engine.begin() as conn:
        won = await conn.execute(
            update(seasons)
            .where(
                seasons.c.platform == platform,
                seasons.c.workspace_id == workspace_id,
                seasons.c.number == number,
                seasons.c.closed_at.is_(None),
            )
            .values(**values)
        )
        if not won.rowcount:
            return None
        rows = await _archive(conn, MemberRef(platform, workspace_id, ""), number)
        tz = await workspace_tz(conn, platform, workspace_id)
        season = await leaderboard.season_by_number(conn, platform, workspace_id, number)
    assert season is not None  # the update above just matched it
    card = leaderboard.archive_card(season, rows, tz)
    place = Place(platform, workspace_id, season.channel_id)
    try:
        await ctx.platform.post(place, card, key=_timer_key(platform, workspace_id, number))
    except PlatformError as exc:  # archived all the same; /season results shows it
        log.warning(
            "season %s:%s:%d: announcing its end failed: %s", platform, workspace_id, number, exc
        )
    return season, rows


async def _archive(conn: AsyncConnection, scope: MemberRef, number: int) -> list[Row]:
    """Copy the season's top 10, with their places and names as they are now."""
    top = await leaderboard.board(conn, scope, period=scoring.season_period(number))
    shared = leaderboard.places([(points, correct) for _u, _n, points, _a, correct in top])
    ranked = list(zip(shared, top, strict=True))
    if ranked:
        await conn.execute(
            season_results.insert(),
            [
                {
                    "platform": scope.platform,
                    "workspace_id": scope.workspace_id,
                    "season": number,
                    "user_id": user,
                    "display_name": name,
                    "place": place,
                    "points": points,
                    "answered": answered,
                    "correct": correct,
                }
                for place, (user, name, points, answered, correct) in ranked
            ],
        )
    return [
        (place, name, points, answered, correct)
        for place, (_u, name, points, answered, correct) in ranked
    ]


async def on_timer(ctx: Context, payload: Mapping[str, object]) -> None:
    await close_season(
        ctx,
        str(payload["platform"]),
        str(payload["workspace"]),
        int(str(payload["number"])),
        early=False,
    )


FEATURE = Feature(
    "seasons",
    commands=(
        CommandSpec(
            "season",
            "The running season; admins: start NAME until YYYY-MM-DD, or end it; "
            "results NAME for a past one",
            season_command,
            (
                Option(
                    "what",
                    "Nothing, start NAME until YYYY-MM-DD, end, or results NAME",
                    rest=True,
                ),
            ),
            example='/season start "Winter prep" until 2027-03-01',
        ),
    ),
    timers={TIMER: on_timer},
)
