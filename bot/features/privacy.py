"""/me export (everything stored about you, as JSON) and /me forget (all of it, confirmed)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Table, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.chat import Action, Attachment, Button, Card, MemberRef, Reply, Style, Tone
from bot.context import Context
from bot.features.votes import recount_votes
from bot.handlers import UNKNOWN_BUTTON, CommandSpec, Feature, Invocation
from bot.store.schema import answers, drops, metadata, reactions, timers

PREFIX = "me"
FORGET = f"{PREFIX}:forget"
FORGOTTEN = "forgotten"  # stands in for the member where a shared record must stay
# Columns that hold a member's user id, besides the ``user_id`` columns.
_ALSO = {
    ("drops", "private_to"),
    ("drops", "posted_by"),
    ("schedules", "created_by"),
    ("questions", "added_by"),
    ("retirements", "retired_by"),
    ("mock_blocks", "blocked_user_id"),
    ("mock_groups", "interviewer"),
    ("mock_groups", "candidate"),
    ("mock_groups", "observer"),
    ("mock_packets", "interviewer"),
    ("mock_packets", "candidate"),
    ("mock_feedback", "to_user_id"),
}
# Rows that are about the member even when the id sits in another column: deleted.
_DELETE_BY = {("mock_blocks", "blocked_user_id"), ("mock_feedback", "to_user_id")}


def _member_columns() -> Iterator[tuple[Table, Column[Any]]]:
    for table in metadata.sorted_tables:
        for column in table.c:
            if column.name == "user_id" or (table.name, column.name) in _ALSO:
                yield table, column


def _scope(table: Table, member: MemberRef) -> list[Any]:
    return [table.c.platform == member.platform, table.c.workspace_id == member.workspace_id]


def _plain(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else value


async def collect(conn: AsyncConnection, member: MemberRef) -> dict[str, list[dict[str, object]]]:
    """Every row that mentions the member, by table."""
    out: dict[str, list[dict[str, object]]] = {}
    for table in metadata.sorted_tables:
        columns = [c for t, c in _member_columns() if t is table]
        if not columns:
            continue
        rows = (
            (
                await conn.execute(
                    select(table).where(
                        *_scope(table, member), or_(*(c == member.user_id for c in columns))
                    )
                )
            )
            .mappings()
            .all()
        )
        if rows:
            out[table.name] = [{k: _plain(v) for k, v in row.items()} for row in rows]
    return out


async def export_command(ctx: Context, inv: Invocation) -> Reply:
    member = inv.member.ref
    async with ctx.engine.connect() as conn:
        data = await collect(conn, member)
    document = {
        "member": {
            "platform": member.platform,
            "workspace": member.workspace_id,
            "user_id": member.user_id,
        },
        "exported_at": ctx.clock.now().isoformat(),
        "tables": data,
    }
    rows = sum(len(v) for v in data.values())
    return Reply(
        card=Card(
            title="Your data",
            body=f"Everything studybot stores about you: {rows} record(s) in {len(data)} "
            "table(s), attached as JSON.",
            footer="/me forget deletes all of it.",
            tone=Tone.INFO,
        ),
        files=(
            Attachment(
                "studybot-my-data.json", json.dumps(document, indent=2, ensure_ascii=False).encode()
            ),
        ),
    )


async def forget_command(ctx: Context, inv: Invocation) -> Reply:
    return Reply(
        card=Card(
            title="Forget everything about you?",
            body="This deletes your answers, points, streak, review cards, reminders and "
            "reactions in this workspace, and removes you from every board. It cannot be "
            "undone. Run `/me export` first if you want a copy.",
            buttons=(Button("Yes, forget me", FORGET, Style.DANGER),),
            tone=Tone.BAD,
        )
    )


async def forget(ctx: Context, member: MemberRef) -> int:
    """Delete every row about the member; shared records keep a placeholder instead."""
    deleted = 0
    async with ctx.engine.begin() as conn:
        voted_on = (
            await conn.scalars(
                select(reactions.c.message_id).where(
                    *_scope(reactions, member), reactions.c.user_id == member.user_id
                )
            )
        ).all()
        # Drops shown only to them go with their answers; shared drops stay, unattributed.
        result = await conn.execute(
            delete(answers).where(*_scope(answers, member), answers.c.user_id == member.user_id)
        )
        deleted += result.rowcount
        result = await conn.execute(
            delete(drops).where(*_scope(drops, member), drops.c.private_to == member.user_id)
        )
        deleted += result.rowcount
        for table, column in _member_columns():
            if column.name == "user_id" or column.nullable is False:
                if column.name == "user_id" or (table.name, column.name) in _DELETE_BY:
                    result = await conn.execute(
                        delete(table).where(*_scope(table, member), column == member.user_id)
                    )
                else:
                    result = await conn.execute(
                        update(table)
                        .where(*_scope(table, member), column == member.user_id)
                        .values({column.name: FORGOTTEN})
                    )
            else:
                result = await conn.execute(
                    update(table)
                    .where(*_scope(table, member), column == member.user_id)
                    .values({column.name: None})
                )
            deleted += result.rowcount
        result = await conn.execute(
            delete(timers).where(
                timers.c.key.like(f"%:{member.platform}:{member.workspace_id}:{member.user_id}")
            )
        )
        deleted += result.rowcount
        for message_id in set(voted_on):  # their votes no longer count for others
            await recount_votes(conn, member, message_id)
    return deleted


async def on_action(ctx: Context, action: Action) -> Reply:
    """The "Yes, forget me" button under /me forget."""
    if action.action_id != FORGET:
        return Reply.error(UNKNOWN_BUTTON)
    return await on_confirm(ctx, action.member.ref)


async def on_confirm(ctx: Context, member: MemberRef) -> Reply:
    count = await forget(ctx, member)
    for key in (f"remind:{member.platform}:{member.workspace_id}:{member.user_id}",):
        ctx.jobs.forget(f"timer:{key}")
    return Reply.text(
        f"Done: {count} record(s) about you were deleted and you are off every board. "
        "If you take part again, you start fresh.",
        tone=Tone.GOOD,
    )


FEATURE = Feature(
    "privacy",
    commands=(
        CommandSpec("me export", "Everything stored about you, as a JSON file", export_command),
        CommandSpec("me forget", "Delete everything stored about you (asks first)", forget_command),
    ),
    actions={PREFIX: on_action},
)
