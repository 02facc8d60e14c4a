"""Prepared statements (bot/store/prepared.py) give the same rows, counts and errors
whether they run straight on sqlite3 (inside a SQLite write transaction) or through
SQLAlchemy (reads, PostgreSQL, shapes the direct path does not take)."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.store import db, onetrip, sql
from bot.store.prepared import Prepared
from bot.store.schema import answers, drops, scores, seasons
from tests.conftest import Templates

T0 = datetime(2026, 3, 2, 9, 30, 15, 250_000, tzinfo=UTC)
DROP = Prepared(select(drops).where(drops.c.id == bindparam("drop_id")))
ANSWER = Prepared(
    select(answers.c.correct, answers.c.answered_at, answers.c.option_index, answers.c.text)
    .where(answers.c.drop_id == bindparam("drop_id"), answers.c.user_id == bindparam("user"))
    .limit(1)
)
SOME_ANSWERS = Prepared(
    select(answers.c.user_id)
    .where(answers.c.user_id.in_(bindparam("users", expanding=True)))
    .order_by(answers.c.user_id)
)
ADD_ANSWER = Prepared(answers.insert())


@pytest.fixture
async def engine(database_url: str) -> Any:
    engine = db.create_engine(database_url)
    try:
        yield engine
    finally:
        await engine.dispose()


def _answer(user: str, *, drop_id: int, correct: bool) -> dict[str, Any]:
    return {
        "platform": "p",
        "workspace_id": "w",
        "drop_id": drop_id,
        "user_id": user,
        "question_id": "q1",
        "option_index": 2 if correct else None,
        "correct": correct,
        "text": None,
        "points": 3,
        "answered_at": T0 + timedelta(seconds=len(user)),
    }


async def _drop(engine: AsyncEngine) -> int:
    async with engine.begin() as conn:
        result = await conn.execute(
            drops.insert().values(
                platform="p",
                workspace_id="w",
                channel_id="c",
                question_id="q1",
                question="{}",
                kind="choice",
                topic="evaluation",
                difficulty="easy",
                posted_at=T0,
                revealed_at=None,
            )
        )
        assert result.inserted_primary_key is not None
        return int(result.inserted_primary_key[0])


QUERIES: list[tuple[Prepared, dict[str, Any]]] = [
    (DROP, {"drop_id": 0}),
    (ANSWER, {"drop_id": 0, "user": "ann"}),
    (ANSWER, {"drop_id": 0, "user": "bo"}),
    (ANSWER, {"drop_id": 0, "user": "nobody"}),
]


async def _prepared(conn: AsyncConnection, drop_id: int) -> list[dict[str, Any] | None]:
    """QUERIES through Prepared: on SQLite straight on sqlite3."""
    rows = [await p.first(conn, {**params, "drop_id": drop_id}) for p, params in QUERIES]
    return [None if r is None else dict(r) for r in rows]


async def _sqlalchemy(conn: AsyncConnection, drop_id: int) -> list[dict[str, Any] | None]:
    """The same through SQLAlchemy's own execution."""
    rows = [
        (await conn.execute(p.statement, {**params, "drop_id": drop_id})).mappings().first()
        for p, params in QUERIES
    ]
    return [None if r is None else dict(r) for r in rows]


async def test_rows_are_the_same_straight_on_the_driver_and_through_sqlalchemy(
    engine: AsyncEngine,
) -> None:
    drop_id = await _drop(engine)
    async with engine.begin() as conn:  # on SQLite, straight on sqlite3 from here
        assert await ADD_ANSWER.write(conn, _answer("ann", drop_id=drop_id, correct=True)) == 1
        assert await ADD_ANSWER.write(conn, _answer("bo", drop_id=drop_id, correct=False)) == 1
        written = await _prepared(conn, drop_id)
        assert await ANSWER.scalar(conn, {"drop_id": drop_id, "user": "ann"}) is True
    async with engine.connect() as conn:
        assert await _prepared(conn, drop_id) == written  # a read, on SQLite also direct
        assert await _sqlalchemy(conn, drop_id) == written
    ann = written[1]
    assert ann is not None
    assert ann["correct"] is True and ann["answered_at"] == T0 + timedelta(seconds=3)
    assert ann["answered_at"].tzinfo is not None and ann["text"] is None
    assert written[2] is not None and written[2]["correct"] is False
    assert written[3] is None


async def test_upserts_count_and_add_the_same_either_way(engine: AsyncEngine) -> None:
    def row(user: str, points: int) -> dict[str, Any]:
        return {
            "platform": "p",
            "workspace_id": "w",
            "user_id": user,
            "period": "all",
            "topic": "*",
            "points": points,
            "answered": 1,
            "correct": 1,
        }

    keys = ("platform", "workspace_id", "user_id", "period", "topic")
    add = ("points", "answered", "correct")
    async with engine.begin() as conn:
        await sql.upsert(conn, scores, [row("ann", 5), row("bo", 2)], keys=keys, add=add)
        await sql.upsert(conn, scores, row("ann", 4), keys=keys, add=add)
        assert await sql.insert_ignore(conn, scores, row("cy", 1), keys=keys) is True
        assert await sql.insert_ignore(conn, scores, row("cy", 9), keys=keys) is False
    async with engine.connect() as conn:
        got = (await conn.execute(select(scores.c.user_id, scores.c.points))).all()
    assert sorted(got) == [("ann", 9), ("bo", 2), ("cy", 1)]


