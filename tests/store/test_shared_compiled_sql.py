"""The suite's engines share compiled SQL (tests/sqlcache.py): a statement compiled for one
test's engine is a cache hit on the next test's, and still runs against that test's own
database."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.store.db import create_engine
from bot.store.schema import workspaces
from tests.conftest import migrated_sqlite


@pytest.mark.parametrize(
    "database_url", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
async def test_a_second_engine_reuses_the_first_ones_compiled_sql(
    database_url: str, tmp_path: Path
) -> None:
    other = database_url if "asyncpg" in database_url else migrated_sqlite(tmp_path / "b.db")
    first, second = create_engine(database_url), create_engine(other)
    query = select(workspaces.c.workspace_id).where(workspaces.c.workspace_id == "w-shared")
    try:
        async with first.begin() as conn:
            await conn.execute(
                workspaces.insert().values(
                    platform="memory", workspace_id="w-shared", created_at=datetime.now(UTC)
                )
            )
        hits = []
        for engine in (first, second):
            async with engine.connect() as conn:
                result = await conn.execute(query)
                hits.append(result.context.cache_hit == engine.dialect.CACHE_HIT)
                found = result.scalars().all()
        assert hits[1], "the second engine compiled the statement again"
        assert found == (["w-shared"] if other == database_url else [])
    finally:
        await first.dispose()
        await second.dispose()
