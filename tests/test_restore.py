"""`studybot restore PATH` (issue 16, item 6): a SQLite backup put in place of the database
only when it is a sound studybot database this version knows, migrated up when older, the
replaced database kept beside it, and never while a bot has the database open; PostgreSQL
gets the exact pg_restore command instead."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from adapters.cli import main
from bot.store.db import create_engine, head_revision, migrate
from bot.store.schema import answers
from tests.conftest import Chat, make_chat


async def cli(*argv: str) -> int:
    """``studybot …`` as typed (a restore may migrate in its own event loop: off this one)."""
    return await asyncio.to_thread(main, list(argv))


def names(folder: Path) -> list[str]:
    return sorted(os.listdir(folder))


def users(database: Path) -> list[str]:
    with contextlib.closing(sqlite3.connect(database)) as db:
        return [r[0] for r in db.execute("SELECT user_id FROM answers ORDER BY user_id")]


async def answered(url: str) -> Chat:
    """A running bot: one drop answered by Alice and Bob."""
    chat = await make_chat(url)
    await chat.run("/drop now kind:choice", as_=chat.admin)
    drop = chat.last_post()
    await chat.choose(drop, 1, as_=chat.alice)
    await chat.choose(drop, 2, as_=chat.bob)
    return chat


async def test_restore_puts_the_backup_in_place_and_keeps_what_it_replaces(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    database, backup = data / "studybot.db", tmp_path / "backup.db"
    chat = await answered(f"sqlite+aiosqlite:///{database}")
    try:
        assert await cli("backup", str(backup), "--db", str(database)) == 0
        await chat.run("/drop now kind:choice", as_=chat.admin)
        await chat.choose(chat.last_post(), 1, as_=chat.carol)  # after the backup
    finally:
        await chat.app.close()
    capsys.readouterr()

    assert await cli("restore", str(backup), "--db", str(database)) == 0
    out = capsys.readouterr().out
    (kept,) = [n for n in names(data) if n.startswith("studybot.db.before-restore-")]
    assert names(data) == ["studybot.db", kept]  # no -wal, -shm or half-made file left
    assert out.startswith(f"restored {backup} into {database} (")
    assert f"2 answers, 0 schedules, schema revision {head_revision()})" in out
    assert out.endswith(f"the database it replaced is kept as {data / kept}. Start the bot.\n")
    assert users(database) == ["alice", "bob"]
    assert users(data / kept) == ["alice", "bob", "carol"]  # nothing is lost
    with contextlib.closing(sqlite3.connect(data / kept)) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)

    restored = await make_chat(f"sqlite+aiosqlite:///{database}")
    try:
        board = await restored.run("/leaderboard all", as_=restored.alice)
        assert board.card is not None
        assert "**Alice**" in board.card.body and "Carol" not in board.card.body
    finally:
        await restored.app.close()


async def test_restore_refuses_while_a_bot_has_the_database_open(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database, backup = tmp_path / "studybot.db", tmp_path / "backup.db"
    chat = await answered(f"sqlite+aiosqlite:///{database}")
    try:
        assert await cli("backup", str(backup), "--db", str(database)) == 0
        await chat.run("/drop now kind:choice", as_=chat.admin)
        await chat.choose(chat.last_post(), 1, as_=chat.carol)
        listed = names(tmp_path)
        capsys.readouterr()
        assert await cli("restore", str(backup), "--db", str(database)) == 1  # the bot is idle
        err = capsys.readouterr().err
        assert f"{database} is in use" in err and "Stop the bot first" in err
        assert "nothing was changed" in err
        assert names(tmp_path) == listed
        async with chat.app.ctx.engine.connect() as conn:
            assert await conn.scalar(select(func.count()).select_from(answers)) == 3
    finally:
        await chat.app.close()
    assert await cli("restore", str(backup), "--db", str(database)) == 0  # once it stopped
    assert users(database) == ["alice", "bob"]


async def test_an_older_backup_is_restored_and_migrated_up(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A backup from before migration 0011 gets that migration's data changes too (its
    rounds count as delivered)."""
    old, database = tmp_path / "old.db", tmp_path / "studybot.db"
    engine = create_engine(f"sqlite+aiosqlite:///{old}")
    try:
        await migrate(engine, "0010")
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO mock_rounds (platform, workspace_id, started_at, waiting) "
                    "VALUES ('memory', 'w1', '2026-01-05 09:00:00', 0)"
                )
            )
    finally:
        await engine.dispose()
    assert await cli("restore", str(old), "--db", str(database)) == 0
    out = capsys.readouterr().out
    assert f"schema revision {head_revision()}, migrated up from 0010)" in out
    assert "before-restore" not in out  # there was no database to keep
    with contextlib.closing(sqlite3.connect(database)) as db:
        assert (
            db.execute("SELECT version_num FROM alembic_version").fetchone()[0] == head_revision()
        )
        assert db.execute("SELECT done_at FROM mock_rounds").fetchone()[0] == "2026-01-05 09:00:00"
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert names(tmp_path) == ["old.db", "studybot.db"]
    with contextlib.closing(sqlite3.connect(old)) as db:  # the backup itself is untouched
        assert db.execute("SELECT version_num FROM alembic_version").fetchone()[0] == "0010"


