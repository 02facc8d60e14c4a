"""/me export (everything stored about you, as JSON) and /me forget (all of it, confirmed).

What is "about you" is written down once, below, and both commands use it: the export lists
exactly the records a forget then deletes or unlinks, so the two give the same count.

- A row with your id in a ``user_id`` column is yours: deleted (answers, points, streak, cards,
  reminders' settings, votes, mock profile, check-ins, feedback you gave…).
- Other columns that hold a member's id (``_COLUMNS``): the row is deleted when it is about
  you alone (a block of you, a packet you were to ask from), or kept for the others in it with
  ``FORGOTTEN`` (or nothing) in your place: a mock group, the packet your partner asked you
  from, a schedule you created, a pack you imported.
- Ids inside text (``_IN_TEXT``): a timer's key or JSON payload, a delivery's key, a round's
  list of who waits, the reward role's holders, a pairing's explanation. Matched exactly (a
  key's last ``:`` part, or a whole JSON value), never with ``LIKE`` patterns, where ``_`` in
  an id would match any character.

On SQLite the file is then rewritten (``VACUUM``) and the write-ahead log emptied (checkpoint
TRUNCATE), so deleted rows leave no bytes behind in the database, ``-wal`` or ``-shm`` files.
docs/decisions/0007-forgetting.md gives the reasons.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from sqlalchemy import Column, ColumnElement, RowMapping, Table, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.chat import Action, Attachment, Button, Card, MemberRef, Place, Reply, Style, Tone, plural
from bot.context import Context
from bot.features.votes import recount_votes
from bot.handlers import UNKNOWN_BUTTON, CommandSpec, Feature, Invocation
from bot.ports import PlatformError
from bot.store.schema import (
    deliveries,
    inbound_seen,
    metadata,
    mock_groups,
    mock_rounds,
    timers,
    workspaces,
)

log = logging.getLogger(__name__)

PREFIX = "me"
FORGET = f"{PREFIX}:forget"
# Stands in for a forgotten member where a shared record stays (a partner's mock group). It has
# spaces, so it is never a platform's user id, and it reads well where a name is shown.
FORGOTTEN = "a former member"


class Do(Enum):
    DELETE = "delete the row"
    CLEAR = "set the column to null"
    UNLINK = "put FORGOTTEN in the column"


# Columns other than ``user_id`` (whose rows are always deleted) that hold a member's id.
_COLUMNS: Mapping[tuple[str, str], Do] = {
    ("drops", "private_to"): Do.DELETE,  # a /quiz or /practice question shown to them only
    ("drops", "posted_by"): Do.CLEAR,
    ("schedules", "created_by"): Do.UNLINK,
    ("questions", "added_by"): Do.CLEAR,
    ("retirements", "retired_by"): Do.UNLINK,
    ("mock_blocks", "blocked_user_id"): Do.DELETE,
    ("mock_groups", "interviewer"): Do.UNLINK,
    ("mock_groups", "candidate"): Do.UNLINK,
    ("mock_groups", "observer"): Do.UNLINK,
    # (group, interviewer) is the key: their own packet goes, so two forgotten partners
    # never become two packets with the same interviewer.
    ("mock_packets", "interviewer"): Do.DELETE,
    ("mock_packets", "candidate"): Do.UNLINK,
    ("mock_feedback", "to_user_id"): Do.UNLINK,
}
# Set as well on a row kept for others: the words about the member, their private space.
_ALSO_SET: Mapping[tuple[str, str], Mapping[str, object]] = {
    ("mock_feedback", "to_user_id"): {"strength": "", "improve": ""},
    ("mock_groups", "interviewer"): {"channel_id": None},
    ("mock_groups", "candidate"): {"channel_id": None},
    ("mock_groups", "observer"): {"channel_id": None},
}
_SCOPE_FIELDS = frozenset({"platform", "workspace", "workspace_id"})  # in JSON: never an id


def _member_columns() -> Iterator[tuple[Table, Column[Any], Do]]:
    for table in metadata.sorted_tables:
        for column in table.c:
            if column.name == "user_id":
                yield table, column, Do.DELETE
            elif (rule := _COLUMNS.get((table.name, column.name))) is not None:
                yield table, column, rule


# ---- ids inside text ----------------------------------------------------------------------


def _holds(value: object, user_id: str) -> bool:
    """Whether a JSON value holds the id as a whole string (scope fields aside)."""
    if isinstance(value, str):
        return value == user_id
    if isinstance(value, list):
        return any(_holds(v, user_id) for v in value)
    if isinstance(value, dict):
        return any(_holds(v, user_id) for k, v in value.items() if k not in _SCOPE_FIELDS)
    return False


def _replaced(value: object, user_id: str) -> object:
    """The JSON value with FORGOTTEN wherever it held the id."""
    if isinstance(value, str):
        return FORGOTTEN if value == user_id else value
    if isinstance(value, list):
        return [_replaced(v, user_id) for v in value]
    if isinstance(value, dict):
        return {k: v if k in _SCOPE_FIELDS else _replaced(v, user_id) for k, v in value.items()}
    return value


def _loads(text: str | None) -> object:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


def _replace_in_json(text: str, user_id: str) -> str:
    return json.dumps(_replaced(_loads(text), user_id))


def _drop_from_list(text: str, user_id: str) -> str:
    """A JSON list of ids without this one (the reward role's holders: a placeholder there
    would be handed to the platform as a member to take the role from)."""
    value = _loads(text)
    return json.dumps([v for v in value if v != user_id] if isinstance(value, list) else value)


@dataclass(frozen=True)
class InText:
    """A text column that may hold a member's id inside it, and what forgetting does."""

    table: Table
    column: str
    json: bool  # a JSON document (whole values compared) or a key (its last ":" part)
    then: Callable[[str, str], str] | None = None  # the new text; None: delete the row

    def mentions(self, text: str | None, user_id: str) -> bool:
        if not text:
            return False
        if self.json:
            return _holds(_loads(text), user_id)
        return text.rsplit(":", 1)[-1] == user_id

    def near(self, user_id: str) -> ColumnElement[bool]:
        """A cheap SQL filter for the rows that may mention the id; ``mentions`` decides."""
        column = self.table.c[self.column]
        if self.json:  # json.dumps writes non-ASCII as \\u escapes
            escaped = json.dumps(user_id)[1:-1]
            return or_(
                column.contains(user_id, autoescape=True), column.contains(escaped, autoescape=True)
            )
        return or_(column == user_id, column.endswith(f":{user_id}", autoescape=True))


