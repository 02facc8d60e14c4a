"""Shared pieces of the mock-interview feature: timings, names, groups, DMs."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import RowMapping, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.chat import Card, MemberRef
from bot.context import Context
from bot.ports import PlatformError
from bot.store import ops
from bot.store.schema import members, mock_groups

FOLLOW_UP_AFTER = timedelta(days=7)  # the session window: check in when it has passed
ASK_AGAIN_AFTER = timedelta(hours=48)
MISSED_TO_PAUSE = 3
PACKET_SIZE = 3
FOLLOW_UP_ACTION = "mock-follow-up"
ROUND_FORM = "mock:join"
SLOTS_SHOWN = 3


async def display_names(
    conn: AsyncConnection, platform: str, workspace_id: str, ids: Sequence[str]
) -> dict[str, str]:
    """Display names by user id (the id itself for anyone not seen yet)."""
    rows = await conn.execute(
        select(members.c.user_id, members.c.display_name).where(
            members.c.platform == platform,
            members.c.workspace_id == workspace_id,
            members.c.user_id.in_(list(ids)),
        )
    )
    names = {user: name for user, name in rows.all()}
    return {i: names.get(i, i) for i in ids}


async def dm(ctx: Context, member: MemberRef, card: Card) -> None:
    with contextlib.suppress(PlatformError):
        await ctx.platform.dm(member, card)


async def load_group(conn: AsyncConnection, group_id: int) -> RowMapping | None:
    return (
        (await conn.execute(select(mock_groups).where(mock_groups.c.id == group_id)))
        .mappings()
        .first()
    )


def partners(group: RowMapping, user_id: str) -> list[str]:
    return [
        m
        for m in (group["interviewer"], group["candidate"], group["observer"])
        if m and m != user_id
    ]


async def groups_of(conn: AsyncConnection, ref: MemberRef, *, limit: int) -> list[RowMapping]:
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