async def _current(database: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{database}")
    try:
        await migrate(engine)
    finally:
        await engine.dispose()


def _untrusted(folder: Path, database: Path) -> dict[Path, str]:
    """Backups restore must refuse, and what it says about each."""
    newer = folder / "newer.db"
    shutil.copyfile(database, newer)
    with contextlib.closing(sqlite3.connect(newer)) as db, db:
        db.execute("UPDATE alembic_version SET version_num = '9999'")
    other = folder / "other.db"
    with contextlib.closing(sqlite3.connect(other)) as db, db:
        db.execute("CREATE TABLE notes (body TEXT)")
    junk = folder / "junk.db"
    junk.write_bytes(b"not a database, only bytes " * 300)
    logged = folder / "logged.db"
    shutil.copyfile(database, logged)
    (folder / "logged.db-wal").write_bytes(b"frames")
    return {
        newer: f"is at schema revision 9999, newer than this studybot knows (its newest is "
        f"{head_revision()})",
        other: "is a SQLite database but not studybot's (it has no alembic_version, "
        "workspaces, members, drops, answers, scores table)",
        junk: "is not a SQLite database",
        logged: "lies beside the backup, so part of it is only in that log",
        folder / "missing.db": "there is no file at",
        database: "is the database itself",
    }


async def test_a_backup_it_cannot_trust_is_refused_and_nothing_changes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "studybot.db"
    await _current(database)
    cases = _untrusted(tmp_path, database)
    listed = names(tmp_path)
    before = database.read_bytes()
    for backup, says in cases.items():
        assert await cli("restore", str(backup), "--db", str(database)) == 1
        assert says in capsys.readouterr().err, backup
    assert names(tmp_path) == listed
    assert database.read_bytes() == before


def test_postgres_gets_the_pg_restore_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://studybot:s3cret@db:5432/studybot")
    dump = tmp_path / "studybot.dump"
    dump.write_bytes(b"PGDMP")
    assert main(["restore", str(dump)]) == 1
    err = capsys.readouterr().err
    assert "studybot does not restore PostgreSQL itself" in err and "s3cret" not in err
    assert (
        "  PGPASSWORD=… pg_restore --clean --if-exists --no-owner "
        f"--dbname='postgresql://studybot@db:5432/studybot' {dump}\n" in err
    )
    sqlite_backup = tmp_path / "backup.db"
    with contextlib.closing(sqlite3.connect(sqlite_backup)) as db, db:
        db.execute("CREATE TABLE t (x)")
    assert main(["restore", str(sqlite_backup)]) == 1
    assert "is a SQLite backup, and this database is PostgreSQL" in capsys.readouterr().err


@pytest.mark.postgres
async def test_the_printed_pg_restore_command_restores_a_pg_dump_backup(
    tmp_path: Path,
    postgres_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if shutil.which("pg_restore") is None:
        pytest.fail("pg_restore is not installed (Debian: postgresql-client)")
    monkeypatch.setenv("DATABASE_URL", postgres_url)
    chat = await answered(postgres_url)
    dump = tmp_path / "studybot.dump"
    try:
        assert await cli("backup", str(dump)) == 0
        await chat.run("/drop now kind:choice", as_=chat.admin)
        await chat.choose(chat.last_post(), 1, as_=chat.carol)  # after the backup
    finally:
        await chat.app.close()
    capsys.readouterr()
    assert await cli("restore", str(dump)) == 1
    (line,) = [x for x in capsys.readouterr().err.splitlines() if "pg_restore --" in x]
    command = shlex.split(line.strip())
    # The test database has no password, so the command runs as printed.
    await asyncio.to_thread(subprocess.run, command, check=True, capture_output=True)
    engine = create_engine(postgres_url)
    try:
        async with engine.connect() as conn:
            found = (await conn.execute(select(answers.c.user_id))).scalars().all()
    finally:
        await engine.dispose()
    assert sorted(found) == ["alice", "bob"]
