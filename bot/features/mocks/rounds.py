"""A round: who takes part, matching, then a session per group; settings and the notice."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, replace
from datetime import date, datetime
from functools import partial

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot import matching
from bot.chat import Card, Place, Reply, Tone, plural
from bot.claims import LEASE, renew, settle, step_once
from bot.context import Context, workspace_tz
from bot.features import away
from bot.features.mocks import policy
from bot.features.mocks.groups import display_names, dm
from bot.features.mocks.policy import Profile
from bot.features.mocks.profiles import opted_in, profile_of
from bot.features.mocks.sessions import Round, deliver_session, save_session
from bot.features.plan import state as plan_state
from bot.handlers import CommandError, Invocation
from bot.ports import PlatformError
from bot.scheduler import claim
from bot.store import sql
from bot.store.schema import mock_blocks, mock_groups, mock_profiles, mock_rounds, mock_settings
from bot.timespec import SpecError, parse_spec


@dataclass(frozen=True)
class MockSettings:
    """Where and when a workspace's rounds happen."""

    channel_id: str  # rounds are announced here; private spaces open beside it
    weekday: str  # mon … sun
    time: str  # HH:MM, in the workspace's time zone


async def load_settings(
    conn: AsyncConnection, platform: str, workspace_id: str
) -> MockSettings | None:
    """Where and when the workspace's rounds happen (None until /mock settings)."""
    result = await conn.execute(
        select(mock_settings).where(
            mock_settings.c.platform == platform, mock_settings.c.workspace_id == workspace_id
        )
    )
    row = result.mappings().first()
    if row is None:
        return None
    return MockSettings(channel_id=row["channel_id"], weekday=row["weekday"], time=row["time"])


# --- the round -------------------------------------------------------------------------------


async def run_round(
    ctx: Context, *, platform: str, workspace_id: str, fire_id: int | None = None
) -> str:
    """Match everyone who takes part this round, open a private space per group, send the
    interviewers their packets, and schedule the check-ins. Returns a summary.

    The round is planned in one transaction (groups, check-ins, packets) and then delivered
    step by step; run again for the same claim (``fire_id``) it only finishes the delivery."""
    round_no = await _plan_round(ctx, platform, workspace_id, fire_id)
    return await deliver_round(ctx, round_no)


async def _plan_round(ctx: Context, platform: str, workspace_id: str, fire_id: int | None) -> int:
    now = ctx.clock.now()
    async with ctx.engine.begin() as conn:
        if fire_id is not None:
            planned = await conn.scalar(
                select(mock_rounds.c.id).where(mock_rounds.c.fire_id == fire_id)
            )
            if planned is not None:
                return int(planned)
        tz = await workspace_tz(conn, platform, workspace_id)
        round_no = await _start_round(conn, platform, workspace_id, now=now, fire_id=fire_id)
        today = now.astimezone(tz).date()
        profiles = await _away_paused(conn, platform, workspace_id, today)
        soon = await plan_state.interviews_soon(conn, platform, workspace_id, today)
        who = policy.turnout(profiles, round_no=round_no, today=today, soon=soon)
        await _clear_skips(conn, platform, workspace_id)
        history = await _history(conn, platform, workspace_id, round_no)
        blocks = await _blocks(conn, platform, workspace_id)
        candidates = [policy.candidate_of(p, now) for p in who.taking_part]
        result = matching.match(candidates, history=history, blocks=blocks)
        taking_part = {p.user_id: p for p in who.taking_part}
        names = await display_names(conn, platform, workspace_id, list(taking_part))
        round_ = Round(round_no, platform, workspace_id, None, taking_part, names)
        for group in result.groups:  # an interview near (/plan): interviewed first
            await save_session(conn, ctx, round_, policy.interviewed_first(group, soon))
        await conn.execute(
            update(mock_rounds)
            .where(mock_rounds.c.id == round_no)
            .values(
                waiting=len(result.unmatched),
                summary=round_summary(round_no, result, sitting_out=len(who.sitting_out)),
                unplaced=json.dumps([[u.id, u.reason] for u in result.unmatched]),
            )
        )
    return round_no


