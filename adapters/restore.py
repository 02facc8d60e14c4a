"""``studybot restore PATH``: put a SQLite backup in place of the database, safely.

The backup is checked before anything is touched: it must be a studybot database (it has
the schema's revision in ``alembic_version`` and studybot's tables) whose revision this
studybot knows, i.e. not newer than its newest migration. It is copied beside the database,
migrated up when it is older, and integrity-checked; only then does it take the database's
place. The database it replaces is first copied (SQLite's backup API, write-ahead log
included) to ``<name>.before-restore-<timestamp>``, so a restore never loses anything.

A running bot keeps the database open; while it does, SQLite refuses the exclusive lock this
module asks for, and the restore stops with a message saying to stop the bot. PostgreSQL is
restored with ``pg_restore``: the message gives the exact command instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError

from adapters.backup import COUNTED, libpq
from bot.store.db import MIGRATIONS, create_engine, head_revision, migrate

# Tables every studybot database has had since its first migration.
STUDYBOT_TABLES = ("alembic_version", "workspaces", "members", "drops", "answers", "scores")


class RestoreError(Exception):
    """Nothing was restored; the message says why and what to do."""


def restore(database_url: str, backup: Path) -> str:
    """Restore ``backup`` into the database at ``database_url``; a line saying what happened."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        raise RestoreError(postgres_advice(url, backup))
    return restore_sqlite(backup, Path(url.database or ""))


def postgres_advice(url: URL, backup: Path) -> str:
    """What to run instead: pg_restore, with the password kept off the command line."""
    where, env = libpq(url)
    password = "PGPASSWORD=… " if env else ""
    advice = (
        "studybot does not restore PostgreSQL itself; pg_restore does. Stop every bot that "
        "uses this database, then run:\n"
        f"  {password}pg_restore --clean --if-exists --no-owner --dbname='{where}' {backup}\n"
        "and start one bot: it applies any newer migrations before it connects."
    )
    if _is_sqlite(backup):
        advice = (
            f"{backup} is a SQLite backup, and this database is PostgreSQL. To move a "
            "community's data into it, use studybot export-workspace on the SQLite file "
            "(--db) and studybot import-workspace here."
        )
    return advice


def _is_sqlite(path: Path) -> bool:
    with contextlib.suppress(OSError), path.open("rb") as file:
        return file.read(16) == b"SQLite format 3\x00"
    return False


def _check_paths(backup: Path, database: Path) -> None:
    if not backup.is_file():
        raise RestoreError(f"there is no file at {backup}; give the path of a backup.")
    if database.exists() and backup.resolve() == database.resolve():
        raise RestoreError(f"{backup} is the database itself; give the path of a backup.")
    if not database.parent.is_dir():
        raise RestoreError(f"the folder {database.parent} does not exist; create it first.")
    wal = Path(f"{backup}-wal")
    if wal.exists() and wal.stat().st_size:
        raise RestoreError(
            f"{wal} lies beside the backup, so part of it is only in that log. Make the backup "
            "with studybot backup (one self-contained file), or open it once with the sqlite3 "
            "shell to fold the log in."
        )


def restore_sqlite(backup: Path, database: Path) -> str:
    _check_paths(backup, database)
    incoming = database.with_name(f".{database.name}.restoring")
    _remove(incoming)
    try:
        shutil.copyfile(backup, incoming)
        revision = _inspect(incoming, backup)
        if revision != head_revision():
            asyncio.run(_migrate(incoming))
        summary = _finish(incoming)
        kept = _swap(incoming, database)
    except (OSError, sqlite3.Error, SQLAlchemyError) as exc:
        reason = getattr(exc, "orig", None) or exc
        raise RestoreError(
            f"could not restore {backup} ({reason}); {database} is unchanged."
        ) from exc
    finally:
        _remove(incoming)
    upgraded = "" if revision == head_revision() else f", migrated up from {revision}"
    before = f"; the database it replaced is kept as {kept}" if kept else ""
    return f"restored {backup} into {database} ({summary}{upgraded}){before}. Start the bot."


def _remove(path: Path) -> None:
    for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
        leftover.unlink(missing_ok=True)


