"""Start-up loads and compares the shipped bank only when it differs from the store's."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, func, select, update

from bot import bank
from bot.store.db import create_engine, migrate
from bot.store.schema import SHIPPED, questions, store_meta
from questions.loader import load_bank
from tests.conftest import mini_bank

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


async def test_the_bank_is_synced_once_then_skipped_until_it_changes(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await migrate(engine)
        async with engine.begin() as conn:
            first = await bank.sync_shipped_if_changed(conn, now=NOW)
        assert first == len(load_bank())
        async with engine.begin() as conn:
            assert await bank.sync_shipped_if_changed(conn, now=NOW) is None  # not loaded
            # A bank that differs from the one the store holds (a new release) is synced.
            gone = await conn.scalar(select(questions.c.id).limit(1))
            await conn.execute(delete(questions).where(questions.c.id == gone))
            await conn.execute(update(store_meta).values(value="an older bank"))
        async with engine.begin() as conn:
            assert await bank.sync_shipped_if_changed(conn, now=NOW) == 1
            count = await conn.scalar(
                select(func.count())
                .select_from(questions)
                .where(questions.c.platform == SHIPPED, questions.c.workspace_id == SHIPPED)
            )
        assert count == len(load_bank())
    finally:
        await engine.dispose()


async def test_a_new_release_adds_rewrites_and_removes_shipped_questions(database_url: str) -> None:
    """Sync writes every new and changed question in one statement each: each row still
    gets its own values, changed ones keep when they were first added, removed ones go."""
    items = list(mini_bank())
    later = datetime(2026, 2, 1, tzinfo=UTC)
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            assert await bank.sync_shipped(conn, items, now=NOW) == len(items)
        kept, edited, dropped, *_ = items
        rewritten = edited.model_copy(update={"prompt": edited.prompt + " (reworded)"})
        added = kept.model_copy(update={"id": "brand-new-question"})
        release = [i for i in items if i not in (edited, dropped)] + [rewritten, added]
        async with engine.begin() as conn:
            assert await bank.sync_shipped(conn, release, now=later) == 3
            rows = {
                r.id: r
                for r in await conn.execute(
                    select(questions).where(questions.c.workspace_id == SHIPPED)
                )
            }
        assert set(rows) == {i.id for i in release}
        for item in release:
            stored = rows[item.id]
            assert bank.from_json(stored.body) == item
            assert (stored.topic, stored.kind, stored.difficulty) == (
                item.topic,
                item.kind,
                item.difficulty,
            )
        assert rows[edited.id].added_at == NOW and rows[added.id].added_at == later
    finally:
        await engine.dispose()
