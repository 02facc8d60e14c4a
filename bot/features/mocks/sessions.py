"""A group's session: its private space, its stored record and interviewer-only packets."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot import bank, matching
from bot.chat import Card, Field, MemberRef, Place, Tone, clip
from bot.claims import is_done, record_done, step_once
from bot.context import Context
from bot.features.mocks import policy
from bot.features.mocks.followup import FOLLOW_UP_ACTION
from bot.features.mocks.groups import dm
from bot.features.mocks.policy import BankQuestion, Profile
from bot.ports import PlatformError
from bot.store.schema import (
    SHIPPED,
    mock_checkins,
    mock_groups,
    mock_packets,
    mock_profiles,
    questions,
)
from questions.extras import rubrics
from questions.schema import BehaviouralItem, Item, OpenItem, ScenarioItem

FOLLOW_UP_AFTER = timedelta(days=7)  # the session window: check in when it has passed


@dataclass(frozen=True)
class Round:
    """A round being opened: what each group's session needs."""

    no: int
    platform: str
    workspace_id: str
    near: Place | None  # the mock channel, if set
    profiles: Mapping[str, Profile]  # everyone taking part, by user id
    names: Mapping[str, str]

    def ref(self, user_id: str) -> MemberRef:
        return MemberRef(self.platform, self.workspace_id, user_id)


async def save_session(
    conn: AsyncConnection, ctx: Context, round_: Round, group: matching.Group
) -> int:
    """Keep the group, its pending check-ins and its packets (in the round's transaction)."""
    group_id = await _save_group(conn, round_, group)
    await _mark_placed(conn, round_, group, group_id=group_id)
    await _save_packets(conn, ctx, round_, group, group_id=group_id)
    return group_id


async def deliver_session(ctx: Context, round_: Round, group_id: int) -> None:
    """Open the group's private space, introduce the members, send each interviewer their
    packet, and set the check-in timer. Each step is recorded once it is out, so a delivery
    resumed by another instance (this one died) does only what is left."""
    now = ctx.clock.now()
    async with ctx.engine.connect() as conn:
        row = (
            (await conn.execute(select(mock_groups).where(mock_groups.c.id == group_id)))
            .mappings()
            .one()
        )
        packets = await _packets(conn, round_, group_id)
    group = matching.Group(row["interviewer"], row["candidate"], row["observer"], (), 0)
    scope = {"platform": round_.platform, "workspace_id": round_.workspace_id}
    space = await _space(ctx, round_, group, group_id=group_id, stored=row["channel_id"])
    if space is not None and all(m in round_.profiles for m in group.members):
        people = [policy.candidate_of(round_.profiles[m], now) for m in group.members]
        intro = _intro_card(round_, group, policy.session_slots(people))
        key = f"mock-group:{group_id}:intro"
        await step_once(ctx, key, **scope, send=partial(_post_quietly, ctx, space, intro, key))
    for n, interviewer, candidate, items in packets:
        profile = round_.profiles.get(candidate)
        if profile is None:  # they left before it went out: nothing to interview for
            continue
        card = _packet_card(round_.names[candidate], profile, items)
        send = partial(dm, ctx, round_.ref(interviewer), card)
        await step_once(ctx, f"mock-group:{group_id}:packet:{n}", **scope, send=send)
    timer = partial(
        ctx.jobs.schedule_at,
        key=f"mock-follow-up:{group_id}",
        when=now + FOLLOW_UP_AFTER,
        action=FOLLOW_UP_ACTION,
        payload={"group_id": group_id},
        **scope,
    )
    await step_once(ctx, f"mock-group:{group_id}:timer", **scope, send=timer)


async def _space(
    ctx: Context, round_: Round, group: matching.Group, *, group_id: int, stored: str | None
) -> Place | None:
    """The group's private space: the one recorded, or one opened now (and recorded)."""
    if stored:
        channel, _, thread = stored.partition("/")
        return Place(round_.platform, round_.workspace_id, channel, thread or None)
    key = f"mock-group:{group_id}:space"
    if await is_done(ctx, key):  # opening was tried and failed: go on without one
        return None
    space = await _open_space(ctx, round_, group)
    space_id = None
    if space is not None:
        space_id = space.channel_id + (f"/{space.thread_id}" if space.thread_id else "")
    async with ctx.engine.begin() as conn:
        await conn.execute(
            update(mock_groups).where(mock_groups.c.id == group_id).values(channel_id=space_id)
        )
        await record_done(
            conn,
            key,
            platform=round_.platform,
            workspace_id=round_.workspace_id,
            now=ctx.clock.now(),
        )
    return space


