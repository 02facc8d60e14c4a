"""Group commit on SQLite (bot/store/db.py): writers that queue share one transaction, each
in a savepoint; every writer's begin() returns only after the commit; a writer that fails
takes only its own work back; a failed commit fails every member and saves none of them."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store import db
from bot.store.schema import store_meta


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = db.create_engine(f"sqlite+aiosqlite:///{tmp_path / 'group.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(store_meta.create, checkfirst=True)
    try:
        yield engine
    finally:
        await engine.dispose()


def _commits(engine: AsyncEngine) -> list[int]:
    seen: list[int] = []
    event.listen(engine.sync_engine, "commit", lambda _conn: seen.append(1))
    return seen


async def _keys(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return set((await conn.scalars(select(store_meta.c.key))).all())


class Boom(Exception):
    pass


async def _write(engine: AsyncEngine, key: str, *, fail: bool = False, hold: float = 0) -> str:
    """Insert one row; optionally fail inside the transaction; then say whether the row is
    visible from another connection at the moment begin() returned (it must be)."""
    async with engine.begin() as conn:
        await conn.execute(
            store_meta.insert().values(platform="p", workspace_id="w", key=key, value="v")
        )
        if hold:
            await asyncio.sleep(hold)  # others queue up meanwhile
        if fail:
            raise Boom(key)
    return "visible" if key in await _keys(engine) else "not yet"


async def test_queued_writers_share_commits_and_return_only_when_committed(
    engine: AsyncEngine,
) -> None:
    commits = _commits(engine)
    results = await asyncio.gather(
        _write(engine, "k0", hold=0.05), *(_write(engine, f"k{i}") for i in range(1, 50))
    )
    assert results == ["visible"] * 50
    assert await _keys(engine) == {f"k{i}" for i in range(50)}
    assert 1 <= len(commits) <= 3  # the first alone (nobody waited yet), then the rest together
    alone = await _write(engine, "solo")  # nobody waiting: committed at once
    assert alone == "visible"


async def test_a_failing_writer_takes_back_only_its_own_work(engine: AsyncEngine) -> None:
    jobs = [
        _write(engine, "first", hold=0.05),
        _write(engine, "second"),
        _write(engine, "bad", fail=True),
        _write(engine, "fourth"),
    ]
    results = await asyncio.gather(*jobs, return_exceptions=True)
    assert results[:2] == ["visible", "visible"] and results[3] == "visible"
    assert isinstance(results[2], Boom)
    assert await _keys(engine) == {"first", "second", "fourth"}


async def test_the_first_of_a_group_failing_leaves_the_rest_to_commit(engine: AsyncEngine) -> None:
    """The first writer has no savepoint (nothing else to protect): its failure rolls the
    transaction back, and those queued behind it start a new one."""
    results = await asyncio.gather(
        _write(engine, "bad", fail=True, hold=0.05),
        _write(engine, "a"),
        _write(engine, "b"),
        return_exceptions=True,
    )
    assert isinstance(results[0], Boom) and results[1:] == ["visible", "visible"]
    assert await _keys(engine) == {"a", "b"}


async def test_a_failed_commit_fails_every_member_and_saves_none(engine: AsyncEngine) -> None:
    failing = True

    def refuse(_conn: object) -> None:
        if failing:
            raise Boom("disk full")

    event.listen(engine.sync_engine, "commit", refuse)
    results = await asyncio.gather(
        _write(engine, "x", hold=0.05),
        _write(engine, "y"),
        _write(engine, "z"),
        return_exceptions=True,
    )
    assert all(isinstance(r, Boom) for r in results), results
    failing = False
    assert await _keys(engine) == set()
    assert await _write(engine, "after") == "visible"  # the engine carries on
    async with engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(store_meta)) == 1


async def test_a_writer_waits_for_another_process_and_keeps_its_busy_timeout(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    """BEGIN IMMEDIATE is tried at once on the event loop; when another process holds the
    write lock it goes to the thread and waits there with the full busy timeout, and the
    connection's busy timeout is the same afterwards."""
    holder = sqlite3.connect(tmp_path / "group.db", isolation_level=None, timeout=0)
    holder.execute("BEGIN IMMEDIATE")
    loop = asyncio.get_running_loop()
    loop.call_later(0.3, holder.execute, "COMMIT")
    try:
        await asyncio.wait_for(_write(engine, "after-the-other"), timeout=10)
    finally:
        holder.close()
    assert await _keys(engine) == {"after-the-other"}
    async with engine.connect() as conn:
        timeout = await conn.scalar(text("PRAGMA busy_timeout"))
    assert timeout == db.BUSY_TIMEOUT_S * 1000


async def test_an_uncontended_write_begins_and_rolls_back_without_the_thread(
    engine: AsyncEngine,
) -> None:
    """With nobody else holding the lock, a write transaction's BEGIN IMMEDIATE and the
    pool's rollback on return run on the event loop: the only trip to aiosqlite's thread
    is the COMMIT."""
    await _write(engine, "warm")  # the pool's connection is open
    async with engine.connect() as conn:
        raw = (await conn.get_raw_connection()).dbapi_connection
    trips: list[object] = []
    aio = raw._connection
    real = aio._execute

    async def counted(fn: object, *args: object, **kwargs: object) -> object:
        trips.append(getattr(fn, "__name__", fn))
        return await real(fn, *args, **kwargs)

    aio._execute = counted
    try:
        async with engine.begin() as conn:
            await conn.execute(
                store_meta.insert().values(platform="p", workspace_id="w", key="k", value="v")
            )
    finally:
        del aio._execute
    assert trips == ["commit"]
