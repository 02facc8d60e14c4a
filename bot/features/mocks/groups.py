"""Mock groups as stored, finding a member's, and reaching their members."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import RowMapping, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.chat import Card, MemberRef
from bot.context import Context
from bot.features.privacy import FORGOTTEN
from bot.ports import PlatformError
from bot.store import sql
from bot.store.schema import members, mock_groups


@dataclass(frozen=True)
class MockGroup:
    """A pair or trio of one round: its private space and why the matcher made it."""

    id: int
    platform: str
    workspace_id: str
    round_id: int
    interviewer: str
    candidate: str
    observer: str | None  # only in a trio
    channel_id: str | None  # the private space, if one could be opened
    reasons: str  # JSON: the matcher's explanation, one entry per pair of members
    repeat: bool

    @property
    def members(self) -> tuple[str, ...]:
        return tuple(m for m in (self.interviewer, self.candidate, self.observer) if m)

    def partners_of(self, user_id: str) -> list[str]:
        return [m for m in self.members if m != user_id]

    def ref(self, user_id: str) -> MemberRef:
        return MemberRef(self.platform, self.workspace_id, user_id)


def _group(row: RowMapping) -> MockGroup:
    return MockGroup(
        id=row["id"],
        platform=row["platform"],
        workspace_id=row["workspace_id"],
        round_id=row["round_id"],
        interviewer=row["interviewer"],
        candidate=row["candidate"],
        observer=row["observer"],
        channel_id=row["channel_id"],
        reasons=row["reasons"],
        repeat=row["repeat"],
    )


async def load_group(conn: AsyncConnection, group_id: int) -> MockGroup | None:
    query = select(mock_groups).where(mock_groups.c.id == group_id)
    row = (await conn.execute(query)).mappings().first()
    return None if row is None else _group(row)


async def groups_of(conn: AsyncConnection, ref: MemberRef, *, limit: int) -> list[MockGroup]:
    """The member's mock groups, most recent first."""
    result = await conn.execute(
        select(mock_groups)
        .where(
            *sql.of_workspace(mock_groups, ref),
            (mock_groups.c.interviewer == ref.user_id)
            | (mock_groups.c.candidate == ref.user_id)
            | (mock_groups.c.observer == ref.user_id),
        )
        .order_by(mock_groups.c.id.desc())
        .limit(limit)
    )
    return [_group(row) for row in result.mappings().all()]


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
    """A private message; one that cannot be delivered is dropped, and a member who was
    forgotten (/me forget) is not written to."""
    if member.user_id == FORGOTTEN:
        return
    with contextlib.suppress(PlatformError):
        await ctx.platform.dm(member, card)
