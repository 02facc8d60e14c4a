"""The leaderboard, read from maintained aggregates (never by scanning answers); the
calibration board (`/leaderboard calibration`), counted from the rated answers; and season
boards: the running season's (`/leaderboard season`, from its own score period) and a past
season's archived top 10 (`/leaderboard season:"NAME"`). bot/features/seasons.py starts and
ends seasons and reads them through the helpers here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, RowMapping, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot import scoring
from bot.chat import Card, MemberRef, Reply, Tone
from bot.context import Context, workspace_tz
from bot.features import confidence
from bot.handlers import CommandError, CommandSpec, Feature, Invocation, Kind, Option
from bot.options import PERIOD, TOPIC
from bot.store import sql
from bot.store.schema import members, scores, season_results, seasons

MEDALS = ("🥇", "🥈", "🥉")
TOP = 10
PERIOD_NAMES = {"week": "this week", "month": "this month", "all": "of all time"}
BOARD_PERIOD = replace(
    PERIOD,
    help="Which board: this week (default), this month, all time, or the running season",
    choices=(*PERIOD.choices, "season"),
)
SEASON = Option(
    "season",
    "A season by name (quoted if it has spaces): a past one's archived top 10",
    positional=False,
)


def _scoped(ref: MemberRef, period: str, topic: str) -> list[ColumnElement[bool]]:
    return [
        scores.c.platform == ref.platform,
        scores.c.workspace_id == ref.workspace_id,
        scores.c.period == period,
        scores.c.topic == topic,
    ]


async def board(
    conn: AsyncConnection,
    ref: MemberRef,
    *,
    period: str = "all",
    topic: str = "*",
    limit: int = TOP,
) -> list[tuple[str, str, int, int, int]]:
    """Top members: (user id, display name, points, answered, correct), best first."""
    rows = await conn.execute(
        select(
            scores.c.user_id,
            func.coalesce(members.c.display_name, scores.c.user_id),
            scores.c.points,
            scores.c.answered,
            scores.c.correct,
        )
        .select_from(sql.with_names(scores))
        .where(*_scoped(ref, period, topic))
        .order_by(scores.c.points.desc(), scores.c.correct.desc(), scores.c.user_id)
        .limit(limit)
    )
    return [(r[0], r[1], r[2], r[3], r[4]) for r in rows]


async def rank(
    conn: AsyncConnection, ref: MemberRef, *, period: str = "all", topic: str = "*"
) -> tuple[int, int] | None:
    """The member's (rank, points), ties broken as the board breaks them; None if unranked."""
    found = await standing(conn, ref, period=period, topic=topic)
    return None if found is None else (found.place, found.points)


@dataclass(frozen=True)
class Standing:
    place: int
    points: int
    correct: int
    more: int  # members with more points: where /rank counts its neighbours' places from


async def standing(
    conn: AsyncConnection, ref: MemberRef, *, period: str = "all", topic: str = "*"
) -> Standing | None:
    """The member's place and points, ties broken as the board breaks them; None if
    unranked."""
    mine = (
        await conn.execute(
            select(scores.c.points, scores.c.correct).where(
                *_scoped(ref, period, topic), scores.c.user_id == ref.user_id
            )
        )
    ).first()
    if mine is None:
        return None
    points, correct = mine
    # Two counts, each a plain range over the covering index: more points, then equal
    # points with more correct answers. Members equal on both share the place.
    more = await conn.scalar(
        select(func.count()).where(*_scoped(ref, period, topic), scores.c.points > points)
    )
    tied = await conn.scalar(
        select(func.count()).where(
            *_scoped(ref, period, topic),
            scores.c.points == points,
            scores.c.correct > correct,
        )
    )
    return Standing(int(more or 0) + int(tied or 0) + 1, int(points), int(correct), int(more or 0))


