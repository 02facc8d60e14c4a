"""SQL that features share: portable upserts, score rows, member scopes, the name join."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import BindParameter, ColumnElement, Join, Table, and_, bindparam, select
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from bot import scoring
from bot.chat import MemberRef
from bot.store.prepared import Prepared
from bot.store.schema import members, scores, seasons

_STATEMENTS: dict[tuple[object, ...], Prepared] = {}


def _statement(
    conn: AsyncConnection,
    table: Table,
    *,
    keys: Sequence[str],
    update: Sequence[str] = (),
    add: Sequence[str] = (),
) -> Prepared:
    """An INSERT … ON CONFLICT for ``table``, built once per shape and reused: the rows go
    in as parameters at execution, so SQLAlchemy compiles each shape once, not per call."""
    shape = (conn.dialect.name, table.name, tuple(keys), tuple(update), tuple(add))
    prepared = _STATEMENTS.get(shape)
    if prepared is None:
        stmt: Any
        if conn.dialect.name == "postgresql":
            from sqlalchemy.dialects import postgresql  # only there: a 25 ms import

            stmt = postgresql.insert(table)
        else:
            stmt = sqlite.insert(table)
        set_: dict[str, Any] = {name: stmt.excluded[name] for name in update}
        set_.update({name: table.c[name] + stmt.excluded[name] for name in add})
        if set_:
            stmt = stmt.on_conflict_do_update(index_elements=list(keys), set_=set_)
        else:
            stmt = stmt.on_conflict_do_nothing(index_elements=list(keys))
        prepared = _STATEMENTS[shape] = Prepared(stmt)
    return prepared


async def insert_ignore(
    conn: AsyncConnection, table: Table, values: Mapping[str, Any], *, keys: Sequence[str]
) -> bool:
    """Insert unless a row with the same ``keys`` exists; return whether it was inserted."""
    return bool(await _statement(conn, table, keys=keys).write(conn, values))


async def upsert(
    conn: AsyncConnection,
    table: Table,
    values: Mapping[str, Any] | Sequence[Mapping[str, Any]],
    *,
    keys: Sequence[str],
    update: Sequence[str] = (),
    add: Sequence[str] = (),
) -> None:
    """Insert one row or many; on conflict overwrite ``update`` columns and add to ``add``
    columns. Rows with the same columns go in one execution."""
    rows = [dict(values)] if isinstance(values, Mapping) else [dict(v) for v in values]
    if not rows:
        return
    await _statement(conn, table, keys=keys, update=update, add=add).write(conn, rows)


async def add_score(
    conn: AsyncConnection,
    *,
    member: MemberRef,
    topic: str,
    at: datetime,
    tz: ZoneInfo,
    points: int,
    answered: int = 0,
    correct: int = 0,
) -> None:
    """Maintain the leaderboard aggregates: every period the moment falls in (the season
    running then too), overall and for the topic. Runs inside the caller's transaction, next
    to the answer it counts."""
    season = await season_at(conn, member.platform, member.workspace_id, at)
    rows = [
        {
            "platform": member.platform,
            "workspace_id": member.workspace_id,
            "user_id": member.user_id,
            "period": period,
            "topic": scope_topic,
            "points": points,
            "answered": answered,
            "correct": correct,
        }
        for period in scoring.periods(at, tz, season)
        for scope_topic in ("*", topic)
    ]
    await upsert(
        conn,
        scores,
        rows,
        keys=("platform", "workspace_id", "user_id", "period", "topic"),
        add=("points", "answered", "correct"),
    )


@functools.cache
def _season_at() -> Prepared:
    at: BindParameter[datetime] = bindparam("at")
    return Prepared(
        select(seasons.c.number)
        .where(*by_workspace(seasons), seasons.c.started_at <= at, seasons.c.ends_at > at)
        .order_by(seasons.c.number.desc())
        .limit(1)
    )


async def season_at(
    conn: AsyncConnection, platform: str, workspace_id: str, at: datetime
) -> int | None:
    """The number of the workspace's season that ``at`` falls in, if any (seasons never
    overlap: one runs at a time, from its start until its end)."""
    params = {**workspace_params(platform, workspace_id), "at": at}
    found = await _season_at().scalar(conn, params)
    return None if found is None else int(found)


def of_workspace(table: Table, ref: MemberRef) -> list[ColumnElement[bool]]:
    """Rows of ``table`` in the member's workspace."""
    return [table.c.platform == ref.platform, table.c.workspace_id == ref.workspace_id]


def of_member(table: Table, ref: MemberRef) -> list[ColumnElement[bool]]:
    """Rows of ``table`` that belong to the member (its ``user_id`` column)."""
    return [*of_workspace(table, ref), table.c.user_id == ref.user_id]


# Prepared statements. Building a statement (its WHERE clause's comparisons, its bound
# values, its cache key) cost more of an answer's time than running it; a statement built
# once with named parameters, as below, is compiled once and only its values change.


def by_workspace(table: Table) -> list[ColumnElement[bool]]:
    """``of_workspace`` with named parameters (``member_params`` or ``workspace_params``)."""
    return [
        table.c.platform == bindparam("m_platform"),
        table.c.workspace_id == bindparam("m_workspace"),
    ]


def by_member(table: Table) -> list[ColumnElement[bool]]:
    """``of_member`` with named parameters, for a statement built once (``member_params``)."""
    return [*by_workspace(table), table.c.user_id == bindparam("m_user")]


def workspace_params(platform: str, workspace_id: str) -> dict[str, Any]:
    return {"m_platform": platform, "m_workspace": workspace_id}


def member_params(ref: MemberRef) -> dict[str, Any]:
    """The values of ``by_member``'s parameters for this member."""
    return {"m_platform": ref.platform, "m_workspace": ref.workspace_id, "m_user": ref.user_id}


@functools.cache
def member_row(table: Table) -> Prepared:
    """The member's one row of a table keyed by member (streaks, plans, …); built once."""
    return Prepared(select(table).where(*by_member(table)))


def with_names(table: Table) -> Join:
    """``table`` joined to the members it names, for display names (missing ones stay)."""
    return table.outerjoin(
        members,
        and_(
            members.c.platform == table.c.platform,
            members.c.workspace_id == table.c.workspace_id,
            members.c.user_id == table.c.user_id,
        ),
    )
