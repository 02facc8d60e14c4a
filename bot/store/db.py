"""Engine creation and start-up migrations."""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")


def create_engine(url: str) -> AsyncEngine:
    """An async engine; SQLite files get WAL, foreign keys and a busy timeout."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_async_engine(url, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    from bot.store import onetrip

    engine = create_async_engine(
        url, connect_args={"timeout": BUSY_TIMEOUT_S}, module=onetrip.dbapi()
    )
    _control_transactions(engine)
    return _GatedEngine(engine.sync_engine)


_GATES: weakref.WeakKeyDictionary[Any, asyncio.Lock] = weakref.WeakKeyDictionary()


class _GatedEngine(AsyncEngine):
    """A SQLite engine whose write transactions (``begin()``) take turns inside the process
    before asking SQLite for its lock. SQLite has one writer at a time anyway; queueing here
    (in order, on the event loop) replaces its busy handler's sleep-and-retry polling, which
    left a burst of presses waiting up to a second for a lock that was free most of the time.
    Other processes are still kept out by SQLite's own lock and busy timeout."""

    @property
    def _gate(self) -> asyncio.Lock:
        pool = self.sync_engine.pool  # shared by execution_options() copies
        gate = _GATES.get(pool)
        if gate is None:
            gate = _GATES[pool] = asyncio.Lock()
        return gate

    def execution_options(self, **opt: Any) -> AsyncEngine:
        return _GatedEngine(self.sync_engine.execution_options(**opt))

    @contextlib.asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        # Writers in this process queue here however long it takes (in order, never
        # failing); LOCK_WAIT still bounds the wait for another process's lock in SQLite.
        async with self._gate, super().begin() as conn:
            yield conn


BUSY_TIMEOUT_S = 30  # how long a writer waits for another to commit before giving up
# Execution option: seconds a write that may be skipped waits for SQLite's lock, e.g.
# ``engine.execution_options(sqlite_lock_wait=0.2).begin()`` (ignored on PostgreSQL).
LOCK_WAIT = "sqlite_lock_wait"


def _control_transactions(engine: AsyncEngine) -> None:
    """SQLite transactions that begin where the code says, taking the write lock up front.

    Left to itself, Python's sqlite3 starts a transaction only at the first INSERT/UPDATE, so a
    SELECT before it (is the drop still open?) reads outside the transaction and a reveal can
    commit in between. Here the driver's own handling is off and every transaction begins
    explicitly: ``engine.begin()`` (a write) with ``BEGIN IMMEDIATE``, which waits for any other
    writer and then holds the lock, so an answer and a reveal are strictly ordered; a read on
    ``engine.connect()`` with a plain ``BEGIN``: a consistent snapshot that never waits (WAL).
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we send BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "before_execute")
    def _note_autobegin(conn: Connection, *_args: Any, **_kwargs: Any) -> None:
        if not conn.in_transaction():  # engine.connect(): the statement will autobegin
            conn.info["read_snapshot"] = True

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(conn: Connection) -> None:
        if conn.info.pop("read_snapshot", False):
            conn.exec_driver_sql("BEGIN")
            return
        wait = conn.get_execution_options().get(LOCK_WAIT)
        if wait is None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            return
        # Bookkeeping that may be skipped: wait briefly for the lock, then give up.
        conn.exec_driver_sql(f"PRAGMA busy_timeout={int(wait * 1000)}")
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        finally:
            conn.exec_driver_sql(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")


def alembic_config(url: str | None = None) -> Config:
    from alembic.config import Config  # only when there is migrating to do: it is slow to import

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url:
        config.set_main_option("sqlalchemy.url", url)
    return config


def head_revision() -> str:
    """The newest migration's revision id: by convention, its file name's number prefix."""
    return max(p.name[:4] for p in (MIGRATIONS / "versions").glob("[0-9][0-9][0-9][0-9]_*.py"))


def _current(connection: Connection) -> str | None:
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _upgrade(connection: Connection, revision: str) -> None:
    if revision == "head" and _current(connection) == head_revision():
        return  # already there (most start-ups): alembic is not even imported
    from alembic import command

    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


async def migrate(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the schema to ``revision``; several instances starting at once take turns."""
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.exec_driver_sql("SELECT pg_advisory_xact_lock(727274)")
        await conn.run_sync(_upgrade, revision)
