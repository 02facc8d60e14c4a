"""The schema comes only from migrations, applied at start-up."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text

from bot.store.db import alembic_config, create_engine, head_revision, migrate
from bot.store.schema import metadata


def _diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection)
    return list(compare_metadata(context, metadata))


async def test_migrating_an_empty_database_builds_the_whole_schema(empty_database_url: str) -> None:
    """From empty, the migrations create exactly the tables the code declares."""
    engine = create_engine(empty_database_url)
    try:
        await migrate(engine)
        async with engine.connect() as conn:
            tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
            diff = await conn.run_sync(_diff)
        assert {
            "workspaces",
            "members",
            "questions",
            "drops",
            "answers",
            "reactions",
            "scores",
            "alembic_version",
        } <= tables
        assert diff == [], f"migrations and bot/store/schema.py disagree: {diff}"
    finally:
        await engine.dispose()


async def test_migrating_twice_is_harmless(empty_database_url: str) -> None:
    """Start-up migrates every time; a database already at head is left alone."""
    engine = create_engine(empty_database_url)
    try:
        await migrate(engine)
        await migrate(engine)
        async with engine.connect() as conn:
            version = await conn.scalar(text("SELECT version_num FROM alembic_version"))
        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        assert version == head
    finally:
        await engine.dispose()


async def test_every_table_is_keyed_by_workspace() -> None:
    """Each table carries platform and workspace_id, so data never crosses communities."""
    for table in metadata.tables.values():
        assert {"platform", "workspace_id"} <= set(table.c.keys()), table.name


async def test_sqlite_files_use_wal(tmp_path: object) -> None:
    """SQLite databases run in WAL mode with foreign keys on."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/x/studybot.db")
    try:
        async with engine.connect() as conn:
            assert await conn.scalar(text("PRAGMA journal_mode")) == "wal"
            assert await conn.scalar(text("PRAGMA foreign_keys")) == 1
    finally:
        await engine.dispose()


def test_the_head_revision_is_the_newest_files_number() -> None:
    """Start-up skips alembic when the store is at ``head_revision()``, read from the file
    names; each migration's revision id is its file's number prefix, so the two agree."""
    scripts = ScriptDirectory.from_config(alembic_config())
    assert head_revision() == scripts.get_current_head()
    for script in scripts.walk_revisions():
        assert Path(script.path).name.startswith(f"{script.revision}_")