async def deliver_round(ctx: Context, round_no: int) -> str:
    """Deliver what a planned round has not delivered yet; recorded done at the end."""
    async with ctx.engine.connect() as conn:
        row = (
            (await conn.execute(select(mock_rounds).where(mock_rounds.c.id == round_no)))
            .mappings()
            .one()
        )
        platform, workspace_id = row["platform"], row["workspace_id"]
        settings = await load_settings(conn, platform, workspace_id)
        groups = (
            await conn.execute(
                select(
                    mock_groups.c.id,
                    mock_groups.c.interviewer,
                    mock_groups.c.candidate,
                    mock_groups.c.observer,
                )
                .where(mock_groups.c.round_id == round_no)
                .order_by(mock_groups.c.id)
            )
        ).all()
        people = sorted({m for _, *ms in groups for m in ms if m})
        profiles = await _profiles(conn, platform, workspace_id, people)
        names = await display_names(conn, platform, workspace_id, people)
    channel = settings.channel_id if settings else None
    near = Place(platform, workspace_id, channel) if channel else None
    round_ = Round(round_no, platform, workspace_id, near, profiles, names)
    for group_id, *_ in groups:
        if row["fire_id"] is not None and not await renew(ctx, row["fire_id"]):
            return str(row["summary"] or "")  # taken over: the other instance finishes
        await deliver_session(ctx, round_, group_id)
    scope = {"platform": platform, "workspace_id": workspace_id}
    for n, (user_id, reason) in enumerate(json.loads(row["unplaced"] or "[]")):
        card = _unplaced_card(matching.Unmatched(user_id, reason))
        send = partial(dm, ctx, round_.ref(user_id), card)
        await step_once(ctx, f"mock-round:{round_no}:unplaced:{n}", **scope, send=send)
    summary = str(row["summary"] or "")
    if near is not None:
        key = f"mock-round:{round_no}:announce"
        await step_once(ctx, key, **scope, send=partial(_announce, ctx, near, summary, key))
    async with ctx.engine.begin() as conn:
        await conn.execute(
            update(mock_rounds)
            .where(mock_rounds.c.id == round_no)
            .values(done_at=ctx.clock.now(), unplaced=None)  # ids kept no longer than needed
        )
    return summary


async def _profiles(
    conn: AsyncConnection, platform: str, workspace_id: str, ids: list[str]
) -> dict[str, Profile]:
    """The profiles of a round's members, whether or not they have left since."""
    rows = await conn.execute(
        select(mock_profiles).where(
            mock_profiles.c.platform == platform,
            mock_profiles.c.workspace_id == workspace_id,
            mock_profiles.c.user_id.in_(ids),
        )
    )
    return {row["user_id"]: profile_of(row) for row in rows.mappings().all()}


def round_summary(round_no: int, result: matching.Matching, *, sitting_out: int) -> str:
    """One line for the admin and the mock channel: groups made, who waits, who sat out."""
    trios = sum(1 for g in result.groups if g.observer)
    return (
        f"Round {round_no}: {plural(len(result.groups) - trios, 'pair')}, {plural(trios, 'trio')}, "
        f"{len(result.unmatched)} waiting, {sitting_out} sitting out."
    )