async def places_around(
    conn: AsyncConnection,
    ref: MemberRef,
    *,
    period: str,
    mine: Standing,
    around: Sequence[tuple[int, tuple[str, str, int, int]]],
    topic: str = "*",
) -> list[int]:
    """The place of each row ``neighbours`` returned, in order. The rows are consecutive in
    board order, so a row that starts a tie group is placed by its position (the member's,
    plus its offset); one that continues a group shares its place. Only the top row's group
    may begin above the window: it alone is counted (``place_near``)."""
    scope = _scoped(ref, period, topic)
    same_before = await conn.scalar(  # tied with the member on both, listed before them
        select(func.count()).where(
            *scope,
            scores.c.points == mine.points,
            scores.c.correct == mine.correct,
            scores.c.user_id < ref.user_id,
        )
    )
    position = mine.place - 1 + int(same_before or 0)  # rows before the member's own
    places: list[int] = []
    previous: tuple[int, int] | None = None
    for offset, (_user, _name, points, correct) in around:
        key = (points, correct)
        if key == (mine.points, mine.correct):
            place = mine.place
        elif key == previous:
            place = places[-1]
        elif not places:
            place = await place_near(
                conn, ref, period=period, row=key, anchor=(mine.points, mine.more), topic=topic
            )
        else:
            place = position + offset + 1
        places.append(place)
        previous = key
    return places


async def place_near(
    conn: AsyncConnection,
    ref: MemberRef,
    *,
    period: str,
    row: tuple[int, int],
    anchor: tuple[int, int],
    topic: str = "*",
) -> int:
    """The place of a board row of (points, correct), from a nearby ``anchor`` of (points,
    members with more points): a count over the few members between the two instead of
    over everyone ahead (/rank's neighbours sit next to the member)."""
    points, correct = row
    anchor_points, anchor_more = anchor
    scope = _scoped(ref, period, topic)
    low, high = sorted((points, anchor_points))
    between = await conn.scalar(
        select(func.count()).where(*scope, scores.c.points > low, scores.c.points <= high)
    )
    more = anchor_more + (-1 if points >= anchor_points else 1) * int(between or 0)
    tied = await conn.scalar(
        select(func.count()).where(*scope, scores.c.points == points, scores.c.correct > correct)
    )
    return more + int(tied or 0) + 1


def places(standings: Sequence[tuple[int, int]]) -> list[int]:
    """The place of each (points, correct answers) in board order, from the top: members
    equal on both share a place, and the next one down counts everyone above (1, 1, 3)."""
    out: list[int] = []
    for i, standing in enumerate(standings):
        out.append(out[-1] if i and standing == standings[i - 1] else i + 1)
    return out


def place_label(place: int) -> str:
    """A medal for the first three places (shared by a tie), else the number."""
    return MEDALS[place - 1] if place <= len(MEDALS) else f"{place}."


def pts(points: int) -> str:
    """Points as the boards write them: "1 pt", "18 pts"."""
    return f"{points:,} {'pt' if points == 1 else 'pts'}"


def tally(answered: int, correct: int) -> str:
    """How many answers and how many right. Open answers are counted but are neither right
    nor wrong, so "0 right" is never said: it would wrong a member who only wrote them."""
    return f"{answered} answered, {correct} right" if correct else f"{answered} answered"


async def neighbours(
    conn: AsyncConnection, ref: MemberRef, *, period: str, topic: str = "*", reach: int = 2
) -> list[tuple[int, tuple[str, str, int, int]]]:
    """The member and up to ``reach`` members just above and below, as (offset, row): the
    row is (user id, name, points, correct answers).

    Two small index seeks from the member's own row, however long the board is.
    """
    mine = (
        await conn.execute(
            select(scores.c.points, scores.c.correct).where(
                *_scoped(ref, period, topic), scores.c.user_id == ref.user_id
            )
        )
    ).first()
    if mine is None:
        return []
    points, correct = mine
    better = (
        (scores.c.points > points)
        | ((scores.c.points == points) & (scores.c.correct > correct))
        | (
            (scores.c.points == points)
            & (scores.c.correct == correct)
            & (scores.c.user_id < ref.user_id)
        )
    )
    scope = _scoped(ref, period, topic)
    # points >= mine (<= mine below) changes nothing in the result, but lets SQLite seek to
    # the member's place in the board index instead of walking it from one end.
    above = await _rows(
        conn,
        (*scope, scores.c.points >= points, better),
        (scores.c.points, scores.c.correct, scores.c.user_id.desc()),
        reach,
    )
    below = await _rows(
        conn,
        (*scope, scores.c.points <= points, ~better, scores.c.user_id != ref.user_id),
        (scores.c.points.desc(), scores.c.correct.desc(), scores.c.user_id),
        reach,
    )
    (me,) = await _rows(conn, (*scope, scores.c.user_id == ref.user_id), (), 1)
    rows = [(-(i + 1), r) for i, r in enumerate(above)][::-1]
    rows.append((0, me))
    rows += [(i + 1, r) for i, r in enumerate(below)]
    return rows


