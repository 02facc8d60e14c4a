"""A round: match, open a private space per group, send interviewer-only packets."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import RowMapping, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot import bank, matching
from bot.chat import Card, Field, MemberRef, Place, Reply, Tone
from bot.context import Context, workspace_tz
from bot.features.mocks.common import (
    FOLLOW_UP_ACTION,
    FOLLOW_UP_AFTER,
    PACKET_SIZE,
    SLOTS_SHOWN,
    display_names,
    dm,
)
from bot.handlers import CommandError, Invocation
from bot.ports import PlatformError
from bot.store import ops
from bot.store.schema import (
    SHIPPED,
    mock_blocks,
    mock_checkins,
    mock_groups,
    mock_packets,
    mock_profiles,
    mock_rounds,
    mock_settings,
    questions,
)
from bot.timespec import SpecError, expand, parse_availability
from questions.extras import rubrics
from questions.schema import BehaviouralItem, Item, OpenItem, ScenarioItem

# Which bank items make an interviewer's packet, by the candidate's focus.
_PACKET_KINDS = {
    "technical": ("open",),
    "system-design": ("scenario",),
    "behavioural": ("behavioural",),
    "mixed": ("open", "scenario", "behavioural"),
}
_DIFFICULTY_BY_LEVEL = {
    "junior": ("easy", "medium"),
    "mid": ("medium",),
    "senior": ("medium", "hard"),
}


def candidate_of(row: RowMapping, start: datetime) -> matching.Candidate:
    windows = expand(parse_availability(row["availability"]), row["timezone"], start)
    return matching.Candidate(
        id=row["user_id"],
        level=matching.LEVELS.index(row["level"]),
        focus=row["focus"],
        windows=windows,
    )


async def _history(
    conn: AsyncConnection, platform: str, workspace_id: str, round_no: int
) -> dict[frozenset[str], int]:
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


async def _settings(conn: AsyncConnection, platform: str, workspace_id: str) -> RowMapping | None:
    """Where and when the workspace's rounds happen (None until /mock settings)."""
    result = await conn.execute(
        select(mock_settings).where(
            mock_settings.c.platform == platform, mock_settings.c.workspace_id == workspace_id
        )
    )
    return result.mappings().first()


