"""Opting in and out of mock interviews, and what a member can ask about their pairing."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date

from sqlalchemy import RowMapping, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.chat import Card, Field, Form, FormField, FormSubmit, MemberRef, Reply, Tone, plural
from bot.context import Context, workspace_tz
from bot.features.mocks import availability as free_time
from bot.features.mocks.groups import display_names, groups_of
from bot.features.mocks.policy import MISSED_TO_PAUSE, Profile, round_job_id
from bot.handlers import CommandError, Invocation
from bot.store import sql
from bot.store.schema import mock_blocks, mock_profiles
from bot.timespec import SpecError, parse_timezone

ROUND_FORM = "mock:join"  # the opt-in form

_LEVELS = {"junior": "junior", "mid": "mid", "middle": "mid", "senior": "senior"}
_FOCUS = {
    "technical": "technical",
    "system design": "system-design",
    "system-design": "system-design",
    "behavioural": "behavioural",
    "behavioral": "behavioural",
    "mixed": "mixed",
}


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
                    placeholder="weekday evenings, sat 10-12, mon-fri 18:00-21:00",
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
        availability = free_time.normalise(values.get("availability", ""))
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
        await sql.upsert(
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


def profile_of(row: RowMapping) -> Profile:
    paused_until = row["paused_until"]
    return Profile(
        user_id=row["user_id"],
        level=row["level"],
        focus=row["focus"],
        timezone=row["timezone"],
        availability=row["availability"],
        cadence=row["cadence"],
        active=row["active"],
        paused_until=date.fromisoformat(paused_until) if paused_until else None,
        skip_next=row["skip_next"],
        missed_in_row=row["missed_in_row"],
        last_round=row["last_round"],
    )


async def opted_in(conn: AsyncConnection, platform: str, workspace_id: str) -> list[Profile]:
    """The workspace's active profiles: everyone who has not left or been paused."""
    result = await conn.execute(
        select(mock_profiles).where(
            mock_profiles.c.platform == platform,
            mock_profiles.c.workspace_id == workspace_id,
            mock_profiles.c.active.is_(True),
        )
    )
    return [profile_of(row) for row in result.mappings().all()]


async def _profile(conn: AsyncConnection, ref: MemberRef) -> Profile | None:
    query = select(mock_profiles).where(
        *sql.of_workspace(mock_profiles, ref), mock_profiles.c.user_id == ref.user_id
    )
    row = (await conn.execute(query)).mappings().first()
    return None if row is None else profile_of(row)


async def _require_profile(conn: AsyncConnection, ref: MemberRef) -> Profile:
    profile = await _profile(conn, ref)
    if profile is None:
        raise CommandError("You have not opted in. `/mock join` sets up your profile.")
    if not profile.active:
        raise CommandError(_stopped(profile))
    return profile


def _stopped(profile: Profile) -> str:
    """Why an inactive member takes no part: they left, or missed sessions paused them."""
    if profile.missed_in_row >= MISSED_TO_PAUSE:
        missed = plural(profile.missed_in_row, "missed session")
        return f"Your mock interviews are paused after {missed} in a row. `/mock join` resumes."
    return "You have left mock interviews. `/mock join` brings you back any time."


def _state(profile: Profile, today: date) -> str:
    """Where the member stands: left, paused (why, until when), or taking part."""
    if not profile.active:
        return _stopped(profile)
    state = "Taking part"
    if profile.paused_until is not None and profile.paused_until > today:
        state = f"Paused until {profile.paused_until.isoformat()}: no pairing before then"
    if profile.skip_next:
        state += "; sitting out the next round"
    return state + "."


async def _set(ctx: Context, ref: MemberRef, **values: object) -> None:
    async with ctx.engine.begin() as conn:
        await _require_profile(conn, ref)
        await conn.execute(
            update(mock_profiles)
            .where(
                *sql.of_workspace(mock_profiles, ref),
                mock_profiles.c.user_id == ref.user_id,
            )
            .values(**values)
        )


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
        await sql.insert_ignore(
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


async def status_command(ctx: Context, inv: Invocation) -> Reply:
    ref = inv.member.ref
    async with ctx.engine.connect() as conn:
        profile = await _profile(conn, ref)
        past = await groups_of(conn, ref, limit=5)
        others = {m for g in past for m in g.partners_of(ref.user_id)}
        names = await display_names(conn, ref.platform, ref.workspace_id, list(others))
        tz = await workspace_tz(conn, ref.platform, ref.workspace_id)
    if profile is None:
        return Reply.text("You have not opted in. `/mock join` sets up your profile.")
    state = _state(profile, ctx.clock.now().astimezone(tz).date())
    nxt = ctx.jobs.next_run(round_job_id(ref.platform, ref.workspace_id))
    history = (
        "\n".join(
            f"Round {g.round_id}: with "
            + " and ".join(names[p] for p in g.partners_of(ref.user_id))
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
                    f"{profile.level}, {profile.focus}, {profile.cadence}; free "
                    f"{profile.availability} ({profile.timezone})",
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
        group = next(iter(await groups_of(conn, ref, limit=1)), None)
        if group is None:
            return Reply.text("You have not been matched yet.")
        reasons = [r for r in json.loads(group.reasons) if ref.user_id in (r["a"], r["b"])]
        names = await display_names(
            conn, ref.platform, ref.workspace_id, group.partners_of(ref.user_id)
        )
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
            else f"you last met {plural(r['met_rounds_ago'], 'round')} ago"
        )
        lines.append(
            f"**{names[other]}**: {hours} h {minutes} min of common free time this "
            f"week, {level}, {focus}; {met}."
        )
    return Reply(
        card=Card(
            title=f"Why your {'partner' if len(lines) == 1 else 'partners'} in round "
            f"{group.round_id}",
            body="\n".join(lines),
            tone=Tone.INFO,
        )
    )