async def _rows(
    conn: AsyncConnection,
    where: Sequence[ColumnElement[bool]],
    order: Sequence[ColumnElement[Any]],
    limit: int,
) -> list[tuple[str, str, int, int]]:
    """Board rows as (user id, name, points, correct answers)."""
    name = func.coalesce(members.c.display_name, scores.c.user_id)
    query = (
        select(scores.c.user_id, name, scores.c.points, scores.c.correct)
        .select_from(sql.with_names(scores))
        .where(*where)
        .order_by(*order)
        .limit(limit)
    )
    return [(str(r[0]), str(r[1]), int(r[2]), int(r[3])) for r in (await conn.execute(query)).all()]


BOARD = Option(
    "board",
    "points (default), or calibration: who says how sure they are most truthfully",
    Kind.CHOICE,
    ("points", "calibration"),
)


async def show_calibration(ctx: Context, inv: Invocation) -> Reply:
    """Members with at least BOARD_MINIMUM rated answers, by Brier score (lower is better)."""
    if inv.get("season"):
        raise CommandError(
            "The calibration board counts every rated answer of all time, not a season's. "
            "Run `/leaderboard calibration` alone."
        )
    if inv.get("period") or inv.get("topic"):
        raise CommandError(
            "The calibration board counts every rated answer of all time, across topics, so "
            "it takes no period or topic. Run `/leaderboard calibration` alone."
        )
    ref = inv.member.ref
    async with ctx.engine.connect() as conn:
        ranked = await confidence.board(conn, ref)
        mine = await confidence.calibration(conn, ref)
    need = confidence.BOARD_MINIMUM
    title = "Calibration board · of all time"
    if not ranked:
        body = (
            f"Nobody has rated {need} answers yet. Press How sure were you? under your "
            "answers to get on this board."
        )
        return Reply(card=Card(title=title, body=body, tone=Tone.INFO), private=False)
    lines = [
        f"{place_label(place)} **{name}**: Brier {cal.brier or 0.0:.3f} · {cal.rated} rated"
        for place, (_user, name, cal) in enumerate(ranked[:TOP], 1)
    ]
    at = next((i for i, (user, _n, _c) in enumerate(ranked, 1) if user == ref.user_id), None)
    yours = (
        f"You are #{at} of {len(ranked)}."
        if at
        else f"You have rated {mine.rated} of the {need} answers needed to join this board."
    )
    return Reply(
        card=Card(
            title=title,
            body="\n".join(lines),
            footer=f"Members with {need} or more rated answers; a lower Brier score means "
            "your confidence matches your results better.",
            tone=Tone.INFO,
        ),
        private=False,
        notes=(Card(title="", body=yours, tone=Tone.INFO),),
    )


async def show(ctx: Context, inv: Invocation) -> Reply:
    if inv.get("board") == "calibration":
        return await show_calibration(ctx, inv)
    if inv.get("season") is not None or inv.get("period") == "season":
        return await show_season(ctx, inv)
    ref = inv.member.ref
    period_kind = inv.get("period") or "week"
    topic = inv.get("topic") or "*"
    async with ctx.engine.connect() as conn:
        tz = await workspace_tz(conn, ref.platform, ref.workspace_id)
        period = scoring.period_key(period_kind, ctx.clock.now(), tz)
        top = await board(conn, ref, period=period, topic=topic)
        mine = await rank(conn, ref, period=period, topic=topic)
    named = PERIOD_NAMES[period_kind]
    return _points_reply(f"Leaderboard · {named}", named, topic, top, mine)