async def run_round(ctx: Context, *, platform: str, workspace_id: str) -> str:
    """Match everyone who takes part this round, open a private space per group, send the
    interviewers their packets, and schedule the check-in. Returns a summary."""
    now = ctx.clock.now()
    async with ctx.engine.begin() as conn:
        settings = await _settings(conn, platform, workspace_id)
        tz = await workspace_tz(conn, platform, workspace_id)
        today = now.astimezone(tz).date().isoformat()
        result = await conn.execute(
            mock_rounds.insert().values(
                platform=platform, workspace_id=workspace_id, started_at=now
            )
        )
        key = result.inserted_primary_key
        assert key is not None
        round_no = int(key[0])
        profiles = (
            (
                await conn.execute(
                    select(mock_profiles).where(
                        mock_profiles.c.platform == platform,
                        mock_profiles.c.workspace_id == workspace_id,
                        mock_profiles.c.active.is_(True),
                    )
                )
            )
            .mappings()
            .all()
        )
        taking_part: list[RowMapping] = []
        sitting_out: list[RowMapping] = []
        for row in profiles:
            paused = row["paused_until"] is not None and row["paused_until"] > today
            rested = (
                row["cadence"] == "fortnightly"
                and row["last_round"] is not None
                and round_no - int(row["last_round"]) < 2
            )
            (sitting_out if paused or row["skip_next"] or rested else taking_part).append(row)
        await conn.execute(
            update(mock_profiles)
            .where(
                mock_profiles.c.platform == platform,
                mock_profiles.c.workspace_id == workspace_id,
                mock_profiles.c.skip_next.is_(True),
            )
            .values(skip_next=False)
        )
        history = await _history(conn, platform, workspace_id, round_no)
        blocks = {
            frozenset((a, b))
            for a, b in (
                await conn.execute(
                    select(mock_blocks.c.user_id, mock_blocks.c.blocked_user_id).where(
                        mock_blocks.c.platform == platform,
                        mock_blocks.c.workspace_id == workspace_id,
                    )
                )
            ).all()
        }
        by_id = {row["user_id"]: row for row in taking_part}
        result_match = matching.match(
            [candidate_of(row, now) for row in taking_part], history=history, blocks=blocks
        )
        await conn.execute(
            update(mock_rounds)
            .where(mock_rounds.c.id == round_no)
            .values(waiting=len(result_match.unmatched))
        )
        names = await display_names(conn, platform, workspace_id, list(by_id))
    channel = settings["channel_id"] if settings else None
    near = Place(platform, workspace_id, channel) if channel else None
    for group in result_match.groups:
        await _open_session(
            ctx,
            round_no=round_no,
            near=near,
            group=group,
            profiles=by_id,
            names=names,
            platform=platform,
            workspace_id=workspace_id,
        )
    for left in result_match.unmatched:
        reason = (
            "nobody else opted in this round"
            if left.reason == "alone"
            else "no group fits everyone's preferences this round"
        )
        await dm(
            ctx,
            MemberRef(platform, workspace_id, left.id),
            Card(
                title="No mock partner this round",
                body=f"Sorry: {reason}. You stay opted in for the next round.",
                tone=Tone.INFO,
            ),
        )
    trios = sum(1 for g in result_match.groups if g.observer)
    summary = (
        f"Round {round_no}: {len(result_match.groups) - trios} pair(s), {trios} trio(s), "
        f"{len(result_match.unmatched)} waiting, {len(sitting_out)} sitting out."
    )
    if channel:
        with contextlib.suppress(PlatformError):
            await ctx.platform.post(
                Place(platform, workspace_id, channel),
                Card(
                    title="Mock interview round",
                    body=summary + " Check your messages for your "
                    "partner, your private space and your interviewer packet.",
                    tone=Tone.INFO,
                ),
            )
    return summary


def _slots(
    group: matching.Group, profiles: Mapping[str, RowMapping], start: datetime
) -> list[tuple[datetime, datetime]]:
    people = [candidate_of(profiles[m], start) for m in group.members]
    common = [
        w
        for w in matching.common_windows(*people)
        if w[1] - w[0] >= timedelta(minutes=matching.SESSION)
    ]
    return common[:SLOTS_SHOWN]


def _local(when: datetime, zone: str) -> str:
    return when.astimezone(ZoneInfo(zone)).strftime("%a %d %b %H:%M")


