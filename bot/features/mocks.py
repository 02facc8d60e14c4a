"""Mock-interview pairings: opt-in profiles, rounds, private spaces, interviewer-only packets,
check-ins and scored feedback. Who is grouped with whom is bot/matching.py's job."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import RowMapping, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot import bank, matching, scoring
from bot.chat import (
    Action,
    Button,
    Card,
    Field,
    Form,
    FormField,
    FormSubmit,
    MemberRef,
    Place,
    Reply,
    Style,
    Tone,
)
from bot.commands import CommandError, Invocation
from bot.context import Context, workspace_tz
from bot.ports import PlatformError
from bot.store import ops
from bot.store.schema import (
    SHIPPED,
    members,
    mock_blocks,
    mock_checkins,
    mock_feedback,
    mock_groups,
    mock_packets,
    mock_profiles,
    mock_rounds,
    mock_settings,
    questions,
)
from bot.timespec import SpecError, expand, parse_availability, parse_timezone
from questions.extras import rubrics
from questions.schema import BehaviouralItem, Item, OpenItem, ScenarioItem

FOLLOW_UP_AFTER = timedelta(days=7)  # the session window: check in when it has passed
ASK_AGAIN_AFTER = timedelta(hours=48)
MISSED_TO_PAUSE = 3
PACKET_SIZE = 3
FOLLOW_UP_ACTION = "mock-follow-up"
ROUND_FORM = "mock:join"
SLOTS_SHOWN = 3
_LEVELS = {"junior": "junior", "mid": "mid", "middle": "mid", "senior": "senior"}
_FOCUS = {
    "technical": "technical",
    "system design": "system-design",
    "system-design": "system-design",
    "behavioural": "behavioural",
    "behavioral": "behavioural",
    "mixed": "mixed",
}
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


async def _names(
    conn: AsyncConnection, platform: str, workspace_id: str, ids: Sequence[str]
) -> dict[str, str]:
    rows = await conn.execute(
        select(members.c.user_id, members.c.display_name).where(
            members.c.platform == platform,
            members.c.workspace_id == workspace_id,
            members.c.user_id.in_(list(ids)),
        )
    )
    names = {user: name for user, name in rows.all()}
    return {i: names.get(i, i) for i in ids}


# ---- opting in ---------------------------------------------------------------------------


async def join_command(ctx: Context, inv: Invocation) -> Reply:
    return Reply(
        form=Form(
            form_id=ROUND_FORM,
            title="Mock interviews",
            fields=(
                FormField("level", "Level: junior, mid or senior", multiline=False, max_length=10),
                FormField(
                    "focus",
                    "Focus: technical, system design, behavioural or mixed",
                    multiline=False,
                    max_length=20,
                ),
                FormField(
                    "timezone",
                    "Your time zone (e.g. Europe/Berlin)",
                    multiline=False,
                    required=False,
                    max_length=64,
                ),
                FormField(
                    "availability",
                    "When you are free (your time)",
                    max_length=300,
                    placeholder="weekday evenings, weekend mornings, sat 10:00-12:00",
                ),
                FormField(
                    "cadence",
                    "How often: weekly or fortnightly",
                    multiline=False,
                    required=False,
                    max_length=12,
                ),
            ),
        )
    )


def _profile_values(values: Mapping[str, str], default_tz: str) -> dict[str, str]:
    """Every field checked; all problems reported at once."""
    problems = []
    level = _LEVELS.get(values.get("level", "").strip().lower())
    if level is None:
        problems.append(f"level `{values.get('level', '')}`: say junior, mid or senior")
    focus = _FOCUS.get(values.get("focus", "").strip().lower())
    if focus is None:
        problems.append(
            f"focus `{values.get('focus', '')}`: say technical, system design, behavioural or mixed"
        )
    zone = default_tz
    if values.get("timezone", "").strip():
        try:
            zone = parse_timezone(values["timezone"].strip())
        except SpecError as exc:
            problems.append(f"time zone: {exc}")
    availability = ""
    try:
        availability = ", ".join(
            w.text() for w in parse_availability(values.get("availability", ""))
        )
    except SpecError as exc:
        problems.append(f"availability: {exc}")
    cadence = values.get("cadence", "").strip().lower() or "weekly"
    if cadence not in ("weekly", "fortnightly"):
        problems.append(f"cadence `{cadence}`: say weekly or fortnightly")
    if problems:
        raise CommandError(
            "Your profile was not saved:\n"
            + "\n".join(f"• {p}" for p in problems)
            + "\nRun `/mock join` again."
        )
    assert level and focus
    return {
        "level": level,
        "focus": focus,
        "timezone": zone,
        "availability": availability,
        "cadence": cadence,
    }


async def on_join_form(ctx: Context, submit: FormSubmit) -> Reply:
    ref = submit.member.ref
    async with ctx.engine.begin() as conn:
        default_tz = (await workspace_tz(conn, ref.platform, ref.workspace_id)).key
        try:
            values = _profile_values(submit.values, default_tz)
        except CommandError as exc:
            return Reply.error(str(exc))
        await ops.upsert(
            conn,
            mock_profiles,
            {
                "platform": ref.platform,
                "workspace_id": ref.workspace_id,
                "user_id": ref.user_id,
                "joined_at": ctx.clock.now(),
                "active": True,
                "paused_until": None,
                "skip_next": False,
                "missed_in_row": 0,
                **values,
            },
            keys=("platform", "workspace_id", "user_id"),
            update=(
                "level",
                "focus",
                "timezone",
                "availability",
                "cadence",
                "active",
                "paused_until",
                "skip_next",
                "missed_in_row",
            ),
        )
    return Reply.text(
        f"You're in: {values['level']}, {values['focus']}, {values['cadence']}, free "
        f"{values['availability']} ({values['timezone']}). You'll be matched at the next round; "
        "`/mock status` shows it.",
        title="Mock interviews",
        tone=Tone.GOOD,
    )


async def _profile(conn: AsyncConnection, ref: MemberRef) -> RowMapping | None:
    return (
        (
            await conn.execute(
                select(mock_profiles).where(
                    *ops.of_workspace(mock_profiles, ref),
                    mock_profiles.c.user_id == ref.user_id,
                )
            )
        )
        .mappings()
        .first()
    )


async def _require_profile(conn: AsyncConnection, ref: MemberRef) -> RowMapping:
    row = await _profile(conn, ref)
    if row is None or not row["active"]:
        raise CommandError("You have not opted in. `/mock join` sets up your profile.")
    return row


async def _set(ctx: Context, ref: MemberRef, **values: object) -> RowMapping:
    async with ctx.engine.begin() as conn:
        row = await _require_profile(conn, ref)
        await conn.execute(
            update(mock_profiles)
            .where(
                *ops.of_workspace(mock_profiles, ref),
                mock_profiles.c.user_id == ref.user_id,
            )
            .values(**values)
        )
    return row


async def leave_command(ctx: Context, inv: Invocation) -> Reply:
    await _set(ctx, inv.member.ref, active=False)
    return Reply.text("You've left mock interviews. `/mock join` brings you back any time.")


async def pause_command(ctx: Context, inv: Invocation) -> Reply:
    text = str(inv.options["until"])
    try:
        until = date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"`{text}` is not a date. Write YYYY-MM-DD, e.g. 2026-02-01.") from None
    async with ctx.engine.connect() as conn:
        tz = await workspace_tz(conn, inv.member.ref.platform, inv.member.ref.workspace_id)
    if until <= ctx.clock.now().astimezone(tz).date():
        raise CommandError(f"{until} has passed; give a date in the future.")
    await _set(ctx, inv.member.ref, paused_until=until.isoformat())
    return Reply.text(f"Paused until {until}: no pairing before then.")


async def skip_command(ctx: Context, inv: Invocation) -> Reply:
    await _set(ctx, inv.member.ref, skip_next=True)
    return Reply.text("You'll sit out the next round only.")


async def block_command(ctx: Context, inv: Invocation) -> Reply:
    ref = inv.member.ref
    other = str(inv.options["member"])
    if other == ref.user_id:
        raise CommandError("You cannot block yourself.")
    async with ctx.engine.begin() as conn:
        await ops.insert_ignore(
            conn,
            mock_blocks,
            {
                "platform": ref.platform,
                "workspace_id": ref.workspace_id,
                "user_id": ref.user_id,
                "blocked_user_id": other,
            },
            keys=("platform", "workspace_id", "user_id", "blocked_user_id"),
        )
    return Reply.text("Done. You will never be matched with them; nobody else is told.")


# ---- rounds ----------------------------------------------------------------------------


def _candidate(row: RowMapping, start: datetime) -> matching.Candidate:
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


async def run_round(ctx: Context, *, platform: str, workspace_id: str) -> str:
    """Match everyone who takes part this round, open a private space per group, send the
    interviewers their packets, and schedule the check-in. Returns a summary."""
    now = ctx.clock.now()
    async with ctx.engine.begin() as conn:
        settings = (
            (
                await conn.execute(
                    select(mock_settings).where(
                        mock_settings.c.platform == platform,
                        mock_settings.c.workspace_id == workspace_id,
                    )
                )
            )
            .mappings()
            .first()
        )
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
            [_candidate(row, now) for row in taking_part], history=history, blocks=blocks
        )
        await conn.execute(
            update(mock_rounds)
            .where(mock_rounds.c.id == round_no)
            .values(waiting=len(result_match.unmatched))
        )
        names = await _names(conn, platform, workspace_id, list(by_id))
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
        await _dm(
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


async def _dm(ctx: Context, member: MemberRef, card: Card) -> None:
    with contextlib.suppress(PlatformError):
        await ctx.platform.dm(member, card)


def _slots(
    group: matching.Group, profiles: Mapping[str, RowMapping], start: datetime
) -> list[tuple[datetime, datetime]]:
    people = [_candidate(profiles[m], start) for m in group.members]
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
        await _dm(
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


# ---- follow-up and feedback --------------------------------------------------------------


async def _group(conn: AsyncConnection, group_id: int) -> RowMapping | None:
    return (
        (await conn.execute(select(mock_groups).where(mock_groups.c.id == group_id)))
        .mappings()
        .first()
    )


def _partners(group: RowMapping, user_id: str) -> list[str]:
    return [
        m
        for m in (group["interviewer"], group["candidate"], group["observer"])
        if m and m != user_id
    ]


async def follow_up(ctx: Context, payload: Mapping[str, object]) -> None:
    """After the session window: ask each member who has not answered whether it happened."""
    group_id = int(str(payload["group_id"]))
    only = payload.get("user_id")
    async with ctx.engine.connect() as conn:
        group = await _group(conn, group_id)
        if group is None:
            return
        pending = (
            await conn.scalars(
                select(mock_checkins.c.user_id).where(
                    mock_checkins.c.group_id == group_id,
                    (mock_checkins.c.answer.is_(None)) | (mock_checkins.c.answer == "notyet"),
                )
            )
        ).all()
        names = await _names(
            conn,
            group["platform"],
            group["workspace_id"],
            [m for m in (group["interviewer"], group["candidate"], group["observer"]) if m],
        )
    for user in pending:
        if only is not None and user != only:
            continue
        partners = " and ".join(names[p] for p in _partners(group, user))
        await _dm(
            ctx,
            MemberRef(group["platform"], group["workspace_id"], user),
            Card(
                title="Did your mock interview happen?",
                body=f"Your mock with {partners} (round {group['round_id']}).",
                buttons=(
                    Button("Yes", f"mock:{group_id}:yes", Style.SUCCESS),
                    Button("Not yet", f"mock:{group_id}:notyet"),
                    Button("No", f"mock:{group_id}:no", Style.DANGER),
                ),
                tone=Tone.QUESTION,
            ),
        )


_CHECKIN = re.compile(r"^mock:(\d+):(yes|notyet|no|feedback)$")


async def on_action(ctx: Context, action: Action) -> Reply:
    match = _CHECKIN.match(action.action_id)
    if match is None:
        return Reply.error("That button is no longer understood.")
    group_id, answer = int(match.group(1)), match.group(2)
    ref = action.member.ref
    async with ctx.engine.begin() as conn:
        group = await _group(conn, group_id)
        checkin = (
            (
                await conn.execute(
                    select(mock_checkins).where(
                        mock_checkins.c.group_id == group_id,
                        mock_checkins.c.user_id == ref.user_id,
                    )
                )
            )
            .mappings()
            .first()
        )
        if group is None or checkin is None:
            return Reply.error("That mock interview is not yours.")
        if answer == "feedback":
            if checkin["answer"] != "yes":
                return Reply.text("Say it happened first.")
            kind = await conn.scalar(
                select(mock_packets.c.kind).where(
                    mock_packets.c.group_id == group_id, mock_packets.c.interviewer == ref.user_id
                )
            )
            return Reply(form=_feedback_form(group_id, kind or "technical"))
        if checkin["answer"] in ("yes", "no"):
            return Reply.text("You already answered; thanks.")
        await conn.execute(
            update(mock_checkins)
            .where(
                mock_checkins.c.group_id == group_id,
                mock_checkins.c.user_id == ref.user_id,
            )
            .values(answer=answer)
        )
        where = [*ops.of_workspace(mock_profiles, ref), mock_profiles.c.user_id == ref.user_id]
        missed = 0
        if answer == "yes":
            await conn.execute(update(mock_profiles).where(*where).values(missed_in_row=0))
            tz = await workspace_tz(conn, ref.platform, ref.workspace_id)
            await ops.add_score(
                conn,
                member=ref,
                topic="mock",
                at=ctx.clock.now(),
                tz=tz,
                points=scoring.MOCK_COMPLETED,
            )
        elif answer == "no":
            await conn.execute(
                update(mock_profiles)
                .where(*where)
                .values(missed_in_row=mock_profiles.c.missed_in_row + 1)
            )
            missed = int(
                await conn.scalar(select(mock_profiles.c.missed_in_row).where(*where)) or 0
            )
            if missed >= MISSED_TO_PAUSE:
                await conn.execute(update(mock_profiles).where(*where).values(active=False))
    if answer == "notyet":
        await ctx.jobs.schedule_at(
            key=f"mock-follow-up:{group_id}:{ref.user_id}",
            when=ctx.clock.now() + ASK_AGAIN_AFTER,
            action=FOLLOW_UP_ACTION,
            payload={"group_id": group_id, "user_id": ref.user_id},
            platform=ref.platform,
            workspace_id=ref.workspace_id,
        )
        return Reply.text("No problem: I'll ask again in two days.")
    if answer == "no":
        if missed >= MISSED_TO_PAUSE:
            return Reply.text(
                f"Thanks for saying. That's {MISSED_TO_PAUSE} missed sessions in a row, so I've "
                "paused your mock interviews. `/mock join` resumes them whenever you're ready."
            )
        return Reply.text("Thanks for saying; I hope the next one works out.")
    return Reply(
        card=Card(
            title="Great: +20 points",
            body="Give your partner feedback with the rubric: it's the most useful part.",
            buttons=(Button("Give feedback", f"mock:{group_id}:feedback", Style.PRIMARY),),
            tone=Tone.GOOD,
        )
    )


def _feedback_form(group_id: int, kind: str) -> Form:
    dims = [d.name for d in rubrics()[kind].dimensions]
    return Form(
        form_id=f"mock:{group_id}:feedback:{kind}",
        title="Feedback for your partner",
        fields=(
            FormField(
                "scores",
                f"Scores 1-4 for: {', '.join(dims)}"[:45],
                multiline=False,
                max_length=40,
                placeholder=" ".join("3" for _ in dims),
            ),
            FormField("strength", "One thing they did well", max_length=500),
            FormField("improve", "One thing to improve", max_length=500),
        ),
    )


async def on_feedback(ctx: Context, submit: FormSubmit) -> Reply:
    parts = submit.form_id.split(":")
    group_id, kind = int(parts[1]), parts[3]
    dims = [d.name for d in rubrics()[kind].dimensions]
    raw = submit.values.get("scores", "").replace(",", " ").split()
    if len(raw) != len(dims) or any(s not in ("1", "2", "3", "4") for s in raw):
        return Reply.error(
            f"Scores: give {len(dims)} numbers from 1 to 4, one per dimension in order "
            f"({', '.join(dims)}); got `{submit.values.get('scores', '')}`. Nothing was sent; "
            "press Give feedback again."
        )
    strength = submit.values.get("strength", "").strip()
    improve = submit.values.get("improve", "").strip()
    if not strength or not improve:
        return Reply.error("Give one strength and one thing to improve. Nothing was sent.")
    ref = submit.member.ref
    async with ctx.engine.begin() as conn:
        group = await _group(conn, group_id)
        if group is None or ref.user_id not in (
            group["interviewer"],
            group["candidate"],
            group["observer"],
        ):
            return Reply.error("That mock interview is not yours.")
        to = (
            await conn.scalar(
                select(mock_packets.c.candidate).where(
                    mock_packets.c.group_id == group_id,
                    mock_packets.c.interviewer == ref.user_id,
                )
            )
        ) or _partners(group, ref.user_id)[0]
        added = await ops.insert_ignore(
            conn,
            mock_feedback,
            {
                "group_id": group_id,
                "platform": ref.platform,
                "workspace_id": ref.workspace_id,
                "user_id": ref.user_id,
                "to_user_id": to,
                "kind": kind,
                "scores": json.dumps(dict(zip(dims, (int(s) for s in raw), strict=True))),
                "strength": strength,
                "improve": improve,
                "created_at": ctx.clock.now(),
            },
            keys=("group_id", "user_id"),
        )
        if not added:
            return Reply.text("You already sent feedback for this session; thanks.")
        tz = await workspace_tz(conn, ref.platform, ref.workspace_id)
        await ops.add_score(
            conn, member=ref, topic="mock", at=ctx.clock.now(), tz=tz, points=scoring.FEEDBACK_GIVEN
        )
        await conn.execute(
            update(mock_checkins)
            .where(
                mock_checkins.c.group_id == group_id,
                mock_checkins.c.user_id == ref.user_id,
            )
            .values(feedback_given=True)
        )
        giver = (await _names(conn, ref.platform, ref.workspace_id, [ref.user_id]))[ref.user_id]
    await _dm(
        ctx,
        MemberRef(ref.platform, ref.workspace_id, to),
        Card(
            title=f"Feedback from {giver}",
            fields=(
                *(Field(d, f"{s}/4") for d, s in zip(dims, raw, strict=True)),
                Field("What went well", strength),
                Field("To improve", improve),
            ),
            tone=Tone.GOOD,
        ),
    )
    return Reply.text(
        "Sent privately to your partner. +10 points for giving feedback.", tone=Tone.GOOD
    )


# ---- status, why, settings, report -----------------------------------------------------


async def _groups_of(conn: AsyncConnection, ref: MemberRef, *, limit: int) -> list[RowMapping]:
    """The member's mock groups, most recent first."""
    result = await conn.execute(
        select(mock_groups)
        .where(
            *ops.of_workspace(mock_groups, ref),
            (mock_groups.c.interviewer == ref.user_id)
            | (mock_groups.c.candidate == ref.user_id)
            | (mock_groups.c.observer == ref.user_id),
        )
        .order_by(mock_groups.c.id.desc())
        .limit(limit)
    )
    return list(result.mappings().all())