_IN_TEXT = (
    InText(timers, "key", json=False),  # remind:<platform>:<workspace>:<user>, …:<group>:<user>
    InText(timers, "payload", json=True),
    InText(deliveries, "key", json=False),
    InText(inbound_seen, "delivery_id", json=False),
    InText(mock_groups, "reasons", json=True, then=_replace_in_json),
    InText(mock_rounds, "unplaced", json=True, then=_replace_in_json),
    InText(workspaces, "reward_holders", json=True, then=_drop_from_list),
)


# ---- finding ------------------------------------------------------------------------------


def _scope(table: Table, member: MemberRef) -> list[ColumnElement[bool]]:
    return [table.c.platform == member.platform, table.c.workspace_id == member.workspace_id]


def _key(table: Table, row: RowMapping) -> tuple[object, ...]:
    return tuple(row[c.name] for c in table.primary_key.columns)


def _same_row(table: Table, row: RowMapping) -> list[ColumnElement[bool]]:
    return [c == row[c.name] for c in table.primary_key.columns]


Found = dict[str, list[RowMapping]]  # table name → the rows about the member


async def find(conn: AsyncConnection, member: MemberRef) -> Found:
    """Every row about the member, by table (each row once)."""
    rows: dict[str, dict[tuple[object, ...], RowMapping]] = {}
    by_table: dict[Table, list[Column[Any]]] = {}
    for table, column, _ in _member_columns():
        by_table.setdefault(table, []).append(column)
    for table, columns in by_table.items():
        result = await conn.execute(
            select(table).where(
                *_scope(table, member), or_(*(c == member.user_id for c in columns))
            )
        )
        for row in result.mappings().all():
            rows.setdefault(table.name, {})[_key(table, row)] = row
    for rule in _IN_TEXT:
        query = select(rule.table).where(*_scope(rule.table, member), rule.near(member.user_id))
        for row in (await conn.execute(query)).mappings().all():
            if rule.mentions(row[rule.column], member.user_id):
                rows.setdefault(rule.table.name, {})[_key(rule.table, row)] = row
    order = [t.name for t in metadata.sorted_tables]
    return {name: list(rows[name].values()) for name in order if rows.get(name)}


def count(found: Found) -> int:
    return sum(len(rows) for rows in found.values())