def _points_reply(
    title: str,
    named: str,
    topic: str,
    top: list[tuple[str, str, int, int, int]],
    mine: tuple[int, int] | None,
) -> Reply:
    """A points board for the channel, and the asker's own place ``named`` ("this week")."""
    if topic != "*":
        title += f" · {topic.replace('-', ' ')}"
    if not top:
        return Reply(
            card=Card(
                title=title,
                body="No points yet. Answer a drop to get on the board.",
                tone=Tone.INFO,
            ),
            private=False,
        )
    shared = places([(points, correct) for _u, _n, points, _a, correct in top])
    lines = [
        f"{place_label(place)} **{name}**: {pts(points)} · {tally(answered, correct)}"
        for place, (_user, name, points, answered, correct) in zip(shared, top, strict=True)
    ]
    ties = len(set(shared)) < len(shared)
    # The board goes to the channel; the asker's own place is told to them alone.
    yours = (
        f"You are #{mine[0]} {named} with {pts(mine[1])}."
        if mine
        else "You are not on this board yet: answer a drop to join it."
    )
    return Reply(
        card=Card(
            title=title,
            body="\n".join(lines),
            footer="Equal points and right answers share a place." if ties else "",
            tone=Tone.INFO,
        ),
        private=False,
        notes=(Card(title="", body=yours, tone=Tone.INFO),),
    )


# ---- seasons ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Season:
    number: int
    name: str
    channel_id: str
    last_day: date
    started_at: datetime
    ends_at: datetime
    running: bool

    def first_day(self, tz: ZoneInfo) -> date:
        return self.started_at.astimezone(tz).date()


def day_text(day: date) -> str:
    """A date as members read it: Mon 1 Mar 2027."""
    return f"{day:%a} {day.day} {day:%b %Y}"


def _season(r: RowMapping) -> Season:
    return Season(
        int(r["number"]),
        str(r["name"]),
        str(r["channel_id"]),
        date.fromisoformat(r["last_day"]),
        r["started_at"],
        r["ends_at"],
        bool(r["running"]),
    )


async def running_season(conn: AsyncConnection, platform: str, workspace_id: str) -> Season | None:
    row = (
        (
            await conn.execute(
                select(seasons).where(
                    seasons.c.platform == platform,
                    seasons.c.workspace_id == workspace_id,
                    seasons.c.running.is_(True),
                )
            )
        )
        .mappings()
        .first()
    )
    return None if row is None else _season(row)


async def season_named(
    conn: AsyncConnection, platform: str, workspace_id: str, name: str
) -> Season | None:
    """The workspace's season of that name, however it is capitalised (compared in Python:
    SQLite's lower() knows only ASCII)."""
    rows = await conn.execute(
        select(seasons).where(
            seasons.c.platform == platform, seasons.c.workspace_id == workspace_id
        )
    )
    wanted = name.strip().casefold()
    found = next((r for r in rows.mappings() if str(r["name"]).casefold() == wanted), None)
    return None if found is None else _season(found)


async def season_by_number(
    conn: AsyncConnection, platform: str, workspace_id: str, number: int
) -> Season | None:
    row = (
        (
            await conn.execute(
                select(seasons).where(
                    seasons.c.platform == platform,
                    seasons.c.workspace_id == workspace_id,
                    seasons.c.number == number,
                )
            )
        )
        .mappings()
        .first()
    )
    return None if row is None else _season(row)


async def season_names(conn: AsyncConnection, platform: str, workspace_id: str) -> list[str]:
    """Every season's name, the newest first."""
    found = await conn.scalars(
        select(seasons.c.name)
        .where(seasons.c.platform == platform, seasons.c.workspace_id == workspace_id)
        .order_by(seasons.c.number.desc())
    )
    return list(found.all())


async def unknown_season(conn: AsyncConnection, ref: MemberRef, name: str) -> CommandError:
    """The refusal for a season name nobody used here, with the names that exist."""
    known = await season_names(conn, ref.platform, ref.workspace_id)
    shown = name if len(name) <= 40 else name[:39] + "…"
    if not known:
        return CommandError(
            f"There is no season called “{shown}”: this workspace has had no seasons yet. "
            "An admin starts one with `/season start NAME until YYYY-MM-DD`."
        )
    listed = ", ".join(f"“{n}”" for n in known[:10])
    return CommandError(
        f"There is no season called “{shown}”. Seasons here: {listed}. Put a name with "
        'spaces in quotes, e.g. `/leaderboard season:"Winter prep"`.'
    )


