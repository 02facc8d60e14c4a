"""``studybot backup PATH``: a consistent copy of the database while the bot keeps running.

SQLite: SQLite's online backup API copies the database, including what is still only in
its write-ahead log, into a new single file (no -wal or -shm beside it), checked with
``PRAGMA integrity_check`` before it takes its final name. PostgreSQL: ``pg_dump`` in its
custom format, when it is installed here; otherwise the message says how to run it.
A backup never overwrites a file, and a failed one leaves nothing at PATH.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import URL, make_url

BUSY_TIMEOUT_S = 30  # how long the copy waits for a writer holding SQLite's lock
COUNTED = ("workspaces", "members", "drops", "answers", "schedules")


class BackupError(Exception):
    """The backup was not made; the message says why and what to do."""


def backup(database_url: str, target: Path) -> str:
    """Back the database up into ``target`` (a new file); a line describing the copy."""
    if target.exists():
        raise BackupError(f"{target} already exists; name a new file (a backup never overwrites).")
    if not target.parent.is_dir():
        raise BackupError(f"the folder {target.parent} does not exist; create it first.")
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return backup_sqlite(Path(url.database or ""), target)
    return backup_postgres(url, target)


def _partial(target: Path) -> Path:
    return target.with_name(f".{target.name}.partial")


def backup_sqlite(source: Path, target: Path) -> str:
    if not source.is_file():
        raise BackupError(f"there is no database at {source}; check --db or DATABASE_URL.")
    partial = _partial(target)
    partial.unlink(missing_ok=True)
    try:
        with (
            contextlib.closing(sqlite3.connect(source, timeout=BUSY_TIMEOUT_S)) as src,
            contextlib.closing(sqlite3.connect(partial)) as dst,
        ):
            src.backup(dst)  # one step: a consistent snapshot; WAL lets writers go on
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            summary = _check(dst)
        os.replace(partial, target)
    except sqlite3.Error as exc:
        partial.unlink(missing_ok=True)
        raise BackupError(f"could not copy {source}: {exc}.") from exc
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    size = target.stat().st_size / 1_000_000
    return f"backed up {source} to {target} ({size:.1f} MB; {summary})"


def _check(conn: sqlite3.Connection) -> str:
    """Integrity-check the copy; what it holds, in a few words."""
    problems = [row[0] for row in conn.execute("PRAGMA integrity_check")]
    if problems != ["ok"]:
        raise sqlite3.DatabaseError(f"the copy failed its integrity check: {problems[:3]}")
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    counts = [
        f"{conn.execute(f'SELECT count(*) FROM {name}').fetchone()[0]} {name}"
        for name in COUNTED
        if name in tables
    ]
    revision = "none"
    if "alembic_version" in tables:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        revision = row[0] if row else "none"
    return ", ".join([*counts, f"schema revision {revision}"])


def libpq(url: URL) -> tuple[str, dict[str, str]]:
    """The URL pg_dump understands (no driver, libpq's sslmode), without the password,
    and the environment that carries the password instead (never on a command line)."""
    query = {k: v for k, v in url.query.items() if isinstance(v, str)}
    if "ssl" in query:
        query["sslmode"] = query.pop("ssl")
    plain = url.set(drivername="postgresql", query=query)._replace(password=None)
    env = {"PGPASSWORD": url.password} if url.password else {}
    return plain.render_as_string(hide_password=False), env


def backup_postgres(url: URL, target: Path) -> str:
    pg_dump = shutil.which("pg_dump")
    where, env = libpq(url)
    shown = url.render_as_string(hide_password=True)
    if pg_dump is None:
        raise BackupError(
            "pg_dump is not installed here. Install PostgreSQL's client tools (Debian: "
            "apt-get install postgresql-client, the same major version as the server or newer), "
            f"or run on a machine that has them: pg_dump --format=custom --file {target} "
            f"'{shown.replace('+asyncpg', '')}'"
        )
    partial = _partial(target)
    command = [pg_dump, "--format=custom", "--no-owner", f"--file={partial}", f"--dbname={where}"]
    done = subprocess.run(  # a fixed program and arguments, no shell
        command, env=os.environ | env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        partial.unlink(missing_ok=True)
        reason = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "no message"
        raise BackupError(f"pg_dump could not back up {shown}: {reason}")
    os.replace(partial, target)
    size = target.stat().st_size / 1_000_000
    return (
        f"backed up {shown} to {target} ({size:.1f} MB, pg_dump custom format; restore with "
        "pg_restore --clean --no-owner --dbname …)"
    )
