"""The leaderboard, read from maintained aggregates (never by scanning answers); and the
calibration board (`/leaderboard calibration`), counted from the rated answers."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot import scoring
from bot.chat import Card, MemberRef, Reply, Tone
from bot.context import Context, workspace_tz
from bot.features import confidence
from bot.handlers import CommandError, CommandSpec, Feature, Invocation, Kind, Option
from bot.options import PERIOD, TOPIC
from bot.store import sql
from bot.store.schema import members, scores

MEDALS = ("🥇", "🥈", "🥉")
TOP = 10
PERIOD_NAMES = {"week": "this week", "month": "this month", "all": "of all time"}


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
    ahead = int(more or 0) + int(tied or 0)
    return int(ahead or 0) + 1, int(points)


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
) -> list[tuple[int, tuple[str, str, int]]]:
    """The member and up to ``reach`` members just above and below, as (offset, row).

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
    name = func.coalesce(members.c.display_name, scores.c.user_id)
    joined = sql.with_names(scores)
    columns = (scores.c.user_id, name, scores.c.points)
    above = (
        await conn.execute(
            select(*columns)
            .select_from(joined)
            .where(*_scoped(ref, period, topic), better)
            .order_by(scores.c.points, scores.c.correct, scores.c.user_id.desc())
            .limit(reach)
        )
    ).all()
    below = (
        await conn.execute(
            select(*columns)
            .select_from(joined)
            .where(*_scoped(ref, period, topic), ~better, scores.c.user_id != ref.user_id)
            .order_by(scores.c.points.desc(), scores.c.correct.desc(), scores.c.user_id)
            .limit(reach)
        )
    ).all()
    me = (
        await conn.execute(
            select(*columns)
            .select_from(joined)
            .where(*_scoped(ref, period, topic), scores.c.user_id == ref.user_id)
        )
    ).one()
    rows = [(-(i + 1), (r[0], r[1], r[2])) for i, r in enumerate(above)][::-1]
    rows.append((0, (me[0], me[1], me[2])))
    rows += [(i + 1, (r[0], r[1], r[2])) for i, r in enumerate(below)]
    return rows


BOARD = Option(
    "board",
    "points (default), or calibration: who says how sure they are most truthfully",
    Kind.CHOICE,
    ("points", "calibration"),
)


async def show_calibration(ctx: Context, inv: Invocation) -> Reply:
    """Members with at least BOARD_MINIMUM rated answers, by Brier score (lower is better)."""
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
    ref = inv.member.ref
    period_kind = inv.get("period") or "week"
    topic = inv.get("topic") or "*"
    async with ctx.engine.connect() as conn:
        tz = await workspace_tz(conn, ref.platform, ref.workspace_id)
        period = scoring.period_key(period_kind, ctx.clock.now(), tz)
        top = await board(conn, ref, period=period, topic=topic)
        mine = await rank(conn, ref, period=period, topic=topic)
    title = f"Leaderboard · {PERIOD_NAMES[period_kind]}"
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
        f"You are #{mine[0]} {PERIOD_NAMES[period_kind]} with {pts(mine[1])}."
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


FEATURE = Feature(
    "leaderboard",
    commands=(
        CommandSpec(
            "leaderboard",
            "The board for this week (or month, or all time), optionally for one topic; "
            "or the calibration board",
            show,
            (PERIOD, TOPIC, BOARD),
            example="/leaderboard month statistics",
        ),
    ),
)
