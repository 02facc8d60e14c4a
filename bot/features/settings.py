"""Workspace settings: its time zone, and the role the week's top 3 hold (Discord)."""

from __future__ import annotations

from sqlalchemy import update

from bot.chat import Reply, Tone
from bot.context import Context
from bot.handlers import CommandError, CommandSpec, Feature, Invocation, Kind, Option, Permission
from bot.store.schema import workspaces
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
    ),
)