async def _post_quietly(ctx: Context, place: Place, card: Card, key: str) -> None:
    with contextlib.suppress(PlatformError):
        await ctx.platform.post(place, card, key=key)


async def _packets(
    conn: AsyncConnection, round_: Round, group_id: int
) -> list[tuple[int, str, str, list[Item]]]:
    rows = await conn.execute(
        select(mock_packets.c.interviewer, mock_packets.c.candidate, mock_packets.c.question_ids)
        .where(mock_packets.c.group_id == group_id)
        .order_by(mock_packets.c.interviewer)
    )
    return [
        (n, interviewer, candidate, await _items(conn, round_, json.loads(ids)))
        for n, (interviewer, candidate, ids) in enumerate(rows.all())
    ]


async def _open_space(ctx: Context, round_: Round, group: matching.Group) -> Place | None:
    """A private space for the group, or None if the platform cannot open one."""
    refs = [round_.ref(m) for m in group.members]
    title = " & ".join(round_.names[m] for m in group.members)
    try:
        return await ctx.platform.open_group(refs, f"Mock interview: {title}", near=round_.near)
    except PlatformError:
        return None


async def _save_group(conn: AsyncConnection, round_: Round, group: matching.Group) -> int:
    result = await conn.execute(
        mock_groups.insert().values(
            platform=round_.platform,
            workspace_id=round_.workspace_id,
            round_id=round_.no,
            interviewer=group.interviewer,
            candidate=group.candidate,
            observer=group.observer,
            channel_id=None,
            reasons=json.dumps([_reason_json(r) for r in group.reasons]),
            repeat=any(r.repeat for r in group.reasons),
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def _reason_json(reason: matching.Reason) -> dict[str, object]:
    return {
        "a": reason.a,
        "b": reason.b,
        "overlap_minutes": reason.overlap_minutes,
        "level_gap": reason.level_gap,
        "focus": reason.focus,
        "met_rounds_ago": reason.met_rounds_ago,
    }


async def _mark_placed(
    conn: AsyncConnection, round_: Round, group: matching.Group, *, group_id: int
) -> None:
    """A pending check-in per member, and the round noted on their profiles."""
    for member in group.members:
        await conn.execute(
            mock_checkins.insert().values(
                group_id=group_id,
                platform=round_.platform,
                workspace_id=round_.workspace_id,
                user_id=member,
            )
        )
    await conn.execute(
        update(mock_profiles)
        .where(
            mock_profiles.c.platform == round_.platform,
            mock_profiles.c.workspace_id == round_.workspace_id,
            mock_profiles.c.user_id.in_(list(group.members)),
        )
        .values(last_round=round_.no)
    )


async def _save_packets(
    conn: AsyncConnection, ctx: Context, round_: Round, group: matching.Group, *, group_id: int
) -> None:
    """Plan the group's packets and keep them."""
    plans = policy.plan_packets(
        group.members,
        profiles=round_.profiles,
        bank=await _question_bank(conn, round_),
        asked=await _asked_before(conn, round_, group.members),
        rng=ctx.rng,
    )
    for plan in plans:
        items = await _items(conn, round_, plan.question_ids)
        await conn.execute(
            mock_packets.insert().values(
                group_id=group_id,
                platform=round_.platform,
                workspace_id=round_.workspace_id,
                interviewer=plan.interviewer,
                candidate=plan.candidate,
                kind=policy.packet_kind(round_.profiles[plan.candidate].focus, items),
                question_ids=json.dumps([q.id for q in items]),
            )
        )


async def _question_bank(conn: AsyncConnection, round_: Round) -> list[BankQuestion]:
    """The questions packets draw from: shipped ones and the workspace's own."""
    rows = await conn.execute(
        select(questions.c.id, questions.c.kind, questions.c.difficulty).where(
            ((questions.c.platform == SHIPPED) & (questions.c.workspace_id == SHIPPED))
            | (
                (questions.c.platform == round_.platform)
                & (questions.c.workspace_id == round_.workspace_id)
            ),
            questions.c.kind.in_(policy.BANK_KINDS),
        )
    )
    return [BankQuestion(id=i, kind=kind, difficulty=level) for i, kind, level in rows.all()]


async def _asked_before(
    conn: AsyncConnection, round_: Round, candidates: Sequence[str]
) -> dict[str, set[str]]:
    """The questions each of them was asked as a candidate in an earlier mock."""
    rows = await conn.execute(
        select(mock_packets.c.candidate, mock_packets.c.question_ids).where(
            mock_packets.c.platform == round_.platform,
            mock_packets.c.workspace_id == round_.workspace_id,
            mock_packets.c.candidate.in_(list(candidates)),
        )
    )
    asked: dict[str, set[str]] = {}
    for candidate, ids in rows.all():
        asked.setdefault(candidate, set()).update(json.loads(ids))
    return asked


async def _items(conn: AsyncConnection, round_: Round, ids: Sequence[str]) -> list[Item]:
    items = []
    for question_id in ids:
        item = await bank.get(
            conn,
            platform=round_.platform,
            workspace_id=round_.workspace_id,
            question_id=question_id,
        )
        if item is not None:
            items.append(item)
    return items


# --- what members see ------------------------------------------------------------------------


def _local(when: datetime, zone: str) -> str:
    return when.astimezone(ZoneInfo(zone)).strftime("%a %d %b %H:%M")


def _times(slots: Sequence[matching.Window], zone: str) -> str:
    lines = [
        f"{_local(a, zone)}–{b.astimezone(ZoneInfo(zone)).strftime('%H:%M')}" for a, b in slots
    ]
    return "\n".join(lines) or "No common time this week: agree one here."


def _intro_card(round_: Round, group: matching.Group, slots: Sequence[matching.Window]) -> Card:
    """The first message in the group's private space: who, the plan, and when."""
    names, profiles = round_.names, round_.profiles
    fields = [
        Field(
            f"{names[m]} ({profiles[m].timezone})",
            f"{profiles[m].level}, {profiles[m].focus}; free {profiles[m].availability}",
        )
        for m in group.members
    ]
    fields += [
        Field(f"Suggested times for {names[m]}", _times(slots, profiles[m].timezone))
        for m in group.members
    ]
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
    return Card(
        title=f"Mock interview · round {round_.no}",
        body=plan + " Each interviewer "
        "has a private packet with questions and a rubric; candidates, no peeking "
        "needed: you will not see yours.",
        fields=tuple(fields),
        tone=Tone.INFO,
    )


def _notes(item: Item) -> str:
    """What the interviewer reads beside a question: the answer, hints or what to listen for."""
    if isinstance(item, OpenItem):
        return item.answer + "\nKey points: " + "; ".join(item.points)
    if isinstance(item, ScenarioItem):
        return "Hints: " + "; ".join(item.hints)
    if isinstance(item, BehaviouralItem):
        return (
            "Listen for: "
            + "; ".join(item.listen_for)
            + "\nFollow-ups: "
            + "; ".join(item.follow_ups)
        )
    return ""


def _packet_card(candidate_name: str, profile: Profile, items: Sequence[Item]) -> Card:
    rubric = rubrics()[policy.packet_kind(profile.focus, items)]
    # Notes are cut (at a word) so three questions and the rubric fit one Discord message.
    fields = [
        Field(f"{n}. {item.prompt}", clip(_notes(item), 1000)) for n, item in enumerate(items, 1)
    ]
    fields.append(
        Field(
            f"Rubric: {rubric.title} (score 1–4 each)",
            clip("\n".join(f"• {d.name}: 4 = {d.excellent}" for d in rubric.dimensions), 1000),
        )
    )
    return Card(
        title=f"Your interviewer packet for {candidate_name}",
        body=f"{candidate_name} is {profile.level}, practising {profile.focus}. Only you "
        "see this: ask, listen, probe, then give feedback with the rubric.",
        fields=tuple(fields),
        tone=Tone.INFO,
    )