async def _start_round(
    conn: AsyncConnection, platform: str, workspace_id: str, *, now: datetime, fire_id: int | None
) -> int:
    result = await conn.execute(
        mock_rounds.insert().values(
            platform=platform, workspace_id=workspace_id, started_at=now, fire_id=fire_id
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


async def _away_paused(
    conn: AsyncConnection, platform: str, workspace_id: str, today: date
) -> list[Profile]:
    """The opted-in profiles, with members away (/away) paused until their first day back,
    so the round leaves them out the way it leaves out a /mock pause."""
    back = await away.first_days_back(conn, platform, workspace_id, today)
    return [
        replace(p, paused_until=max(back[p.user_id], p.paused_until or today))
        if p.user_id in back
        else p
        for p in await opted_in(conn, platform, workspace_id)
    ]


async def _clear_skips(conn: AsyncConnection, platform: str, workspace_id: str) -> None:
    """A skip lasts one round: this one."""
    await conn.execute(
        update(mock_profiles)
        .where(
            mock_profiles.c.platform == platform,
            mock_profiles.c.workspace_id == workspace_id,
            mock_profiles.c.skip_next.is_(True),
        )
        .values(skip_next=False)
    )


async def _history(
    conn: AsyncConnection, platform: str, workspace_id: str, round_no: int
) -> dict[frozenset[str], int]:
    """For each pair who shared a group, how many rounds ago they last did."""
    rows = await conn.execute(
        select(
            mock_groups.c.round_id,
            mock_groups.c.interviewer,
            mock_groups.c.candidate,
            mock_groups.c.observer,
        ).where(mock_groups.c.platform == platform, mock_groups.c.workspace_id == workspace_id)
    )
    history: dict[frozenset[str], int] = {}
    for round_id, *people in rows.all():
        ago = round_no - int(round_id)
        present = [p for p in people if p]
        for i, a in enumerate(present):
            for b in present[i + 1 :]:
                key = frozenset((a, b))
                history[key] = min(history.get(key, ago), ago)
    return history


async def _blocks(conn: AsyncConnection, platform: str, workspace_id: str) -> set[frozenset[str]]:
    rows = await conn.execute(
        select(mock_blocks.c.user_id, mock_blocks.c.blocked_user_id).where(
            mock_blocks.c.platform == platform, mock_blocks.c.workspace_id == workspace_id
        )
    )
    return {frozenset((a, b)) for a, b in rows.all()}


def _unplaced_card(left: matching.Unmatched) -> Card:
    reason = (
        "nobody else opted in this round"
        if left.reason == "alone"
        else "no group fits everyone's preferences this round"
    )
    return Card(
        title="No mock partner this round",
        body=f"Sorry: {reason}. You stay opted in for the next round.",
        tone=Tone.INFO,
    )


async def _announce(ctx: Context, channel: Place, summary: str, key: str) -> None:
    with contextlib.suppress(PlatformError):
        await ctx.platform.post(
            channel,
            Card(
                title="Mock interview round",
                body=summary + " Check your messages for your "
                "partner, your private space and your interviewer packet.",
                tone=Tone.INFO,
            ),
            key=key,
        )


# --- settings, the admin's round, the notice ---------------------------------------------------


async def settings_command(ctx: Context, inv: Invocation) -> Reply:
    ref = inv.member.ref
    day = str(inv.options.get("day", "mon"))
    time_text = str(inv.options.get("time", "18:00"))
    try:
        spec = parse_spec(f"weekly {day} {time_text}")
    except SpecError as exc:
        raise CommandError(str(exc)) from None
    channel = inv.get("channel") or inv.place.channel_id
    reason = await ctx.platform.check_channel(Place(ref.platform, ref.workspace_id, channel))
    if reason:
        raise CommandError(f"I cannot post in <#{channel}>: {reason}. Nothing was saved.")
    _, weekday, hhmm = spec.text.split()
    async with ctx.engine.begin() as conn:
        await sql.upsert(
            conn,
            mock_settings,
            {
                "platform": ref.platform,
                "workspace_id": ref.workspace_id,
                "channel_id": channel,
                "weekday": weekday,
                "time": hhmm,
            },
            keys=("platform", "workspace_id"),
            update=("channel_id", "weekday", "time"),
        )
        tz = await workspace_tz(conn, ref.platform, ref.workspace_id)
    await ctx.jobs.refresh()
    return Reply.text(
        f"Mock rounds: every {weekday} at {hhmm} ({tz.key}), announced in "
        f"<#{channel}>; a notice the day before lets people skip.",
        tone=Tone.GOOD,
    )


NOW_JOB = "mock-now"  # an admin's /mock round now, claimed like a scheduled round


async def round_now(
    ctx: Context, *, platform: str, workspace_id: str, slot: str | None = None
) -> str | None:
    """A round made now under a leased claim on "the round after the last finished one", so a double
    click makes one round, and a round cut short by a crash is finished by another instance
    (which passes the claim's ``slot`` again). None if that round is already being made."""
    now = ctx.clock.now()
    async with ctx.engine.begin() as conn:
        if slot is None:
            last = await conn.scalar(
                select(func.max(mock_rounds.c.id)).where(
                    mock_rounds.c.platform == platform,
                    mock_rounds.c.workspace_id == workspace_id,
                    mock_rounds.c.done_at.is_not(None),
                )
            )
            slot = f"after-{last or 0}"
        fire_id = await claim(
            conn,
            platform=platform,
            workspace_id=workspace_id,
            job=f"{NOW_JOB}:{platform}:{workspace_id}",
            fire_time=now,
            local_time=slot,
            now=now,
            holder=ctx.instance_id,
            lease=LEASE,
        )
    if fire_id is None:
        return None
    summary = await run_round(ctx, platform=platform, workspace_id=workspace_id, fire_id=fire_id)
    await settle(ctx, fire_id)
    return summary


async def round_now_command(ctx: Context, inv: Invocation) -> Reply:
    ref = inv.member.ref
    summary = await round_now(ctx, platform=ref.platform, workspace_id=ref.workspace_id)
    if summary is None:
        raise CommandError(
            "A round is being made right now (another admin, or a double click); its "
            "summary will be in the mock channel. Run this again once it is out for another."
        )
    return Reply.text(summary, title="Mock round started", tone=Tone.GOOD)


async def notice(ctx: Context, *, platform: str, workspace_id: str) -> None:
    """The day before a round: a reminder in the mock channel that /mock skip exists."""
    async with ctx.engine.connect() as conn:
        settings = await load_settings(conn, platform, workspace_id)
    if settings is None:
        return
    with contextlib.suppress(PlatformError):
        await ctx.platform.post(
            Place(platform, workspace_id, settings.channel_id),
            Card(
                title="Mock interview round tomorrow",
                body=f"Pairs are made tomorrow at {settings.time}. Can't make it this week? "
                "`/mock skip` sits out one round; `/mock join` to take part.",
                tone=Tone.INFO,
            ),
        )
