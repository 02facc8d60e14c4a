"""Helpers for the permission and isolation tests: every row of every table (to compare before
and after), and each command of the table filled in with example values, as typed or as a
platform sends typed options."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import RowMapping, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.chat import Attachment
from bot.handlers import CommandSpec, Kind, Option
from bot.store.schema import metadata
from tests.conftest import DATA

Snapshot = dict[str, list[tuple[str, ...]]]


async def snapshot(
    engine: AsyncEngine, *, where: Callable[[str, RowMapping], bool] | None = None
) -> Snapshot:
    """Each table's rows (``where`` keeps only some), as sorted tuples of text."""
    out: Snapshot = {}
    async with engine.connect() as conn:
        for table in metadata.sorted_tables:
            rows = (await conn.execute(select(table))).mappings().all()
            kept = [r for r in rows if where is None or where(table.name, r)]
            out[table.name] = sorted(tuple(str(v) for v in r.values()) for r in kept)
    return out


def changed(before: Snapshot, after: Snapshot) -> dict[str, int]:
    """The tables whose rows differ, with how many rows were added, removed or changed."""
    return {
        name: len(set(before[name]) ^ set(after[name]))
        for name in before
        if before[name] != after[name]
    }


QUESTION = "evaluation-accuracy-rare-fraud"  # in tests/data/mini.yaml
PACK = "good.yaml"
# Text options by name, as an admin or member would fill them in; a command's own meaning
# of a name comes first.
TEXT = {
    "when": "daily 09:00",
    "tz": "Europe/Berlin",
    "until": "2027-06-01",
    "day": "wed",
    "time": "18:00",
    "command": "quiz",
    "reveal": "2h",
    "id": QUESTION,
}
BY_COMMAND = {("remind", "when"): "19:00"}


@dataclass(frozen=True)
class Refs:
    """How members, channels and roles are written on one platform."""

    member: str
    channel: str
    role: str


CONSOLE = Refs(member="@bob", channel="#c1", role="<@&42>")


def value(spec: CommandSpec, option: Option, refs: Refs) -> str:
    """An example value for the option, as a member would give it."""
    if option.kind is Kind.CHOICE:
        return option.choices[0]
    if option.kind is Kind.INT:
        return str(option.minimum or 1)
    if option.kind is Kind.MEMBER:
        return refs.member
    if option.kind is Kind.CHANNEL:
        return refs.channel
    if option.kind is Kind.ROLE:
        return refs.role
    if option.kind is Kind.FILE:
        return PACK
    return BY_COMMAND.get((spec.name, option.name), TEXT.get(option.name, "x"))


def needed(spec: CommandSpec) -> list[Option]:
    """The required options, and a file where the command takes one (a pack to import)."""
    return [o for o in spec.options if o.required or o.kind is Kind.FILE]


def text_of(spec: CommandSpec, refs: Refs = CONSOLE) -> str:
    """The command as typed on the console or after Slack's `/prep` (files come apart)."""
    words = [spec.name] + [
        f"{o.name}:{shlex.quote(value(spec, o, refs))}"
        for o in needed(spec)
        if o.kind is not Kind.FILE
    ]
    return " ".join(words)


def pack(name: str = PACK) -> Attachment:
    return Attachment(name, (DATA / "packs" / name).read_bytes())


def files_for(spec: CommandSpec, name: str = PACK) -> tuple[Attachment, ...]:
    return (pack(name),) if any(o.kind is Kind.FILE for o in spec.options) else ()