async def status_command(ctx: Context, inv: Invocation) -> Reply:
    ref = inv.member.ref
    async with ctx.engine.connect() as conn:
        row = await _profile(conn, ref)
        past = await _groups_of(conn, ref, limit=5)
        others = {m for g in past for m in _partners(g, ref.user_id)}
        names = await _names(conn, ref.platform, ref.workspace_id, list(others))
    if row is None:
        return Reply.text("You have not opted in. `/mock join` sets up your profile.")
    state = "active" if row["active"] else "paused (missed sessions) or left"
    if row["paused_until"]:
        state = f"paused until {row['paused_until']}"
    if row["skip_next"]:
        state += ", skipping the next round"
    nxt = ctx.jobs.next_run(f"mock:{ref.platform}:{ref.workspace_id}")
    history = (
        "\n".join(
            f"Round {g['round_id']}: with "
            + " and ".join(names[p] for p in _partners(g, ref.user_id))
            for g in past
        )
        or "No sessions yet."
    )
    return Reply(
        card=Card(
            title="Your mock interviews",
            fields=(
                Field(
                    "Profile",
                    f"{row['level']}, {row['focus']}, {row['cadence']}; free "
                    f"{row['availability']} ({row['timezone']})",
                ),
                Field("Status", state),
                Field("Next round", nxt.strftime("%a %d %b %H:%M UTC") if nxt else "not scheduled"),
                Field("History", history),
            ),
            tone=Tone.INFO,
        )
    )