async def test_a_constant_in_the_statement_and_a_list_to_expand(engine: AsyncEngine) -> None:
    """LIMIT 1 is a value SQLAlchemy binds itself; an expanding IN is left to SQLAlchemy.
    Both give the right answer inside a write transaction."""
    drop_id = await _drop(engine)
    async with engine.begin() as conn:
        for user in ("ann", "bo", "cy"):
            await ADD_ANSWER.write(conn, _answer(user, drop_id=drop_id, correct=True))
        await conn.execute(
            seasons.insert().values(
                platform="p",
                workspace_id="w",
                number=1,
                name="Spring",
                channel_id="c",
                last_day="2026-03-31",
                started_at=T0,
                ends_at=T0 + timedelta(days=30),
            )
        )
        picked = await SOME_ANSWERS.first(conn, {"users": ["cy", "bo"]})
        season = await sql.season_at(conn, "p", "w", T0 + timedelta(days=1))
        outside = await sql.season_at(conn, "p", "w", T0 + timedelta(days=31))
    assert picked is not None and picked["user_id"] == "bo"
    assert season == 1 and outside is None


async def test_a_refused_write_raises_what_sqlalchemy_raises(engine: AsyncEngine) -> None:
    """A foreign key refused by the database is SQLAlchemy's IntegrityError on both paths,
    and the transaction holds nothing of it."""
    with pytest.raises(IntegrityError):
        async with engine.begin() as conn:
            await ADD_ANSWER.write(conn, _answer("ann", drop_id=999_999, correct=True))
    async with engine.connect() as conn:
        assert (await conn.execute(select(answers.c.user_id))).all() == []


async def test_on_sqlite_reads_and_writes_go_straight_to_the_driver(engine: AsyncEngine) -> None:
    """The direct path is taken where it applies (a compiled shape is kept): on SQLite, for
    a read and inside a write transaction; never on PostgreSQL."""
    fresh = Prepared(select(drops.c.id).where(drops.c.id == bindparam("drop_id")))
    async with engine.connect() as conn:
        await fresh.first(conn, {"drop_id": 1})
    assert bool(fresh._direct) is (engine.dialect.name == "sqlite")


@pytest.fixture
async def on_sqlite(tmp_path: Path, templates: Templates) -> Any:
    """An engine on a SQLite file at the newest schema, for what only SQLite does."""
    shutil.copyfile(templates.sqlite, tmp_path / "studybot.db")
    engine = db.create_engine(f"sqlite+aiosqlite:///{tmp_path / 'studybot.db'}")
    try:
        yield engine
    finally:
        await engine.dispose()


async def test_a_connections_direct_reads_share_one_snapshot(
    on_sqlite: AsyncEngine, tmp_path: Path
) -> None:
    """Direct reads begin the connection's read transaction as SQLAlchemy would (a plain
    BEGIN: no write lock taken), so a writer elsewhere goes on, and the reads after it
    still see the database as it was at the first."""
    drop_id = await _drop(on_sqlite)
    async with on_sqlite.connect() as conn:
        before = await ANSWER.first(conn, {"drop_id": drop_id, "user": "ann"})
        other = sqlite3.connect(tmp_path / "studybot.db", isolation_level=None, timeout=0)
        other.execute("BEGIN IMMEDIATE")  # would fail at once had the read taken the lock
        other.execute(
            "INSERT INTO answers (platform, workspace_id, drop_id, user_id, question_id,"
            " correct, points, answered_at) VALUES ('p', 'w', ?, 'ann', 'q1', 1, 1,"
            " '2026-03-02 09:30:00.000000')",
            (drop_id,),
        )
        other.execute("COMMIT")
        other.close()
        after = await ANSWER.first(conn, {"drop_id": drop_id, "user": "ann"})
    assert before is None and after is None
    async with on_sqlite.connect() as conn:
        assert await ANSWER.first(conn, {"drop_id": drop_id, "user": "ann"}) is not None


async def test_a_read_that_would_wait_goes_to_the_thread(
    on_sqlite: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When SQLite answers busy to a direct read (another process in the way), the read
    is made again through SQLAlchemy on the database thread, which waits there with the
    busy timeout, and gives the same row."""
    drop_id = await _drop(on_sqlite)
    busy: list[str] = []

    def refuse(_conn: object, _call: object) -> None:
        busy.append("busy")
        raise onetrip.Busy

    monkeypatch.setattr(onetrip, "without_waiting", refuse)
    async with on_sqlite.connect() as conn:
        row = await DROP.first(conn, {"drop_id": drop_id})
    assert busy == ["busy"]
    assert row is not None and row["id"] == drop_id and row["posted_at"] == T0


async def test_two_columns_under_one_key_keep_both_values(engine: AsyncEngine) -> None:
    """Two unlabelled counts share the key ``count``: such a statement is left to
    SQLAlchemy, so neither value is lost."""
    drop_id = await _drop(engine)
    counts = Prepared(
        select(func.count(answers.c.option_index), func.count(answers.c.text)).where(
            answers.c.drop_id == bindparam("drop_id")
        )
    )
    async with engine.begin() as conn:
        await ADD_ANSWER.write(conn, _answer("ann", drop_id=drop_id, correct=True))
        await ADD_ANSWER.write(conn, _answer("bo", drop_id=drop_id, correct=False))
        (row,) = await counts.all(conn, {"drop_id": drop_id})
    assert tuple(row.values()) == (1, 0)