async def _open_session(
    ctx: Context,
    *,
    round_no: int,
    near: Place | None,
    group: matching.Group,
    profiles: Mapping[str, RowMapping],
    names: Mapping[str, str],
    platform: str,
    workspace_id: str,
) -> None:
    now = ctx.clock.now()
    refs = [MemberRef(platform, workspace_id, m) for m in group.members]
    title = " & ".join(names[m] for m in group.members)
    try:
        space = await ctx.platform.open_group(refs, f"Mock interview: {title}", near=near)
        space_id = space.channel_id + (f"/{space.thread_id}" if space.thread_id else "")
    except PlatformError:
        space, space_id = None, None
    async with ctx.engine.begin() as conn:
        result = await conn.execute(
            mock_groups.insert().values(
                platform=platform,
                workspace_id=workspace_id,
                round_id=round_no,
                interviewer=group.interviewer,
                candidate=group.candidate,
                observer=group.observer,
                channel_id=space_id,
                reasons=json.dumps([_reason_json(r) for r in group.reasons]),
                repeat=any(r.repeat for r in group.reasons),
            )
        )
        key = result.inserted_primary_key
        assert key is not None
        group_id = int(key[0])
        for member in group.members:
            await conn.execute(
                mock_checkins.insert().values(
                    group_id=group_id, platform=platform, workspace_id=workspace_id, user_id=member
                )
            )
        await conn.execute(
            update(mock_profiles)
            .where(
                mock_profiles.c.platform == platform,
                mock_profiles.c.workspace_id == workspace_id,
                mock_profiles.c.user_id.in_(list(group.members)),
            )
            .values(last_round=round_no)
        )
        # Each member interviews the next: A→B then B→A; in a trio A→B, B→C, C→A.
        order = list(group.members)
        packets: list[tuple[str, str, list[Item]]] = []
        for i, interviewer in enumerate(order):
            candidate = order[(i + 1) % len(order)]
            kind, items = await _packet(
                conn,
                ctx,
                profiles[candidate],
                platform=platform,
                workspace_id=workspace_id,
                avoid={q.id for _, _, qs in packets for q in qs},
            )
            await conn.execute(
                mock_packets.insert().values(
                    group_id=group_id,
                    platform=platform,
                    workspace_id=workspace_id,
                    interviewer=interviewer,
                    candidate=candidate,
                    kind=kind,
                    question_ids=json.dumps([q.id for q in items]),
                )
            )
            packets.append((interviewer, candidate, items))
    slots = _slots(group, profiles, now)
    fields = [
        Field(
            f"{names[m]} ({profiles[m]['timezone']})",
            f"{profiles[m]['level']}, {profiles[m]['focus']}; free {profiles[m]['availability']}",
        )
        for m in group.members
    ]
    for m in group.members:
        zone = profiles[m]["timezone"]
        times = (
            "\n".join(
                f"{_local(a, zone)}–{b.astimezone(ZoneInfo(zone)).strftime('%H:%M')}"
                for a, b in slots
            )
            or "No common time this week: agree one here."
        )
        fields.append(Field(f"Suggested times for {names[m]}", times))
    plan = (
        f"{names[group.interviewer]} interviews {names[group.candidate]} for about 30 "
        "minutes, then you swap."
        + (
            f" {names[group.observer]} observes first, then takes a turn: each of you "
            "interviews the next."
            if group.observer
            else ""
        )
    )
    intro = Card(
        title=f"Mock interview · round {round_no}",
        body=plan + " Each interviewer "
        "has a private packet with questions and a rubric; candidates, no peeking "
        "needed: you will not see yours.",
        fields=tuple(fields),
        tone=Tone.INFO,
    )
    if space is not None:
        with contextlib.suppress(PlatformError):
            await ctx.platform.post(space, intro)
    for interviewer, candidate, items in packets:
        await dm(
            ctx,
            MemberRef(platform, workspace_id, interviewer),
            _packet_card(names[candidate], profiles[candidate], items),
        )
    await ctx.jobs.schedule_at(
        key=f"mock-follow-up:{group_id}",
        when=now + FOLLOW_UP_AFTER,
        action=FOLLOW_UP_ACTION,
        payload={"group_id": group_id},
        platform=platform,
        workspace_id=workspace_id,
    )


def _reason_json(reason: matching.Reason) -> dict[str, object]:
    return {
        "a": reason.a,
        "b": reason.b,
        "overlap_minutes": reason.overlap_minutes,
        "level_gap": reason.level_gap,
        "focus": reason.focus,
        "met_rounds_ago": reason.met_rounds_ago,
    }


def interview_kind(item: Item) -> str:
    if isinstance(item, ScenarioItem):
        return "system-design"
    if isinstance(item, BehaviouralItem):
        return "behavioural"
    return "technical"