async def why_command(ctx: Context, inv: Invocation) -> Reply:
    ref = inv.member.ref
    async with ctx.engine.connect() as conn:
        group = next(iter(await _groups_of(conn, ref, limit=1)), None)
        if group is None:
            return Reply.text("You have not been matched yet.")
        reasons = [r for r in json.loads(group["reasons"]) if ref.user_id in (r["a"], r["b"])]
        names = await _names(conn, ref.platform, ref.workspace_id, _partners(group, ref.user_id))
    lines = []
    for r in reasons:
        other = r["b"] if r["a"] == ref.user_id else r["a"]
        hours, minutes = divmod(int(r["overlap_minutes"]), 60)
        level = ("the same level", "one level apart", "two levels apart")[r["level_gap"]]
        focus = {
            "same": "the same focus",
            "partial": "compatible focus (one practises a mix)",
            "different": "different focus",
        }[r["focus"]]
        met = (
            "you have not met in a mock before"
            if r["met_rounds_ago"] is None
            else f"you last met {r['met_rounds_ago']} round(s) ago"
        )
        lines.append(
            f"**{names[other]}**: {hours} h {minutes} min of common free time this "
            f"week, {level}, {focus}; {met}."
        )
    return Reply(
        card=Card(
            title=f"Why your partner(s) in round {group['round_id']}",
            body="\n".join(lines),
            tone=Tone.INFO,
        )
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
        settings = (
            (
                await conn.execute(
                    select(mock_settings).where(
                        mock_settings.c.platform == platform,
                        mock_settings.c.workspace_id == workspace_id,
                    )
                )
            )
            .mappings()
            .first()
        )
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


async def report_command(ctx: Context, inv: Invocation) -> Reply:
    ref = inv.member.ref
    async with ctx.engine.connect() as conn:
        rounds = int(
            await conn.scalar(select(func.count()).where(*ops.of_workspace(mock_rounds, ref))) or 0
        )
        groups = (
            await conn.execute(
                select(mock_groups.c.id, mock_groups.c.observer, mock_groups.c.repeat).where(
                    *ops.of_workspace(mock_groups, ref)
                )
            )
        ).all()
        answers = (
            (
                await conn.execute(
                    select(mock_checkins.c.answer).where(*ops.of_workspace(mock_checkins, ref))
                )
            )
            .scalars()
            .all()
        )
        feedback = (
            await conn.scalars(
                select(mock_feedback.c.scores).where(*ops.of_workspace(mock_feedback, ref))
            )
        ).all()
        waiting = await conn.scalar(
            select(mock_rounds.c.waiting)
            .where(*ops.of_workspace(mock_rounds, ref))
            .order_by(mock_rounds.c.id.desc())
            .limit(1)
        )
        opted = int(
            await conn.scalar(
                select(func.count()).where(
                    *ops.of_workspace(mock_profiles, ref), mock_profiles.c.active.is_(True)
                )
            )
            or 0
        )
    asked = [a for a in answers if a is not None]
    completion = (
        (
            f"{round(100 * asked.count('yes') / len(answers))}% "
            f"({asked.count('yes')} of {len(answers)} confirmed)"
        )
        if answers
        else "-"
    )
    totals: dict[str, list[int]] = {}
    for text in feedback:
        for dim, score in json.loads(text).items():
            totals.setdefault(dim, []).append(score)
    averages = " · ".join(f"{d} {sum(v) / len(v):.1f}" for d, v in totals.items()) or "-"
    repeats = sum(1 for g in groups if g.repeat)
    return Reply(
        card=Card(
            title="Mock interviews report",
            fields=(
                Field("Rounds", str(rounds)),
                Field("Groups", f"{len(groups)} ({sum(1 for g in groups if g.observer)} trios)"),
                Field("Completion", completion),
                Field("Average rubric scores", averages),
                Field("Repeat rate", f"{round(100 * repeats / len(groups))}%" if groups else "-"),
                Field("People", f"{opted} opted in; {waiting or 0} waiting after the last round"),
            ),
            tone=Tone.INFO,
        )
    )