def _plain(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else value


async def export_command(ctx: Context, inv: Invocation) -> Reply:
    member = inv.member.ref
    async with ctx.engine.connect() as conn:
        found = await find(conn, member)
    document = {
        "member": {
            "platform": member.platform,
            "workspace": member.workspace_id,
            "user_id": member.user_id,
        },
        "exported_at": ctx.clock.now().isoformat(),
        "tables": {
            name: [{k: _plain(v) for k, v in row.items()} for row in rows]
            for name, rows in found.items()
        },
    }
    return Reply(
        card=Card(
            title="Your data",
            body=f"Everything studybot stores about you: {plural(count(found), 'record')} in "
            f"{plural(len(found), 'table')}, attached as JSON.",
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
    async with ctx.engine.connect() as conn:
        records = count(await find(conn, inv.member.ref))
    return Reply(
        card=Card(
            title="Forget everything about you?",
            body=f"This deletes the {plural(records, 'record')} studybot holds about you in this "
            "workspace: answers, points, streak, review cards, reminders, reactions, your mock "
            "interview profile and feedback. You leave every board; in your partners' past mock "
            'interviews you become "a former member". It cannot be undone. Run `/me export` '
            "first if you want a copy.",
            buttons=(Button("Yes, forget me", FORGET, Style.DANGER),),
            tone=Tone.BAD,
        )
    )


# ---- forgetting ---------------------------------------------------------------------------


async def _erase_columns(conn: AsyncConnection, member: MemberRef) -> None:
    """The member's id in id columns: their rows deleted, shared rows unlinked."""
    for table, column, rule in _member_columns():
        where = [*_scope(table, member), column == member.user_id]
        if rule is Do.DELETE:
            await conn.execute(delete(table).where(*where))
            continue
        values: dict[str, object] = {column.name: FORGOTTEN if rule is Do.UNLINK else None}
        values.update(_ALSO_SET.get((table.name, column.name), {}))
        await conn.execute(update(table).where(*where).values(values))


async def _erase_text(conn: AsyncConnection, member: MemberRef, found: Found) -> None:
    """The member's id inside keys and JSON: those rows deleted or rewritten, one by one."""
    for rule in _IN_TEXT:
        for row in found.get(rule.table.name, ()):
            text = row[rule.column]
            if not rule.mentions(text, member.user_id):
                continue
            where = _same_row(rule.table, row)
            if rule.then is None:
                await conn.execute(delete(rule.table).where(*where))
            else:
                new = rule.then(text, member.user_id)
                await conn.execute(update(rule.table).where(*where).values({rule.column: new}))


async def forget(ctx: Context, member: MemberRef, place: Place | None = None) -> int:
    """Delete every row about the member and unlink them from shared ones; returns how many
    records that was (what /me export counts)."""
    async with ctx.engine.begin() as conn:
        found = await find(conn, member)
        await _erase_columns(conn, member)
        await _erase_text(conn, member, found)
        voted_on = {row["message_id"] for row in found.get("reactions", ())}
        for message_id in sorted(voted_on):  # their votes no longer count for others
            await recount_votes(conn, member, message_id)
    await ctx.jobs.refresh()  # timers deleted above stop here; other instances on their sync
    if place is not None:
        await _take_back_reward(ctx, member, place, found.get("workspaces", ()))
    await scrub(ctx)
    return count(found)


async def _take_back_reward(
    ctx: Context, member: MemberRef, place: Place, rows: Sequence[RowMapping]
) -> None:
    """A member forgotten while holding the weekly reward role loses it now: the next digest
    no longer knows they had it."""
    for row in rows:
        if row["reward_role"]:
            with contextlib.suppress(PlatformError):
                await ctx.platform.award_role(
                    place, row["reward_role"], add=(), remove=(member.user_id,)
                )


async def scrub(ctx: Context) -> None:
    """SQLite keeps deleted rows' bytes in free pages and older page images in the -wal file:
    rewrite the file from live rows only and empty the log. PostgreSQL reclaims dead rows
    itself (autovacuum)."""
    if ctx.engine.dialect.name != "sqlite":
        return
    try:
        async with ctx.engine.connect() as conn:
            raw = await conn.get_raw_connection()
            sqlite = raw.driver_connection  # outside any transaction: VACUUM refuses one
            assert sqlite is not None
            await (await sqlite.execute("VACUUM")).close()
            cursor = await sqlite.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            busy = await cursor.fetchone()
            await cursor.close()
    except sqlite3.Error as exc:  # the rows are gone already; their bytes go at the next try
        log.warning("could not compact the database after a forget: %s", exc)
        return
    if busy and busy[0]:
        log.warning("after a forget, the write-ahead log could not be emptied: a reader held it")


async def on_action(ctx: Context, action: Action) -> Reply:
    """The "Yes, forget me" button under /me forget."""
    if action.action_id != FORGET:
        return Reply.error(UNKNOWN_BUTTON)
    return await on_confirm(ctx, action.member.ref, action.place)


async def on_confirm(ctx: Context, member: MemberRef, place: Place | None = None) -> Reply:
    records = await forget(ctx, member, place)
    return Reply.text(
        f"Done: {plural(records, 'record')} about you deleted or no longer naming you, and you "
        "are off every board. If you take part again, you start fresh.",
        tone=Tone.GOOD,
    )


FEATURE = Feature(
    "privacy",
    commands=(
        CommandSpec(
            "me export",
            "Everything stored about you, as a JSON file",
            export_command,
            example="/me export",
        ),
        CommandSpec(
            "me forget",
            "Delete everything stored about you (asks first)",
            forget_command,
            example="/me forget",
        ),
    ),
    actions={PREFIX: on_action},
)