@contextlib.contextmanager
def _open(path: Path, *, timeout: float = 5.0) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(path, timeout=timeout, isolation_level=None)
    try:
        yield conn
    finally:
        conn.close()


def _inspect(copy: Path, backup: Path) -> str:
    """The backup's schema revision, once it is known to be a sound studybot database."""
    try:
        with _open(copy) as conn:
            _integrity(conn, f"{backup} is damaged")
            tables = {
                r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
            missing = [t for t in STUDYBOT_TABLES if t not in tables]
            if missing:
                raise RestoreError(
                    f"{backup} is a SQLite database but not studybot's (it has no "
                    f"{', '.join(missing)} table); check the path."
                )
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError as exc:
        raise RestoreError(f"{backup} is not a SQLite database ({exc}); check the path.") from exc
    return _known_revision(row[0] if row else None, backup)


def _known_revision(revision: str | None, backup: Path) -> str:
    head = head_revision()
    known = {p.name[:4] for p in (MIGRATIONS / "versions").glob("[0-9][0-9][0-9][0-9]_*.py")}
    if revision is None:
        raise RestoreError(f"{backup} records no schema revision; it is not a studybot backup.")
    if revision > head:
        raise RestoreError(
            f"{backup} is at schema revision {revision}, newer than this studybot knows "
            f"(its newest is {head}): it was made by a newer version. Upgrade studybot first, "
            "then restore."
        )
    if revision not in known:
        raise RestoreError(
            f"{backup} is at schema revision {revision}, which no migration of this studybot "
            "has; it is not a backup of this project's database."
        )
    return revision


async def _migrate(path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        await migrate(engine)
    finally:
        await engine.dispose()


def _integrity(conn: sqlite3.Connection, what: str) -> None:
    problems = [row[0] for row in conn.execute("PRAGMA integrity_check")]
    if problems != ["ok"]:
        raise RestoreError(f"{what}: SQLite's integrity check says {'; '.join(problems[:3])}.")


def _finish(path: Path) -> str:
    """One self-contained file, integrity-checked; what it holds, in a few words."""
    with _open(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode=DELETE")
        _integrity(conn, "the restored copy failed its check after migrating")
        counts = [
            f"{conn.execute(f'SELECT count(*) FROM {name}').fetchone()[0]} {name}"
            for name in COUNTED
        ]
        revision = conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    return ", ".join([*counts, f"schema revision {revision}"])


def _kept_name(database: Path) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    kept = database.with_name(f"{database.name}.before-restore-{stamp}")
    n = 2
    while kept.exists():
        kept = database.with_name(f"{database.name}.before-restore-{stamp}-{n}")
        n += 1
    return kept


def _swap(incoming: Path, database: Path) -> Path | None:
    """Keep the current database (if any) aside, then put the restored copy in its place."""
    if not database.exists():
        os.replace(incoming, database)
        return None
    kept = _kept_name(database)
    try:
        with _open(database, timeout=0) as current:
            _take_exclusive(current, database)
            with _open(kept) as copy:
                current.backup(copy)  # the current file and its write-ahead log, consistently
                copy.execute("PRAGMA journal_mode=DELETE")
                _integrity(copy, "the copy of the current database failed its check")
        # The lock was held up to here; closing folded the log into the file and removed it.
        _remove_beside(database)
        os.replace(incoming, database)
    except BaseException:
        _remove(kept)
        raise
    return kept


def _take_exclusive(conn: sqlite3.Connection, database: Path) -> None:
    """Hold SQLite's exclusive lock on the database until ``conn`` closes; a bot that has it
    open (even idle: in WAL mode every open connection keeps a shared lock) prevents it."""
    try:
        conn.execute("PRAGMA locking_mode=EXCLUSIVE")
        conn.execute("BEGIN EXCLUSIVE")
        conn.execute("COMMIT")
    except sqlite3.OperationalError as exc:
        raise RestoreError(
            f"{database} is in use ({exc}): a bot, or another studybot command, has it open. "
            "Stop the bot first (systemctl stop studybot, docker compose stop bot, or Ctrl-C "
            "in its terminal), then restore again; nothing was changed."
        ) from exc


def _remove_beside(database: Path) -> None:
    for suffix in ("-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
