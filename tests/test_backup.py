"""`studybot backup PATH`: a consistent copy while the bot runs (SQLite's online backup API,
write-ahead log included), pg_dump for PostgreSQL; never overwriting, never half-written."""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from adapters.backup import libpq
from adapters.cli import main
from bot.store.schema import answers
from tests.conftest import Chat, make_chat


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def put_back(backup: Path, database: Path) -> None:
    """Restore as docs/deploy.md says: the bot stopped, its files replaced by the copy."""
    for leftover in database.parent.glob(f"{database.name}*"):
        leftover.unlink()
    shutil.copyfile(backup, database)


def contents(dump: Path) -> str:
    """pg_restore's table of contents of a custom-format dump."""
    listed = subprocess.run(
        ["pg_restore", "--list", str(dump)], capture_output=True, text=True, check=True
    )
    return listed.stdout


async def answered_drop(database_url: str) -> Chat:
    """A running bot whose last writes may still be in SQLite's write-ahead log."""
    chat = await make_chat(database_url)
    await chat.run("/drop now kind:choice", as_=chat.admin)
    drop = chat.last_post()
    await chat.choose(drop, 1, as_=chat.alice)
    await chat.choose(drop, 2, as_=chat.bob)
    return chat


async def test_sqlite_backup_while_the_bot_runs_holds_every_committed_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "live" / "studybot.db"
    source.parent.mkdir()
    chat = await answered_drop(f"sqlite+aiosqlite:///{source}")
    target = tmp_path / "backup.db"
    try:
        assert names(source.parent) == ["studybot.db", "studybot.db-shm", "studybot.db-wal"]
        assert main(["backup", str(target), "--db", str(source)]) == 0
        async with chat.app.ctx.engine.connect() as conn:
            live = (await conn.execute(select(answers.c.user_id))).scalars().all()
    finally:
        await chat.app.close()
    out = capsys.readouterr().out
    assert out.startswith(f"backed up {source} to {target} (")
    assert "2 answers" in out and "1 drops" in out and "schema revision " in out
    with contextlib.closing(sqlite3.connect(target)) as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert copy.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        users = [row[0] for row in copy.execute("SELECT user_id FROM answers ORDER BY user_id")]
        revision = copy.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    assert users == sorted(live) == ["alice", "bob"]
    assert revision in out
    assert names(tmp_path) == ["backup.db", "live"]  # one file, nothing left beside it


async def test_a_backup_restored_in_place_of_the_database_serves_the_bot(tmp_path: Path) -> None:
    """docs/deploy.md's restore: stop, put the copy in place (no -wal/-shm), start."""
    source = tmp_path / "studybot.db"
    chat = await answered_drop(f"sqlite+aiosqlite:///{source}")
    try:
        assert main(["backup", str(tmp_path / "copy.db"), "--db", str(source)]) == 0
    finally:
        await chat.app.close()
    put_back(tmp_path / "copy.db", source)
    restored = await make_chat(f"sqlite+aiosqlite:///{source}")
    try:
        board = await restored.run("/leaderboard all", as_=restored.alice)
        assert board.card is not None
        assert "**Alice**: " in board.card.body and "**Bob**: " in board.card.body
    finally:
        await restored.app.close()


def test_backup_never_overwrites_and_names_what_is_wrong(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    existing = tmp_path / "backup.db"
    existing.write_text("an earlier backup")
    database = tmp_path / "studybot.db"
    assert main(["backup", str(existing), "--db", str(database)]) == 1
    err = capsys.readouterr().err
    assert f"{existing} already exists; name a new file (a backup never overwrites)." in err
    assert existing.read_text() == "an earlier backup"

    assert main(["backup", str(tmp_path / "nowhere" / "b.db"), "--db", str(database)]) == 1
    assert f"the folder {tmp_path / 'nowhere'} does not exist" in capsys.readouterr().err

    assert main(["backup", str(tmp_path / "b.db"), "--db", str(database)]) == 1
    assert f"there is no database at {database}" in capsys.readouterr().err
    assert not (tmp_path / "b.db").exists()


def test_a_file_that_is_not_a_database_leaves_no_backup_behind(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "studybot.db"
    database.write_bytes(b"not a database at all, just bytes " * 200)
    target = tmp_path / "b.db"
    assert main(["backup", str(target), "--db", str(database)]) == 1
    assert f"could not copy {database}: " in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["studybot.db"]


def test_pg_dump_gets_a_libpq_url_and_the_password_outside_the_command_line() -> None:
    url = make_url("postgresql+asyncpg://studybot:s3cret@db:5432/studybot?ssl=require")
    where, env = libpq(url)
    assert where == "postgresql://studybot@db:5432/studybot?sslmode=require"
    assert env == {"PGPASSWORD": "s3cret"}


@pytest.mark.postgres
async def test_postgres_backup_with_pg_dump_is_a_custom_format_dump(
    postgres_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if shutil.which("pg_dump") is None:
        pytest.fail("pg_dump is not installed (Debian: postgresql-client)")
    chat = await answered_drop(postgres_url)
    monkeypatch.setenv("DATABASE_URL", postgres_url)
    target = tmp_path / "studybot.dump"
    try:
        assert main(["backup", str(target)]) == 0
    finally:
        await chat.app.close()
    assert "pg_dump custom format" in capsys.readouterr().out
    assert target.read_bytes().startswith(b"PGDMP")  # pg_dump's custom format
    assert "TABLE DATA public answers" in contents(target)
    assert names(tmp_path) == ["studybot.dump"]


def test_without_pg_dump_the_message_says_how_to_back_up(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no pg_dump to be found
    monkeypatch.setenv("DATABASE_URL", "postgresql://studybot:s3cret@db:5432/studybot")
    assert main(["backup", str(tmp_path / "b.dump")]) == 1
    err = capsys.readouterr().err
    assert "pg_dump is not installed here" in err and "apt-get install postgresql-client" in err
    assert "pg_dump --format=custom --file" in err and "s3cret" not in err