async def archived(
    conn: AsyncConnection, platform: str, workspace_id: str, number: int
) -> list[tuple[int, str, int, int, int]]:
    """A past season's top 10 as archived: (place, name, points, answered, correct)."""
    rows = await conn.execute(
        select(
            season_results.c.place,
            season_results.c.display_name,
            season_results.c.points,
            season_results.c.answered,
            season_results.c.correct,
        )
        .where(
            season_results.c.platform == platform,
            season_results.c.workspace_id == workspace_id,
            season_results.c.season == number,
        )
        .order_by(season_results.c.place, season_results.c.correct.desc(), season_results.c.user_id)
    )
    return [(r[0], r[1], r[2], r[3], r[4]) for r in rows]


def archive_card(
    season: Season, rows: Sequence[tuple[int, str, int, int, int]], tz: ZoneInfo
) -> Card:
    """A finished season's final top 10 (the announcement, and its board afterwards)."""
    ran = f"{day_text(season.first_day(tz))} to {day_text(season.ends_at.astimezone(tz).date())}"
    if not rows:
        body = "Nobody earned points during this season."
    else:
        body = "\n".join(
            f"{place_label(place)} **{name}**: {pts(points)} · {tally(answered, correct)}"
            for place, name, points, answered, correct in rows
        )
    return Card(
        title=f"Season “{season.name}” · final top {TOP}",
        body=body,
        footer=f"Ran from {ran}.",
        tone=Tone.INFO,
    )


async def show_season(ctx: Context, inv: Invocation) -> Reply:
    """The running season's live board, or a past season's archived top 10 by name."""
    ref = inv.member.ref
    name = inv.get("season")
    if name is not None and inv.get("period") not in (None, "season"):
        raise CommandError(
            "A season has its own dates, so it takes no period. Run "
            '`/leaderboard season:"NAME"` without `period`.'
        )
    topic = inv.get("topic") or "*"
    async with ctx.engine.connect() as conn:
        tz = await workspace_tz(conn, ref.platform, ref.workspace_id)
        if name is None:
            season = await running_season(conn, ref.platform, ref.workspace_id)
            if season is None:
                return await no_season(conn, ref)
        elif (season := await season_named(conn, ref.platform, ref.workspace_id, name)) is None:
            raise await unknown_season(conn, ref, name)
        if not season.running:
            if topic != "*":
                raise CommandError(
                    f"Season “{season.name}” is over and only its overall top {TOP} was kept, "
                    "so it takes no topic. Run it without `topic`."
                )
            rows = await archived(conn, ref.platform, ref.workspace_id, season.number)
            return Reply(card=archive_card(season, rows, tz), private=False)
        period = scoring.season_period(season.number)
        top = await board(conn, ref, period=period, topic=topic)
        mine = await rank(conn, ref, period=period, topic=topic)
    reply = _points_reply(
        f"Leaderboard · season “{season.name}”", f"in season “{season.name}”", topic, top, mine
    )
    if reply.card is not None:
        until = f"Runs through {day_text(season.last_day)}."
        footer = f"{reply.card.footer} {until}".strip()
        reply = replace(reply, card=replace(reply.card, footer=footer))
    return reply


async def no_season(conn: AsyncConnection, ref: MemberRef) -> Reply:
    """What to say when no season runs: how to start one, and the past ones' names."""
    known = await season_names(conn, ref.platform, ref.workspace_id)
    past = (
        f" Past seasons: {', '.join(f'“{n}”' for n in known[:10])}; "
        '`/leaderboard season:"NAME"` shows one.'
        if known
        else ""
    )
    return Reply.text(
        "No season is running. An admin starts one with `/season start NAME until "
        f"YYYY-MM-DD`.{past}",
        title="Season board",
    )


FEATURE = Feature(
    "leaderboard",
    commands=(
        CommandSpec(
            "leaderboard",
            "The board for this week (or month, all time, the running season or a past one), "
            "optionally for one topic; or the calibration board",
            show,
            (BOARD_PERIOD, TOPIC, BOARD, SEASON),
            example="/leaderboard month statistics",
        ),
    ),
)