async def _packet(
    conn: AsyncConnection,
    ctx: Context,
    candidate: RowMapping,
    *,
    platform: str,
    workspace_id: str,
    avoid: set[str],
) -> tuple[str, list[Item]]:
    """Questions for the candidate's focus and level, never ones they met in a mock before."""
    seen: set[str] = set(avoid)
    for (ids,) in (
        await conn.execute(
            select(mock_packets.c.question_ids).where(
                mock_packets.c.platform == platform,
                mock_packets.c.workspace_id == workspace_id,
                mock_packets.c.candidate == candidate["user_id"],
            )
        )
    ).all():
        seen.update(json.loads(ids))
    kinds = _PACKET_KINDS[candidate["focus"]]
    plan = [kinds[i % len(kinds)] for i in range(PACKET_SIZE)]  # "mixed": one of each
    chosen: list[Item] = []
    for pass_ in range(2):  # the second pass relaxes the difficulty if the bank runs short
        for kind in plan[len(chosen) :]:
            query = select(questions.c.id).where(
                ((questions.c.platform == SHIPPED) & (questions.c.workspace_id == SHIPPED))
                | ((questions.c.platform == platform) & (questions.c.workspace_id == workspace_id)),
                questions.c.kind == kind,
            )
            if pass_ == 0:
                query = query.where(
                    questions.c.difficulty.in_(_DIFFICULTY_BY_LEVEL[candidate["level"]])
                )
            ids = sorted(set((await conn.scalars(query)).all()) - seen - {q.id for q in chosen})
            if ids:
                item = await bank.get(
                    conn,
                    platform=platform,
                    workspace_id=workspace_id,
                    question_id=ctx.rng.choice(ids),
                )
                if item is not None:
                    chosen.append(item)
        if len(chosen) >= PACKET_SIZE:
            break
    focus = candidate["focus"]
    kind = focus if focus != "mixed" else (interview_kind(chosen[0]) if chosen else "technical")
    return kind, chosen


def _packet_card(candidate_name: str, profile: RowMapping, items: list[Item]) -> Card:
    kind = (
        profile["focus"]
        if profile["focus"] != "mixed"
        else (interview_kind(items[0]) if items else "technical")
    )
    rubric = rubrics()[kind]
    fields = []
    for n, item in enumerate(items, 1):
        if isinstance(item, OpenItem):
            notes = item.answer + "\nKey points: " + "; ".join(item.key_points)
        elif isinstance(item, ScenarioItem):
            notes = "Hints: " + "; ".join(item.hints)
        elif isinstance(item, BehaviouralItem):
            notes = (
                "Listen for: "
                + "; ".join(item.listen_for)
                + "\nFollow-ups: "
                + "; ".join(item.follow_ups)
            )
        else:
            notes = ""
        fields.append(Field(f"{n}. {item.prompt}", notes[:1000]))
    fields.append(
        Field(
            f"Rubric: {rubric.title} (score 1–4 each)",
            "\n".join(f"• {d.name}: 4 = {d.excellent}" for d in rubric.dimensions)[:1000],
        )
    )
    return Card(
        title=f"Your interviewer packet for {candidate_name}",
        body=f"{candidate_name} is {profile['level']}, practising {profile['focus']}. Only you "
        "see this: ask, listen, probe, then give feedback with the rubric.",
        fields=tuple(fields),
        tone=Tone.INFO,
    )


async def settings_command(ctx: Context, inv: Invocation) -> Reply:
    from bot.timespec import parse_spec

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
        await ops.upsert(
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


async def round_now_command(ctx: Context, inv: Invocation) -> Reply:
    ref = inv.member.ref
    summary = await run_round(ctx, platform=ref.platform, workspace_id=ref.workspace_id)
    return Reply.text(summary, title="Mock round started", tone=Tone.GOOD)


async def notice(ctx: Context, *, platform: str, workspace_id: str) -> None:
    """The day before a round: a reminder in the mock channel that /mock skip exists."""
    async with ctx.engine.connect() as conn:
        settings = await _settings(conn, platform, workspace_id)
    if settings is None:
        return
    with contextlib.suppress(PlatformError):
        await ctx.platform.post(
            Place(platform, workspace_id, settings["channel_id"]),
            Card(
                title="Mock interview round tomorrow",
                body=f"Pairs are made tomorrow at {settings['time']}. Can't make it this week? "
                "`/mock skip` sits out one round; `/mock join` to take part.",
                tone=Tone.INFO,
            ),
        )
