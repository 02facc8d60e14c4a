"""Workspace settings: its time zone, the role the week's top 3 hold (Discord), and whether
the optional AI reviewer advises on open answers (kept in ``store_meta``, off by default)."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.chat import Card, MemberRef, Reply, Tone, plural
from bot.context import Context
from bot.handlers import CommandError, CommandSpec, Feature, Invocation, Kind, Option, Permission
from bot.review import Reviewer
from bot.store import sql
from bot.store.schema import store_meta, workspaces
from bot.timespec import SpecError, parse_timezone


def _scope(inv: Invocation) -> tuple[str, str]:
    return inv.member.ref.platform, inv.member.ref.workspace_id


async def set_reward_role(ctx: Context, inv: Invocation) -> Reply:
    """A role the week's top 3 hold until the next digest (Discord); off removes it."""
    role = str(inv.options["role"])
    platform, workspace_id = _scope(inv)
    async with ctx.engine.begin() as conn:
        await conn.execute(
            update(workspaces)
            .where(workspaces.c.platform == platform, workspaces.c.workspace_id == workspace_id)
            .values(reward_role=None if role == "off" else role)
        )
    if role == "off":
        return Reply.text("No reward role: the weekly digest still announces the winners.")
    return Reply.text(
        f"Each Monday's digest gives <@&{role}> to last week's top 3 and takes it from the "
        "previous holders. The bot needs Manage Roles, and its own role must sit above that "
        "role. On platforms without roles the digest's announcement is the reward.",
        tone=Tone.GOOD,
    )


REVIEWER = "reviewer"  # the store_meta key of the workspace's reviewer switch


async def reviewer_on(conn: AsyncConnection, platform: str, workspace_id: str) -> bool:
    """Whether the workspace turned the AI reviewer on (off unless it did)."""
    value = await conn.scalar(
        select(store_meta.c.value).where(
            store_meta.c.platform == platform,
            store_meta.c.workspace_id == workspace_id,
            store_meta.c.key == REVIEWER,
        )
    )
    return value == "on"


async def active_reviewer(ctx: Context, platform: str, workspace_id: str) -> Reviewer | None:
    """The reviewer, when the server has one and this workspace turned it on."""
    if ctx.reviewer is None:
        return None
    async with ctx.engine.connect() as conn:
        on = await reviewer_on(conn, platform, workspace_id)
    return ctx.reviewer if on else None


async def _add(conn: AsyncConnection, member: MemberRef, key: str, amount: int) -> int:
    """Add to a workspace's counter in ``store_meta``; return what it held before."""
    scope = {"platform": member.platform, "workspace_id": member.workspace_id}
    await sql.insert_ignore(
        conn, store_meta, {**scope, "key": key, "value": "0"}, keys=(*scope, "key")
    )
    where = [store_meta.c[name] == value for name, value in {**scope, "key": key}.items()]
    used = int(await conn.scalar(select(store_meta.c.value).where(*where).with_for_update()) or 0)
    if amount:
        await conn.execute(store_meta.update().where(*where).values(value=str(used + amount)))
    return used


def _day_key(ctx: Context, what: str) -> str:
    return f"llm-{what}:{ctx.clock.now().date().isoformat()}"


async def spend_review(ctx: Context, member: MemberRef, reviewer: Reviewer) -> str | None:
    """Count one request against the workspace's budgets for today (UTC); which budget is
    spent (requests or tokens), or None if there is room."""
    async with ctx.engine.begin() as conn:
        if await _add(conn, member, _day_key(ctx, "tokens"), 0) >= reviewer.daily_tokens:
            return "tokens"
        if await _add(conn, member, _day_key(ctx, "requests"), 0) >= reviewer.daily_budget:
            return "requests"
        await _add(conn, member, _day_key(ctx, "requests"), 1)
    return None


async def used_tokens(ctx: Context, member: MemberRef, tokens: int) -> None:
    async with ctx.engine.begin() as conn:
        await _add(conn, member, _day_key(ctx, "tokens"), tokens)


def budget_spent_card(reviewer: Reviewer, spent: str) -> Card:
    what = (
        plural(reviewer.daily_budget, "AI review")
        if spent == "requests"
        else f"daily allowance of {reviewer.daily_tokens:,} tokens for AI reviews"
    )
    return Card(
        title="No AI review this time",
        body=f"This workspace has used its {what} for today, so nothing was sent. "
        "Reviews resume tomorrow (UTC); everything else works as usual.",
        tone=Tone.INFO,
    )


async def set_reviewer(ctx: Context, inv: Invocation) -> Reply:
    """Turn the AI reviewer's advice on open answers on or off for this workspace."""
    state = str(inv.options["state"])
    platform, workspace_id = _scope(inv)
    async with ctx.engine.begin() as conn:
        await sql.upsert(
            conn,
            store_meta,
            {"platform": platform, "workspace_id": workspace_id, "key": REVIEWER, "value": state},
            keys=("platform", "workspace_id", "key"),
            update=("value",),
        )
    if state == "off":
        return Reply.text("The AI reviewer is off: open answers are sent to no model.")
    if ctx.reviewer is None:
        return Reply.text(
            "The AI reviewer is switched on for this workspace, but this server has no model "
            "configured, so nothing is sent yet. Whoever runs the bot sets STUDYBOT_LLM_URL "
            "(and STUDYBOT_LLM_MODEL) to turn it on."
        )
    return Reply.text(
        "The AI reviewer is on: after an open drop's reveal each author also gets its "
        "advice privately. It never changes points or review ratings, and each workspace has "
        f"a daily limit of {ctx.reviewer.daily_budget} reviews.",
        tone=Tone.GOOD,
    )


async def set_timezone(ctx: Context, inv: Invocation) -> Reply:
    try:
        zone = parse_timezone(str(inv.options["tz"]))
    except SpecError as exc:
        raise CommandError(str(exc)) from None
    platform, workspace_id = _scope(inv)
    async with ctx.engine.begin() as conn:
        await conn.execute(
            update(workspaces)
            .where(workspaces.c.platform == platform, workspaces.c.workspace_id == workspace_id)
            .values(timezone=zone)
        )
    await ctx.jobs.refresh()
    return Reply.text(
        f"This workspace's time zone is now {zone}. New schedules use it unless they say "
        "`tz:`; weekly boards start on Monday there.",
        tone=Tone.GOOD,
    )


FEATURE = Feature(
    "settings",
    commands=(
        CommandSpec(
            "settings timezone",
            "Set this workspace's time zone (IANA name, e.g. Europe/Berlin)",
            set_timezone,
            (Option("tz", "An IANA time zone name, e.g. Europe/Berlin", required=True),),
            Permission.ADMIN,
            example="/settings timezone Europe/Berlin",
        ),
        CommandSpec(
            "settings reward-role",
            "A role for the week's top 3, moved each Monday (Discord); or off",
            set_reward_role,
            (Option("role", "The role (@Role), or off", Kind.ROLE, required=True),),
            Permission.ADMIN,
            example="/settings reward-role off",
        ),
        CommandSpec(
            "settings reviewer",
            "Let an AI reviewer advise on open answers (never changes points); on or off",
            set_reviewer,
            (Option("state", "on or off", Kind.CHOICE, ("on", "off"), required=True),),
            Permission.ADMIN,
            example="/settings reviewer on",
        ),
    ),
)
